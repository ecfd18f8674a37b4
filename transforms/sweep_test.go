package transforms

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
)

// sweeper is a chain with its Timed stage, on a simulated clock.
type sweeper struct {
	*testChain
	timed Timed
}

func newSweeper(t *testing.T, ts []pipeline.NamedTransform, tc *testChain) *sweeper {
	t.Helper()
	for _, s := range ts {
		if tm, ok := s.Transform.(Timed); ok {
			return &sweeper{testChain: tc, timed: tm}
		}
	}
	t.Fatal("no Timed stage in the chain")
	return nil
}

// tick runs one tick at now, maps its events through the whole chain as
// the engine would, then calls done: RECENCY by contact (email).
func (s *sweeper) tick(now time.Time, max int) map[string]any {
	s.t.Helper()
	s.now = now
	recs, done, err := s.timed.Tick(context.Background(), now, max)
	if err != nil {
		s.t.Fatal(err)
	}
	got := map[string]any{}
	for _, r := range recs {
		o := s.mustRun(r)
		if o == nil {
			s.t.Fatalf("the chain dropped a sweep event: %s", valueOf(s.t, r))
		}
		if o.Type != TypeCustomerRecency || o.Source != SourceRecencySweep || o.Identifiers == nil {
			s.t.Fatalf("sweep event: %s", o.raw)
		}
		got[o.Identifiers.Email] = o.Attrs["RECENCY"]
	}
	if err := done(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	return got
}

func (s *sweeper) next() time.Time {
	s.t.Helper()
	at, err := s.timed.NextRun()
	if err != nil {
		s.t.Fatal(err)
	}
	return at
}

func sweepHistory(t *testing.T, c *testChain) {
	t.Helper()
	// zoe (42) last ordered 3 days before t0, a guest 10 days before; ana
	// (7) never ordered.
	c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "1001", t0.Add(-72*time.Hour), order(1001, "100.00", t0.Add(-72*time.Hour)))))
	at := t0.Add(-240 * time.Hour)
	c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "1002", at,
		`{"id":1002,"email":"guest@example.com","total_price":"5.00","created_at":"`+at.Format(time.RFC3339)+`"}`)))
	c.mustRun(record(t, event(t, schemas.TypeCustomerCreated, "customer", "7", t0, `{"id":7,"email":"ana@example.com"}`)))
}

func TestRecencySweepOnASimulatedClock(t *testing.T) {
	c := newChain(t, "")
	s := newSweeper(t, c.ts, c)
	sweepHistory(t, c)

	if !s.next().IsZero() {
		t.Fatalf("never swept: due now, got %v", s.next())
	}
	// The orders carried today's RECENCY: the first sweep sends nothing.
	if got := s.tick(t0, 100); len(got) != 0 {
		t.Fatalf("first sweep on the day of the events: %v", got)
	}
	if want := t0.Add(SweepEvery); !s.next().Equal(want) {
		t.Fatalf("next run %v, want %v", s.next(), want)
	}
	if got := s.tick(t0.Add(time.Hour), 100); len(got) != 0 {
		t.Fatalf("a sweep before a day has passed: %v", got)
	}
	// A day later, every customer with orders moves by one; ana has none.
	day1 := t0.Add(25 * time.Hour)
	want := map[string]any{"zoe@example.com": 4.0, "guest@example.com": 11.0}
	if got := s.tick(day1, 100); !mapsEqual(got, want) {
		t.Fatalf("day 1: %v, want %v", got, want)
	}
	if got := s.tick(day1.Add(time.Minute), 100); len(got) != 0 {
		t.Fatalf("the same day again (idempotent): %v", got)
	}
	// An order today: its event carries RECENCY 0, so the next sweep
	// leaves zoe out the day of it.
	day2 := day1.Add(SweepEvery)
	c.now = day2.Add(-time.Minute)
	c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "1003", c.now, order(1003, "10.00", c.now))))
	if got := s.tick(day2, 100); !mapsEqual(got, map[string]any{"guest@example.com": 12.0}) {
		t.Fatalf("day 2: %v", got)
	}
	// Nine days down: one catch-up sweep on start, not one per missed day.
	late := day2.Add(9 * 24 * time.Hour)
	if got := s.tick(late, 100); !mapsEqual(got, map[string]any{"zoe@example.com": 9.0, "guest@example.com": 21.0}) {
		t.Fatalf("catch-up: %v", got)
	}
	if got := s.tick(late.Add(time.Hour), 100); len(got) != 0 {
		t.Fatalf("a second catch-up: %v", got)
	}
	if want := late.Add(SweepEvery); !s.next().Equal(want) {
		t.Fatalf("after the catch-up, next run %v, want %v", s.next(), want)
	}
}

