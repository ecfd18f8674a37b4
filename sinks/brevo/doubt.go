package brevo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// Resolving events in doubt: their request left (its intent is in the sent
// log) and no outcome was recorded, because tajo died before the answer's
// commit or the answer never came (a timeout, a dropped connection). Brevo
// may have applied the request. Sending again could start an automation
// twice, not sending could lose the event, so the sink asks Brevo: GET
// /v3/events (custom events only) filtered by event name and an event_date
// window around the events, matched on event_properties.event_id.
//
// Brevo queues event requests (the batch answer is "added to the
// processing queue"), so an event not listed yet may still appear: absence
// counts only once events.verify_delay has passed since the intent.
// Before that, and whenever Brevo cannot answer, the event stays in doubt
// and its record is retried: never sent blindly.
//
// Reads are bounded: events in doubt are grouped into event_date windows
// (one query each, newest first, pages of readPage), a window holding more
// than readMax matching events is split in two, and one resolution stops
// after readBudget. The reads go through the discipline's events group, so
// they share the events rate limit and wait out a 429 like any request.
const (
	readPage   = 1000
	readMax    = 10 * readPage
	readBudget = 30 * time.Second
	// readGap joins the windows of events dated this close, so one query
	// serves a whole request's events.
	readGap = 10 * time.Minute
	// openDoubts bounds the intents resolved at Open; the rest are
	// resolved when their records come back.
	openDoubts = 10_000
)

// errStillInDoubt is the outcome of a record whose event Brevo does not
// list yet, before verify_delay has passed.
var errStillInDoubt = errors.New("not listed by Brevo's GET /v3/events yet")

// window is one GET /events query: the events in doubt it must find.
type readWindow struct {
	start, end time.Time
	ds         []doubt
}

// span is the event_date range in which Brevo holds d if it holds it:
// around its event_date (Brevo's precision is not documented, so a second
// either side), or, for an event sent without one, around the request.
func (s *Sink) span(d doubt, now time.Time) (time.Time, time.Time) {
	if !d.date.IsZero() {
		t := d.date.Truncate(time.Second)
		return t.Add(-time.Second), t.Add(2 * time.Second)
	}
	return d.at.Add(-time.Minute), now.Add(time.Minute)
}

// windows groups ds into queries, by event_date.
func (s *Sink) windows(ds []doubt, now time.Time) []readWindow {
	type sp struct {
		a, b time.Time
		d    doubt
	}
	all := make([]sp, len(ds))
	for i, d := range ds {
		a, b := s.span(d, now)
		all[i] = sp{a, b, d}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].a.Before(all[j].a) })
	var out []readWindow
	for _, x := range all {
		if n := len(out); n > 0 && !x.a.After(out[n-1].end.Add(readGap)) {
			if x.b.After(out[n-1].end) {
				out[n-1].end = x.b
			}
			out[n-1].ds = append(out[n-1].ds, x.d)
			continue
		}
		out = append(out, readWindow{start: x.a, end: x.b, ds: []doubt{x.d}})
	}
	return out
}

// resolve asks Brevo about ds. found are the keys Brevo holds; absent those
// it does not, past verify_delay; any other stays in doubt, and err says
// why when Brevo could not answer (a Fatal error stops the pipeline).
func (s *Sink) resolve(ctx context.Context, ds []doubt) (found, absent map[string]bool, err error) {
	found, absent = map[string]bool{}, map[string]bool{}
	if len(ds) == 0 {
		return found, absent, nil
	}
	ctx, cancel := context.WithTimeout(ctx, readBudget)
	defer cancel()
	now := s.now()
	for _, w := range s.windows(ds, now) {
		if err = s.scan(ctx, w, found); err != nil {
			break
		}
		for _, d := range w.ds {
			if !found[d.key] && now.Sub(d.at) >= s.cfg.Events.VerifyDelay {
				absent[d.key] = true
			}
		}
	}
	if err != nil && pipeline.ClassOf(err) != pipeline.Fatal {
		err = pipeline.Retry(fmt.Errorf("brevo sink: asking Brevo (GET /v3/events) whether events in doubt arrived: %w", err))
	}
	return found, absent, err
}

// scan pages through one window and marks in found the events of w.ds that
// Brevo lists. It returns nil only when the window was read completely.
func (s *Sink) scan(ctx context.Context, w readWindow, found map[string]bool) error {
	want := map[string]bool{}
	names := map[string]bool{}
	var nameList []string
	for _, d := range w.ds {
		want[d.key] = true
		if !names[d.name] {
			names[d.name] = true
			nameList = append(nameList, d.name)
		}
	}
	sort.Strings(nameList)
	q := EventQuery{Names: nameList, Start: w.start, End: w.end, Limit: readPage}
	first := int64(-1)
	for {
		page, err := s.client.ListEvents(ctx, q)
		if err != nil {
			return err
		}
		if first < 0 {
			first = page.Count
			if page.Count > readMax && len(w.ds) > 1 {
				// Too many events around these: narrower windows.
				mid := len(w.ds) / 2
				now := s.now()
				for _, part := range [][]doubt{w.ds[:mid], w.ds[mid:]} {
					for _, sub := range s.windows(part, now) {
						if err := s.scan(ctx, sub, found); err != nil {
							return err
						}
					}
				}
				return nil
			}
		}
		if page.Count < first {
			// Events were deleted while paging: one may have moved past
			// the offset unseen.
			return fmt.Errorf("the events listed changed while reading them (%d, then %d)", first, page.Count)
		}
		for _, e := range page.Events {
			if k := eventKey(fmt.Sprint(e.EventProperties["event_id"]), e.Name); want[k] {
				found[k] = true
				delete(want, k)
			}
		}
		q.Offset += len(page.Events)
		switch {
		case len(want) == 0, len(page.Events) == 0, int64(q.Offset) >= page.Count:
			return nil
		case q.Offset >= readMax:
			return fmt.Errorf("more than %d %v events between %s and %s", readMax, nameList,
				w.start.UTC().Format(time.RFC3339), w.end.UTC().Format(time.RFC3339))
		}
	}
}

// resolveInFlight resolves, at Open, the intents a previous run left
// behind: those Brevo holds are recorded as sent, those it does not (past
// verify_delay) lose their intent, so their records, redelivered, send
// them once. It never fails Open: what stays in doubt is resolved when its
// record comes back.
func (s *Sink) resolveInFlight(ctx context.Context) error {
	ds, err := s.sent.doubts(openDoubts)
	if err != nil || len(ds) == 0 {
		return err
	}
	found, absent, rerr := s.resolve(ctx, ds)
	if err := s.sent.settle(keys(found), keys(absent)); err != nil {
		return err
	}
	entry := s.log.WithField("in_doubt", len(ds)).WithField("found", len(found)).WithField("absent", len(absent))
	if pipeline.ClassOf(rerr) == pipeline.Fatal {
		return rerr
	}
	if rerr != nil {
		entry.WithError(rerr).Warn("brevo sink: events left in flight by the last run are still in doubt; their records will wait until Brevo answers")
		return nil
	}
	entry.Info("brevo sink: resolved the events left in flight by the last run (found: not sent again; absent: sent once when their records come back)")
	return nil
}
