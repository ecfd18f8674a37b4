package brevo

import (
	"context"
	"fmt"
	"strings"

	"github.com/tajo/tajo/pipeline"
)

// contactWork is everything one Write asks of one contact, coalesced in
// batch order: later attributes, identifiers and consent win, a deletion
// discards what came before it, list changes keep their last word.
type contactWork struct {
	id         identity
	attrs      map[string]any
	emailState ConsentState
	smsState   ConsentState
	del        bool // delete first
	upsert     bool // then upsert
	lists      map[listName]bool
	recs       []int
	failed     bool
}

// coalesce groups the contact parts of the plans by contact. An ext_id seen
// with an email earlier in the batch joins a later record that carries only
// the ext_id to the same contact.
func (s *Sink) coalesce(plans []*plan) []*contactWork {
	byKey := map[string]*contactWork{}
	extKey := map[string]string{}
	var order []*contactWork
	for i, p := range plans {
		if p == nil || (p.rule.contact == none && len(p.lists) == 0) {
			continue
		}
		// The Shopify customer id groups first: a later record with a new
		// email is the same contact, and must not race the earlier one.
		key := p.id.key()
		if k, ok := extKey[p.id.extID]; ok && p.id.extID != "" {
			key = k
		}
		if key == "" {
			continue
		}
		if p.id.extID != "" {
			extKey[p.id.extID] = key
		}
		w := byKey[key]
		if w == nil {
			w = &contactWork{attrs: map[string]any{}, lists: map[listName]bool{}}
			byKey[key] = w
			order = append(order, w)
		}
		w.recs = append(w.recs, i)
		w.id.email = first(p.id.email, w.id.email)
		w.id.extID = first(p.id.extID, w.id.extID)
		w.id.phone = first(p.id.phone, w.id.phone)
		switch p.rule.contact {
		case remove:
			w.del, w.upsert = true, false
			w.attrs, w.lists = map[string]any{}, map[listName]bool{}
			w.emailState, w.smsState = ConsentUnknown, ConsentUnknown
			continue
		case upsert:
			w.upsert = true
		}
		for k, v := range p.attrs {
			w.attrs[strings.ToUpper(k)] = v
		}
		w.emailState = foldConsent(w.emailState, p.emailState, s.cfg.Consent.Resubscribe)
		w.smsState = foldConsent(w.smsState, p.smsState, s.cfg.Consent.Resubscribe)
		for _, lc := range p.lists {
			w.lists[lc.list] = lc.add
		}
	}
	return order
}

// foldConsent merges the consent states of successive records into the
// one whose decision equals applying them in order: an unsubscribe stays
// unless an explicit resubscribe follows, and states that decide nothing
// (pending, not subscribed) change nothing.
func foldConsent(cur, next ConsentState, resubscribe bool) ConsentState {
	switch next {
	case ConsentUnsubscribed:
		return next
	case ConsentSubscribed:
		if resubscribe || cur != ConsentUnsubscribed {
			return next
		}
	}
	return cur
}

// writeContacts deletes, then upserts: through one import when enough
// contacts qualify, else one POST /contacts each.
func (s *Sink) writeContacts(ctx context.Context, work []*contactWork, out *outcomes) {
	var dels []*contactWork
	for _, w := range work {
		if w.del {
			dels = append(dels, w)
		}
	}
	parallel(len(dels), 64, func(i int) {
		w := dels[i]
		if err := s.deleteContact(ctx, w); err != nil {
			w.failed = true
			out.setAll(w.recs, err)
		}
	})

	var singles, imports []*contactWork
	for _, w := range work {
		if !w.upsert || w.failed {
			continue
		}
		if s.importable(w) {
			imports = append(imports, w)
		} else {
			singles = append(singles, w)
		}
	}
	if s.cfg.ImportThreshold == 0 || len(imports) < s.cfg.ImportThreshold || s.cfg.Lists.AllCustomers <= 0 {
		singles, imports = append(singles, imports...), nil
	}
	parallel(len(singles), 64, func(i int) {
		w := singles[i]
		if err := s.upsertOne(ctx, w); err != nil {
			w.failed = true
			out.setAll(w.recs, err)
		}
	})
	if len(imports) > 0 {
		s.importContacts(ctx, imports, out)
	}
}

func (s *Sink) deleteContact(ctx context.Context, w *contactWork) error {
	var err error
	switch {
	case w.id.extID != "":
		err = s.client.DeleteContact(ctx, w.id.extID, ByExtID)
		if err == nil && w.id.email != "" {
			err = s.client.DeleteContact(ctx, w.id.email, ByEmail)
		}
	case w.id.email != "":
		err = s.client.DeleteContact(ctx, w.id.email, ByEmail)
	default:
		err = s.client.DeleteContact(ctx, w.id.phone, ByPhone)
	}
	if err == nil {
		s.mu.Lock()
		delete(s.known, w.id.extID)
		s.mu.Unlock()
	}
	return err
}

