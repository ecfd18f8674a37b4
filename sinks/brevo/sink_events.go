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

// writeEvents sends the events of records whose contact part succeeded:
// one POST /events for a lone event, /events/batch otherwise, each event at
// most once (see sentLog): one the log says Brevo accepted (a retry, a
// redelivery after a restart) is not sent again; one in doubt is first
// looked up in Brevo (doubt.go) and sent only if Brevo does not have it;
// the rest are recorded as in flight before their request and as sent as
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
	known, doubts, err := s.sent.lookup(keys)
	if err != nil {
		out.setAll(recs, err)
		return
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
	var resave []string
	var resaveRecs []int
	k := 0
	for j := range evs {
		switch st := known[j]; {
		case st == unsent, st == inDoubt && absent[keys[j]]:
			evs[k], recs[k], keys[k] = evs[j], recs[j], keys[j]
			k++
		case st == unsaved, st == inDoubt && found[keys[j]]:
			resave, resaveRecs = append(resave, keys[j]), append(resaveRecs, recs[j])
		case st == inDoubt:
			e := doubtErr
			if e == nil {
				d := doubts[j]
				e = pipeline.Retry(fmt.Errorf("brevo sink: event %s (%s) is in doubt since %s: %w; it is sent only once Brevo has not listed it for events.verify_delay (%s)",
					d.id, d.name, d.at.UTC().Format(time.RFC3339), errStillInDoubt, s.cfg.Events.VerifyDelay))
			}
			out.set(recs[j], e)
		}
	}
	evs, recs, keys = evs[:k], recs[:k], keys[:k]
	if err := s.sent.add(resave); err != nil {
		out.setAll(resaveRecs, err)
	}
	if len(evs) == 0 {
		return
	}
	if len(evs) == 1 {
		err := s.sent.intend(keys, []time.Time{evs[0].Date})
		if err == nil {
			if err = s.client.SendEvent(ctx, evs[0]); err == nil {
				err = s.sent.add(keys)
			} else {
				s.requestFailed(keys, err)
			}
		}
		out.set(recs[0], err)
		return
	}
	size := s.cfg.Batch.Events.MaxRecords
	var chunks [][2]int
	for lo := 0; lo < len(evs); lo += size {
		chunks = append(chunks, [2]int{lo, min(lo+size, len(evs))})
	}
	parallel(len(chunks), 8, func(c int) {
		lo, hi := chunks[c][0], chunks[c][1]
		pick := func(idx []int) []string {
			ks := make([]string, len(idx))
			for n, i := range idx {
				ks[n] = keys[lo+i]
			}
			return ks
		}
		hooks := eventHooks{
			before: func(idx []int) error {
				dates := make([]time.Time, len(idx))
				for n, i := range idx {
					dates[n] = evs[lo+i].Date
				}
				if err := s.sent.intend(pick(idx), dates); err != nil {
					return &notSentError{err}
				}
				return nil
			},
			answered: func(ok, refused []int) error { return s.sent.settle(pick(ok), pick(refused)) },
			failed:   func(idx []int, err error) { s.requestFailed(pick(idx), err) },
		}
		errs := itemErrs(s.client.sendEvents(ctx, evs[lo:hi], hooks), hi-lo)
		for n, e := range errs {
			out.set(recs[lo+n], e)
		}
	})
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
	if pipeline.ClassOf(err) == pipeline.Rejected || pipeline.ClassOf(err) == pipeline.Fatal {
		return false // refused before it was sent (encoding, the log)
	}
	return true
}

// notSentError is a failure before the request left (its intent could not
// be written).
type notSentError struct{ error }

func (e *notSentError) Unwrap() error { return e.error }
