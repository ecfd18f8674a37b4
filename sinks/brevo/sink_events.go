package brevo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// writeEvents sends the events of records whose contact part succeeded,
// each event at most once (see sentLog), through the sink's event queue
// (eventqueue.go), where the events of every Write in flight leave
// together: one POST /events for a lone event, /events/batch otherwise.
// The same event twice in the batch is sent once; one another Write in
// flight carries is not looked up or sent here, its outcome is shared.
// Of the rest, one the log says Brevo accepted (a retry, a redelivery
// after a restart) is not sent again; one in doubt is first looked up in
// Brevo (doubt.go) and sent only if Brevo does not have it; the others
// are queued, recorded as in flight before their request and as sent as
// soon as it is answered, before Write returns.
func (s *Sink) writeEvents(ctx context.Context, plans []*plan, out *outcomes) {
	var evs []Event
	var recs []int
	var keys []string
	first := map[string]int{}
	var dups [][2]int // record, the record carrying the same event
	for i, p := range plans {
		if p == nil || p.event == nil || out.failed(i) {
			continue
		}
		key := eventKey(p.ev.ID, p.event.Name)
		if f, ok := first[key]; ok {
			dups = append(dups, [2]int{i, f})
			continue
		}
		first[key] = i
		evs, recs, keys = append(evs, *p.event), append(recs, i), append(keys, key)
	}
	if len(evs) == 0 {
		return
	}
	// The same event twice in one batch is sent once; both records share
	// its outcome.
	defer func() {
		for _, d := range dups {
			out.set(d[0], out.get(d[1]))
		}
	}()
	// Reserved before the lookup: a Write that finds a key reserved knows
	// that its event is being handled and that its outcome will be in the
	// log before the key is free again.
	items, own := s.events.reserve(keys, evs)
	var mine []*eventItem
	for j, it := range items {
		if own[j] {
			mine = append(mine, it)
		}
	}
	s.events.enqueue(s.unsentEvents(ctx, mine))
	for j, err := range s.events.wait(ctx, items, own) {
		out.set(recs[j], err)
	}
}

// unsentEvents asks the sent log, and Brevo for those in doubt, about the
// events items carry (reserved by the caller): it completes those already
// sent or still in doubt, and returns the others, to be sent.
func (s *Sink) unsentEvents(ctx context.Context, items []*eventItem) []*eventItem {
	if len(items) == 0 {
		return nil
	}
	keys := make([]string, len(items))
	for j, it := range items {
		keys[j] = it.key
	}
	known, doubts, err := s.sent.lookup(keys)
	if err != nil {
		errs := make([]error, len(items))
		for j := range errs {
			errs[j] = err
		}
		s.events.complete(items, errs)
		return nil
	}
	var found, absent map[string]bool
	var doubtErr error
	if len(doubts) > 0 {
		ds := make([]doubt, 0, len(doubts))
		for _, d := range doubts {
			ds = append(ds, d)
		}
		found, absent, doubtErr = s.resolve(ctx, ds)
	}
	// Accepted before, but the record of it is not durable yet (its commit
	// failed), or found in Brevo: commit it now, never resend.
	var send, resave, held []*eventItem
	var resaveKeys []string
	var heldErrs []error
	for j, it := range items {
		switch st := known[j]; {
		case st == unsent, st == inDoubt && absent[keys[j]]:
			send = append(send, it)
		case st == unsaved, st == inDoubt && found[keys[j]]:
			resave, resaveKeys = append(resave, it), append(resaveKeys, keys[j])
		case st == inDoubt:
			e := doubtErr
			if e == nil {
				d := doubts[j]
				e = pipeline.Retry(fmt.Errorf("brevo sink: event %s (%s) is in doubt since %s: %w; it is sent only once Brevo has not listed it for events.verify_delay (%s)",
					d.id, d.name, d.at.UTC().Format(time.RFC3339), errStillInDoubt, s.cfg.Events.VerifyDelay))
			}
			held, heldErrs = append(held, it), append(heldErrs, e)
		default: // saved
			held, heldErrs = append(held, it), append(heldErrs, nil)
		}
	}
	err = s.sent.add(resaveKeys)
	for range resave {
		heldErrs = append(heldErrs, err)
	}
	s.events.complete(append(held, resave...), heldErrs)
	return send
}

// sendEventRequest makes one event request of evs (keys[i] the sent
// log's key of evs[i]) and returns each event's outcome: POST /events for
// a lone event, /events/batch (split at batch.events.max_bytes) for more.
// The events are recorded as in flight before the request leaves and
// their outcome as soon as it is answered; a request Brevo certainly did
// not apply drops its intents (requestFailed).
func (s *Sink) sendEventRequest(ctx context.Context, evs []Event, keys []string) []error {
	if len(evs) == 1 {
		err := s.sent.intend(keys, []time.Time{evs[0].Date})
		if err == nil {
			if err = s.client.SendEvent(ctx, evs[0]); err == nil {
				err = s.sent.add(keys)
			} else {
				s.requestFailed(keys, err)
			}
		}
		return []error{err}
	}
	pick := func(idx []int) []string {
		ks := make([]string, len(idx))
		for n, i := range idx {
			ks[n] = keys[i]
		}
		return ks
	}
	hooks := eventHooks{
		before: func(idx []int) error {
			dates := make([]time.Time, len(idx))
			for n, i := range idx {
				dates[n] = evs[i].Date
			}
			if err := s.sent.intend(pick(idx), dates); err != nil {
				return &notSentError{err}
			}
			return nil
		},
		answered: func(ok, refused []int) error { return s.sent.settle(pick(ok), pick(refused)) },
		failed:   func(idx []int, err error) { s.requestFailed(pick(idx), err) },
	}
	return itemErrs(s.client.sendEvents(ctx, evs, hooks), len(evs))
}

// requestFailed drops the intents of an event request Brevo certainly did
// not apply, so their retry sends at once; one that may have been applied
// keeps them: in doubt, resolved by a read when the record comes back.
func (s *Sink) requestFailed(keys []string, err error) {
	var ns *notSentError
	if errors.As(err, &ns) {
		return // never left: no intent was written
	}
	if mayBeApplied(err) {
		s.log.WithError(err).WithField("events", len(keys)).Warn("brevo sink: an event request got no answer; its events are in doubt and will be looked up in Brevo before any resend")
		return
	}
	if serr := s.sent.settle(nil, keys); serr != nil {
		s.log.WithError(serr).Warn("brevo sink: clearing the intents of a failed event request")
	}
}

// mayBeApplied reports whether a failed request may still have reached
// Brevo and been applied. Brevo's own error answers (4xx, 429, 500, 503)
// say it was not, as does a connection never made; a timeout, a dropped
// connection, or a proxy's 502/504/408 leave it unknown.
func mayBeApplied(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusRequestTimeout:
			return true
		}
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return false
	}
	var ns *notStartedError
	if errors.As(err, &ns) {
		return false // it waited for a slot and never left
	}
	if pipeline.ClassOf(err) == pipeline.Rejected || pipeline.ClassOf(err) == pipeline.Fatal {
		return false // refused before it was sent (encoding, the log)
	}
	return true
}

// notSentError is a failure before the request left (its intent could not
// be written).
type notSentError struct{ error }

func (e *notSentError) Unwrap() error { return e.error }