func (s *Sink) consentInput(w *contactWork) ConsentInput {
	in := ConsentInput{Email: w.emailState, SMS: w.smsState, Resubscribe: s.cfg.Consent.Resubscribe}
	// Upserting by email can only change an email found through ext_id.
	if w.id.extID != "" {
		in.NewEmail = w.id.email
		s.mu.Lock()
		if st, ok := s.known[w.id.extID]; ok {
			in.Existing = &st
		}
		s.mu.Unlock()
	}
	if sms, ok := w.attrs["SMS"].(string); ok {
		in.NewPhone = sms
	}
	return in
}

// importable reports whether a contact can go through an import, which
// sets no blocklist flag of its own and identifies by email: a contact
// with a consent decision to send, no email, or an email change tajo knows
// of goes through a single upsert that applies the consent policy. A
// contact tajo has never written is imported as new: looking each one up
// would cost a request per contact, which a bulk load cannot afford.
func (s *Sink) importable(w *contactWork) bool {
	if w.id.email == "" {
		return false
	}
	in := s.consentInput(w)
	if in.Existing == nil {
		in.NewContact = true
	}
	d := DecideConsent(in)
	return d.EmailBlacklisted == nil && d.SMSBlacklisted == nil && !d.NeedsLookup &&
		(in.Existing == nil || strings.EqualFold(in.Existing.Email, w.id.email))
}

// upsertOne writes one contact under the consent policy (consent.go).
func (s *Sink) upsertOne(ctx context.Context, w *contactWork) error {
	in := s.consentInput(w)
	d := DecideConsent(in)
	if d.NeedsLookup {
		id, typ := w.id.extID, ByExtID
		if id == "" {
			id, typ = first(w.id.email, w.id.phone), ByEmail
			if w.id.email == "" {
				typ = ByPhone
			}
		}
		det, err := s.client.GetContact(ctx, id, typ)
		switch {
		case IsNotFound(err):
			in.NewContact = true
		case err != nil:
			return err
		default:
			sms, _ := det.Attributes["SMS"].(string)
			in.Existing = &BrevoContactState{Email: det.Email, Phone: sms, EmailBlacklisted: det.EmailBlacklisted, SMSBlacklisted: det.SMSBlacklisted}
		}
		d = DecideConsent(in)
	}
	attrs := make(map[string]any, len(w.attrs))
	for k, v := range w.attrs {
		attrs[k] = v
	}
	if in.NewPhone != "" && !d.ChangePhone && !in.NewContact && in.Existing != nil && in.NewPhone != in.Existing.Phone {
		delete(attrs, "SMS")
	}
	lists := s.listIDs(w)
	var err error
	emailDiffers := in.Existing != nil && w.id.email != "" && !strings.EqualFold(in.Existing.Email, w.id.email)
	switch {
	case w.id.email == "" && w.id.phone == "":
		// Only the Shopify id (a purchasing summary, a tags change): the
		// contact can be updated but not created.
		err = s.client.UpdateContact(ctx, w.id.extID, ByExtID, ContactUpdate{Attributes: attrs,
			EmailBlacklisted: d.EmailBlacklisted, SMSBlacklisted: d.SMSBlacklisted, ListIDs: lists})
		if IsNotFound(err) {
			return pipeline.Reject("document_not_found", fmt.Errorf(
				"no Brevo contact has ext_id %s yet, and this event carries no email or phone to create it", w.id.extID))
		}
	case emailDiffers && w.id.extID != "":
		// The email change goes through PUT by ext_id, so that withholding
		// it (a blocklisted contact) and ordering it before a blocklisting
		// are both explicit.
		u := ContactUpdate{Attributes: attrs, EmailBlacklisted: d.EmailBlacklisted, SMSBlacklisted: d.SMSBlacklisted, ListIDs: lists}
		if d.ChangeEmail {
			u.Attributes["EMAIL"] = w.id.email
		}
		if d.BlocklistAfterChange {
			u.EmailBlacklisted = nil
		}
		err = s.client.UpdateContact(ctx, w.id.extID, ByExtID, u)
		if err == nil && d.BlocklistAfterChange {
			err = s.client.UpdateContact(ctx, w.id.extID, ByExtID, ContactUpdate{EmailBlacklisted: Bool(true)})
		}
		if err == nil && !d.ChangeEmail {
			w.id.email = in.Existing.Email // list calls go to the address Brevo has
		}
	default:
		_, err = s.client.UpsertContact(ctx, Contact{Email: w.id.email, ExtID: w.id.extID, Attributes: attrs,
			EmailBlacklisted: d.EmailBlacklisted, SMSBlacklisted: d.SMSBlacklisted, ListIDs: lists})
	}
	if err != nil {
		return err
	}
	s.learn(w, in.Existing, d)
	return nil
}