// A sweep goes by pages of at most max events; an unfinished one is due
// at once and resumes where it stopped.
func TestRecencySweepPages(t *testing.T) {
	c := newChain(t, "")
	s := newSweeper(t, c.ts, c)
	sweepHistory(t, c)
	day1 := t0.Add(25 * time.Hour)
	first := s.tick(day1, 1)
	if len(first) != 1 {
		t.Fatalf("page 1: %v", first)
	}
	if at := s.next(); !at.Equal(day1) {
		t.Fatalf("an unfinished sweep is due at its start, got %v", at)
	}
	second := s.tick(day1.Add(time.Minute), 1)
	if len(second) != 1 || mapsEqual(first, second) {
		t.Fatalf("page 2: %v after %v", second, first)
	}
	if got := s.tick(day1.Add(2*time.Minute), 1); len(got) != 0 {
		t.Fatalf("page 3: %v", got)
	}
	if want := day1.Add(SweepEvery); !s.next().Equal(want) {
		t.Fatalf("next run %v, want %v", s.next(), want)
	}
}

// The sweep's state is durable: a restart knows when it last ran, and a
// tick whose done never came (a crash) is done again.
func TestRecencySweepSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() (*sweeper, func()) {
		st, err := state.Open(filepath.Join(dir, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		tc := &testChain{t: t, now: t0}
		ts, err := BuildWith(parse(t, ""), pipeline.Env{State: st, DataDir: dir}, Options{Now: func() time.Time { return tc.now }})
		if err != nil {
			t.Fatal(err)
		}
		tc.ts = ts
		return newSweeper(t, ts, tc), func() {
			for _, s := range ts {
				if cl, ok := s.Transform.(pipeline.Closer); ok {
					cl.Close(context.Background())
				}
			}
			st.Close()
		}
	}
	s, closeAll := open()
	sweepHistory(t, s.testChain)
	day1 := t0.Add(25 * time.Hour)
	// A tick whose records were never handled: no done.
	if recs, _, err := s.timed.Tick(context.Background(), day1, 100); err != nil || len(recs) != 2 {
		t.Fatalf("tick: %v, %d records", err, len(recs))
	}
	closeAll()

	s, closeAll = open()
	want := map[string]any{"zoe@example.com": 4.0, "guest@example.com": 11.0}
	if got := s.tick(day1.Add(time.Minute), 100); !mapsEqual(got, want) {
		t.Fatalf("after the crash: %v, want %v", got, want)
	}
	closeAll()

	s, closeAll = open()
	defer closeAll()
	if want := day1.Add(time.Minute).Add(SweepEvery); !s.next().Equal(want) {
		t.Fatalf("after a restart, next run %v, want %v", s.next(), want)
	}
	if got := s.tick(day1.Add(2*time.Hour), 100); len(got) != 0 {
		t.Fatalf("swept again after a restart: %v", got)
	}
}

// The sweep's event is a contact update the sink can import: the email
// and ext_id, and the mapping's RECENCY with the other aggregates.
func TestRecencySweepEventShape(t *testing.T) {
	c := newChain(t, "")
	s := newSweeper(t, c.ts, c)
	sweepHistory(t, c)
	day1 := t0.Add(25 * time.Hour)
	c.now = day1
	recs, done, err := s.timed.Tick(context.Background(), day1, 100)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v, %d", err, len(recs))
	}
	defer done(context.Background())
	var ids []string
	for _, r := range recs {
		o := c.mustRun(r)
		ids = append(ids, o.ID)
		if o.Identifiers.Email == "zoe@example.com" {
			want := map[string]any{"ORDER_COUNT": 1.0, "TOTAL_SPENT": 100.0, "AOV": 100.0, "LAST_ORDER_DATE": "2026-11-24",
				"RECENCY": 4.0, "CUSTOMER_TYPE": "new", "VIP_TIER": "bronze"}
			if !mapsEqual(o.Attrs, want) || o.Identifiers.ExtID != "42" || o.Entity.ID != "42" {
				t.Errorf("zoe: %s", o.raw)
			}
			var d recencyData
			if json.Unmarshal(o.Data, &d) != nil || d.Recency != 4 {
				t.Errorf("data: %s", o.Data)
			}
		}
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Errorf("event ids %v", ids)
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
