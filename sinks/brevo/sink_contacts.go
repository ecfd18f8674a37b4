package brevo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tajo/tajo/pipeline"
)

// contactWork is everything one Write asks of one contact, coalesced in
// batch order: later attributes, identifiers and consent win, a deletion
// discards what came before it, list changes keep their last word. Lists
// are ids: each record's shop has its own (SinkConfig.ListsFor), and a
// contact of two stores joins the lists of both.
type contactWork struct {
	id         identity
	attrs      map[string]any
	emailState ConsentState
	smsState   ConsentState
	del        bool // delete first
	upsert     bool // then upsert
	// all are the all_customers lists the upsert puts the contact in.
	all map[int64]bool
	// lists: list id → added (true) or removed; names says which setting
	// each id came from, for messages.
	lists  map[int64]bool
	names  map[int64]string
	recs   []int
	failed bool
	// out takes the outcomes of recs (the Write's: works of several
	// Writes share imports, dispatch.go).
	out *outcomes
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
			w = &contactWork{attrs: map[string]any{}, all: map[int64]bool{}, lists: map[int64]bool{}, names: map[int64]string{}}
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
			w.attrs, w.all, w.lists = map[string]any{}, map[int64]bool{}, map[int64]bool{}
			w.emailState, w.smsState = ConsentUnknown, ConsentUnknown
			continue
		case upsert:
			w.upsert = true
			if id := p.listIDs.AllCustomers; id > 0 {
				w.all[id] = true
			}
		}
		for k, v := range p.attrs {
			w.attrs[strings.ToUpper(k)] = v
		}
		w.emailState = foldConsent(w.emailState, p.emailState, s.cfg.Consent.Resubscribe)
		w.smsState = foldConsent(w.smsState, p.smsState, s.cfg.Consent.Resubscribe)
		for _, lc := range p.lists {
			if id := p.listIDs.of(lc.list); id > 0 {
				w.lists[id] = lc.add
				w.names[id] = lc.list.String()
			}
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
		// The address Brevo had may not be the one this record names.
		if st, k := s.known.of(w.id.extID, ""); k == presentContact {
			s.known.forget("", st.Email)
		}
		s.known.forget(w.id.extID, w.id.email)
	}
	return err
}

func (s *Sink) consentInput(w *contactWork) ConsentInput {
	in := ConsentInput{Email: w.emailState, SMS: w.smsState, Resubscribe: s.cfg.Consent.Resubscribe}
	// Upserting by email can only change an email found through ext_id.
	if w.id.extID != "" {
		in.NewEmail = w.id.email
	}
	switch st, k := s.known.of(w.id.extID, w.id.email); k {
	case presentContact:
		in.Existing, in.Remembered = &st, true
	case absentContact:
		in.NewContact = true
	}
	if sms, ok := w.attrs["SMS"].(string); ok {
		in.NewPhone = sms
	}
	return in
}

// importable reports whether a contact can go through an import, which
// sets no blocklist flag of its own and identifies by email: a contact
// with a consent decision to send, no email, or an email or phone change
// of a contact Brevo holds goes through a single upsert that applies the
// consent policy. A contact tajo does not know (no read at start) is
// imported as new: looking each one up would cost a request per contact,
// which a bulk load cannot afford.
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
			in.NewContact, in.Existing = true, nil
		case err != nil:
			return err
		default:
			sms, _ := det.Attributes["SMS"].(string)
			in.Existing = &BrevoContactState{Email: det.Email, Phone: sms, EmailBlacklisted: det.EmailBlacklisted, SMSBlacklisted: det.SMSBlacklisted}
		}
		in.Remembered = false
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