// listIDs are the lists a single upsert adds the contact to: all_customers,
// and for a contact without email (who cannot be added by email later) the
// lists its records added it to.
func (s *Sink) listIDs(w *contactWork) []int64 {
	var ids []int64
	if s.cfg.Lists.AllCustomers > 0 {
		ids = append(ids, s.cfg.Lists.AllCustomers)
	}
	if w.id.email == "" {
		for l, add := range w.lists {
			if id := s.listID(l); add && id > 0 {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func (s *Sink) listID(l listName) int64 {
	switch l {
	case buyers:
		return s.cfg.Lists.Buyers
	case abandoned:
		return s.cfg.Lists.AbandonedCart
	}
	return 0
}

// learn remembers what Brevo now holds for the contact, so later writes
// need no lookup.
func (s *Sink) learn(w *contactWork, prev *BrevoContactState, d ConsentDecision) {
	if w.id.extID == "" {
		return
	}
	var st BrevoContactState
	if prev != nil {
		st = *prev
	}
	if w.id.email != "" {
		st.Email = w.id.email
	}
	if sms, ok := w.attrs["SMS"].(string); ok && (d.ChangePhone || prev == nil) {
		st.Phone = sms
	}
	if d.EmailBlacklisted != nil {
		st.EmailBlacklisted = *d.EmailBlacklisted
	}
	if d.SMSBlacklisted != nil {
		st.SMSBlacklisted = *d.SMSBlacklisted
	}
	s.mu.Lock()
	if len(s.known) >= maxKnownContacts {
		s.known = map[string]BrevoContactState{} // forgetting costs a lookup, never correctness
	}
	s.known[w.id.extID] = st
	s.mu.Unlock()
}

// importContacts runs one import per batch.import.max_records contacts and
// maps Brevo's per-contact reports back to the records.
func (s *Sink) importContacts(ctx context.Context, work []*contactWork, out *outcomes) {
	size := s.cfg.Batch.Import.MaxRecords
	var chunks [][]*contactWork
	for lo := 0; lo < len(work); lo += size {
		chunks = append(chunks, work[lo:min(lo+size, len(work))])
	}
	parallel(len(chunks), 4, func(c int) {
		chunk := chunks[c]
		req := ImportRequest{ListIDs: []int64{s.cfg.Lists.AllCustomers}, UpdateExistingContacts: Bool(true), DisableNotification: true}
		for _, w := range chunk {
			req.Contacts = append(req.Contacts, ImportContact{Email: w.id.email, ExtID: w.id.extID, Attributes: w.attrs})
		}
		res, err := s.client.Import(ctx, req)
		if err != nil {
			for _, w := range chunk {
				w.failed = true
				out.setAll(w.recs, err)
			}
			return
		}
		for _, e := range res.ReportErrs {
			s.log.WithError(e).Warn("brevo sink: an import report could not be read; its contacts count as delivered")
		}
		var refused []*contactWork
		for i, w := range chunk {
			if res.Errs[i] != nil {
				refused = append(refused, w)
				continue
			}
			s.learn(w, nil, ConsentDecision{})
		}
		// An import report says only which list a contact landed in; one
		// POST /contacts each gets Brevo's own code and message for the
		// error history (or succeeds, if the import's refusal was spurious).
		parallel(len(refused), 16, func(i int) {
			w := refused[i]
			if err := s.upsertOne(ctx, w); err != nil {
				w.failed = true
				out.setAll(w.recs, err)
			}
		})
	})
}

// writeLists applies the last list change of each contact, by email, in
// calls of at most batch.lists.max_records. A list that does not exist is
// a configuration error and stops the pipeline.
func (s *Sink) writeLists(ctx context.Context, work []*contactWork, out *outcomes) {
	type op struct {
		list  listName
		add   bool
		email []string
		recs  [][]int
	}
	ops := map[[2]int]*op{}
	for _, w := range work {
		if w.failed || w.id.email == "" {
			continue
		}
		for l, add := range w.lists {
			if s.listID(l) <= 0 {
				continue
			}
			k := [2]int{int(l), map[bool]int{false: 0, true: 1}[add]}
			o := ops[k]
			if o == nil {
				o = &op{list: l, add: add}
				ops[k] = o
			}
			o.email = append(o.email, w.id.email)
			o.recs = append(o.recs, w.recs)
		}
	}
	var calls []func()
	for _, o := range ops {
		size := s.cfg.Batch.Lists.MaxRecords
		for lo := 0; lo < len(o.email); lo += size {
			hi := min(lo+size, len(o.email))
			calls = append(calls, func() {
				var err error
				id := s.listID(o.list)
				if o.add {
					_, err = s.client.AddToList(ctx, id, o.email[lo:hi])
				} else {
					_, err = s.client.RemoveFromList(ctx, id, o.email[lo:hi])
				}
				if IsNotFound(err) {
					err = pipeline.Stop(fmt.Errorf("brevo list %d (sinks.brevo.lists.%s) does not exist: create it in Brevo → Contacts → Lists or fix the id: %w",
						id, map[listName]string{buyers: "buyers", abandoned: "abandoned_cart"}[o.list], err))
				}
				for _, r := range o.recs[lo:hi] {
					out.setAll(r, err)
				}
			})
		}
	}
	parallel(len(calls), 16, func(i int) { calls[i]() })
}
