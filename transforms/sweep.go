package transforms

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// The daily RECENCY sweep. RECENCY (whole days since the last order) moves
// every day without any event about the customer, so a win-back segment
// built on it would stay empty if it were recomputed only when an event
// arrives. Once a day the sweep walks the customers with orders in the
// aggregates' state and emits, for each one whose RECENCY is not the one
// last sent, a customer_recency_updated event; the chain maps it like any
// event about the customer (the configured field_mapping computes RECENCY
// and the other attributes), and the Brevo sink sends a batch of them
// through one contact import.
//
// It is the first durable timer of the chain, written so that the
// cart-abandonment timers can stand on it: its whole state is in the
// state store (the time of the last complete sweep, the sweep in progress
// and how far it got, and per customer the RECENCY last sent), and it does
// its work through Timed, which the engine calls.
//
//   - Durable: progress is persisted by done, once the records of a tick
//     are handled; a crash before that repeats the tick, which yields the
//     same events (same ids).
//   - Idempotent: a customer whose RECENCY is the one last sent, by the
//     sweep or by an event that carried it, yields nothing.
//   - Catch-up once: after a week of downtime the sweep runs once on
//     start, not once per missed day.

// Timed is implemented by a stage that has work of its own at times it
// keeps in the state store. The engine calls it from one goroutine:
// NextRun to know when, then Tick at or after that time, and done once
// every record Tick returned is durably handled.
type Timed interface {
	// NextRun is when Tick has work next; the zero time means now.
	NextRun() (time.Time, error)
	// Tick returns up to max records of the work due at now: events to
	// run through the whole chain (or write to the events topic) like
	// any other. done persists the progress and must be called, once the
	// records are handled, before the next Tick; a Tick again without
	// done does the same work again (the same customers, as contact
	// updates are idempotent).
	Tick(ctx context.Context, now time.Time, max int) (recs []*pipeline.Record, done func(context.Context) error, err error)
}

const (
	bucketSweep  = "transforms.sweep" // sweep name → sweepState
	sweepRecency = "recency"
	// SweepEvery is how long after a complete sweep the next one is due.
	SweepEvery = 24 * time.Hour

	// TypeCustomerRecency is the event of the sweep: a contact update of
	// a customer whose RECENCY moved. Data is recencyData.
	TypeCustomerRecency = "customer_recency_updated"
	// SourceRecencySweep is the source of those events.
	SourceRecencySweep = "tajo.recency_sweep"
)

type sweepState struct {
	Last   time.Time `json:"last,omitzero"`    // start of the last complete sweep
	Run    time.Time `json:"run,omitzero"`     // start of the sweep in progress
	Cursor string    `json:"cursor,omitempty"` // the last customer record it walked
}

// recencyData names the customer of a customer_recency_updated event.
type recencyData struct {
	CustomerID schemas.ID `json:"customer_id,omitempty"`
	Email      string     `json:"email,omitempty"`
	// Recency is the value the sweep computed, for the history; the
	// attribute itself is the field_mapping's.
	Recency int `json:"recency"`
}

var _ Timed = (*aggregates)(nil)

func (s *aggregates) sweepState() (sweepState, error) {
	var st sweepState
	b, err := s.c.store.Get(bucketSweep, sweepRecency)
	if err != nil || b == nil {
		return st, err
	}
	return st, unmarshal(b, &st)
}

// NextRun implements Timed.
func (s *aggregates) NextRun() (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.sweepState()
	switch {
	case err != nil:
		return time.Time{}, err
	case !st.Run.IsZero():
		return st.Run, nil // unfinished: resume
	case st.Last.IsZero():
		return time.Time{}, nil
	}
	return st.Last.Add(SweepEvery), nil
}