// listIDs are the lists a single upsert adds the contact to: all_customers
// of its shops, and for a contact without email (who cannot be added by
// email later) the lists its records added it to.
func (s *Sink) listIDs(w *contactWork) []int64 {
	ids := maps.Clone(w.all)
	if w.id.email == "" {
		for id, add := range w.lists {
			if add {
				ids[id] = true
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(ids))
}

// of is the id of list l; 0 when none is configured.
func (l ListIDs) of(name listName) int64 {
	switch name {
	case buyers:
		return l.Buyers
	case abandoned:
		return l.AbandonedCart
	}
	return 0
}

func (l listName) String() string {
	switch l {
	case buyers:
		return "buyers"
	case abandoned:
		return "abandoned_cart"
	}
	return "all_customers"
}

// learn remembers what Brevo now holds for the contact (known.go), so
// later writes, in this run or after a restart, need no lookup; prev is
// what Brevo held before the write.
func (s *Sink) learn(w *contactWork, prev *BrevoContactState, d ConsentDecision) {
	var st BrevoContactState
	var oldEmail string
	if prev != nil {
		st, oldEmail = *prev, prev.Email
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
	s.known.put(w.id.extID, st, oldEmail)
}

// importContacts runs one import per batch.import.max_records contacts and
// maps Brevo's per-contact reports back to the records.
func (s *Sink) importContacts(ctx context.Context, listID int64, work []*contactWork) {
	size := s.cfg.Batch.Import.MaxRecords
	var chunks [][]*contactWork
	for lo := 0; lo < len(work); lo += size {
		chunks = append(chunks, work[lo:min(lo+size, len(work))])
	}
	parallel(len(chunks), 4, func(c int) {
		chunk := chunks[c]
		req := ImportRequest{ListIDs: []int64{listID}, UpdateExistingContacts: Bool(true), DisableNotification: true}
		for _, w := range chunk {
			req.Contacts = append(req.Contacts, ImportContact{Email: w.id.email, ExtID: w.id.extID, Attributes: w.attrs})
		}
		res, err := s.imports.run(ctx, req)
		if err != nil {
			for _, w := range chunk {
				w.failed = true
				w.out.setAll(w.recs, err)
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
			// An import sends no blocklist flag: what Brevo held stays.
			var prev *BrevoContactState
			if st, k := s.known.of(w.id.extID, w.id.email); k == presentContact {
				prev = &st
			}
			s.learn(w, prev, ConsentDecision{})
		}
		// An import report says only which list a contact landed in; one
		// POST /contacts each gets Brevo's own code and message for the
		// error history (or succeeds, if the import's refusal was spurious).
		parallel(len(refused), 16, func(i int) {
			w := refused[i]
			if err := s.upsertOne(ctx, w); err != nil {
				w.failed = true
				w.out.setAll(w.recs, err)
			}
		})
	})
}

// writeLists applies the last list change of each contact, by email, in
// calls of at most batch.lists.max_records. A list that does not exist is
// a configuration error and stops the pipeline.
func (s *Sink) writeLists(ctx context.Context, work []*contactWork, out *outcomes) {
	type op struct {
		id    int64
		name  string
		add   bool
		email []string
		recs  [][]int
	}
	type opKey struct {
		id  int64
		add bool
	}
	ops := map[opKey]*op{}
	for _, w := range work {
		if w.failed || w.id.email == "" {
			continue
		}
		for id, add := range w.lists {
			k := opKey{id, add}
			o := ops[k]
			if o == nil {
				o = &op{id: id, name: w.names[id], add: add}
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
				id := o.id
				if o.add {
					_, err = s.client.AddToList(ctx, id, o.email[lo:hi])
				} else {
					_, err = s.client.RemoveFromList(ctx, id, o.email[lo:hi])
				}
				if IsNotFound(err) {
					err = pipeline.Stop(fmt.Errorf("brevo list %d (the %s list) does not exist: create it in Brevo → Contacts → Lists, or fix the id in connectors.shopify.lists (or stores[].lists, sinks.brevo.lists): %w",
						id, o.name, err))
				}
				for _, r := range o.recs[lo:hi] {
					out.setAll(r, err)
				}
			})
		}
	}
	parallel(len(calls), 16, func(i int) { calls[i]() })
}