// Tick implements Timed: the next page of the sweep, if one is due.
func (s *aggregates) Tick(ctx context.Context, now time.Time, max int) ([]*pipeline.Record, func(context.Context) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.sweepState()
	if err != nil {
		return nil, nil, pipeline.Retry(err)
	}
	if st.Run.IsZero() {
		if !st.Last.IsZero() && now.Sub(st.Last) < SweepEvery {
			return nil, func(context.Context) error { return nil }, nil
		}
		st.Run, st.Cursor = now, ""
	}
	keys, err := s.c.store.KeysAfter(bucketCustomers, st.Cursor)
	if err != nil {
		return nil, nil, pipeline.Retry(err)
	}
	var recs []*pipeline.Record
	sent := map[string]int{}
	finished := true
	for _, k := range keys {
		if len(recs) >= max {
			finished = false
			break
		}
		st.Cursor = k
		b, err := s.c.store.Get(bucketCustomers, k)
		if err != nil {
			return nil, nil, pipeline.Retry(err)
		}
		var a customerAgg
		if b == nil || unmarshal(b, &a) != nil || a.NoTotals {
			continue
		}
		shop, key, _ := strings.Cut(k, "\x00")
		days, ok := a.recency(now.In(s.c.settings.forShop(shop).loc))
		if !ok || (a.RecencySent && a.Recency == days) {
			continue
		}
		rec, err := recencyEvent(shop, key, a.Email, st.Run, now, days)
		if err != nil {
			return nil, nil, err
		}
		recs, sent[k] = append(recs, rec), days
	}
	if finished {
		st.Last, st.Run, st.Cursor = st.Run, time.Time{}, ""
	}
	done := func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for k, days := range sent {
			shop, key, _ := strings.Cut(k, "\x00")
			a, err := s.loadCustomer(shop, key)
			if err != nil {
				return pipeline.Retry(err)
			}
			if a == nil {
				continue
			}
			a.Recency, a.RecencySent = days, true
			if err := s.save(bucketCustomers, k, a); err != nil {
				return pipeline.Retry(err)
			}
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		s.c.store.Put(bucketSweep, sweepRecency, b)
		if err := s.c.store.Commit(); err != nil {
			return pipeline.Retry(err)
		}
		return nil
	}
	return recs, done, nil
}

// recency is RECENCY as of now (in the shop's zone): whole days since the
// last counted order; false without one.
func (a *customerAgg) recency(now time.Time) (int, bool) {
	var last time.Time
	for _, r := range a.Recent {
		if r.At.After(last) {
			last = r.At
		}
	}
	if last.IsZero() {
		return 0, false
	}
	return expression.DaysSince(last, now), true
}

// noteRecency records the RECENCY an event about the customer carries, so
// the sweep does not send it again the same day. It reports a change.
func (a *customerAgg) noteRecency(now time.Time) bool {
	days, ok := a.recency(now)
	if !ok || (a.RecencySent && a.Recency == days) {
		return false
	}
	a.Recency, a.RecencySent = days, true
	return true
}

// recencyEvent is the sweep's event for one customer: its id is the
// customer's in the sweep started at run, so a sweep run again after a
// crash yields new ones, which the guard does not take for duplicates of
// what may never have been sent.
func recencyEvent(shop, key, email string, run, now time.Time, days int) (*pipeline.Record, error) {
	d := recencyData{Email: email, Recency: days}
	entity := key
	if e, ok := strings.CutPrefix(key, "email:"); ok {
		d.Email, entity = e, e
	} else if c := stubCustomer(key); c != nil {
		d.CustomerID = c.ID
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	at := now.UTC()
	ev := schemas.Event{
		Schema: schemas.EventSchema,
		ID:     schemas.NewID(SourceRecencySweep, shop, key, run.UTC().Format(time.RFC3339Nano)),
		Source: SourceRecencySweep, Shop: shop, Type: TypeCustomerRecency,
		OccurredAt: at, ReceivedAt: at,
		Entity: schemas.Entity{Kind: schemas.KindCustomer, ID: entity},
		Data:   data,
	}
	b, err := json.Marshal(&ev)
	if err != nil {
		return nil, err
	}
	return &pipeline.Record{Key: []byte(shop), Value: b, Time: at}, nil
}
