package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
)

// historyEvents is a bounded source of n envelopes: customers, orders
// (with amounts) and carts in turn.
type historyEvents struct {
	mu   sync.Mutex
	recs []*pipeline.Record
}

func (s *historyEvents) Open(context.Context) error  { return nil }
func (s *historyEvents) Close(context.Context) error { return nil }
func (s *historyEvents) Ack(context.Context, []pipeline.Position) error {
	return nil
}
func (s *historyEvents) Read(_ context.Context, max int) ([]*pipeline.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recs) == 0 {
		return nil, io.EOF
	}
	n := min(max, len(s.recs))
	out := s.recs[:n]
	s.recs = s.recs[n:]
	return out, nil
}

func historyRecords(t testing.TB, n int) []*pipeline.Record {
	evs := make([]*schemas.Event, n)
	for i := range evs {
		at := t0.Add(time.Duration(i) * time.Second)
		switch i % 3 {
		case 0:
			evs[i] = newEvent("a.myshopify.com", schemas.TypeCustomerUpdated, schemas.KindCustomer, fmt.Sprint(i), at, `{"email":"c@example.com"}`)
		case 1:
			evs[i] = newEvent("a.myshopify.com", schemas.TypeOrderPlaced, schemas.KindOrder, fmt.Sprint(i), at,
				`{"email":"c@example.com","currency":"EUR","total_price":"10.50","line_items":[{"quantity":2}]}`)
		default:
			evs[i] = newEvent("a.myshopify.com", schemas.TypeCartUpdated, schemas.KindCart, fmt.Sprint(i), at, `{"total_price":"3.00"}`)
		}
	}
	return records(t, evs...)
}

// pickySink stands for Brevo: it rejects every 5th event and skips every
// 7th (by entity id), delivering the rest.
type pickySink struct{}

func (pickySink) Open(context.Context) error  { return nil }
func (pickySink) Close(context.Context) error { return nil }
func (pickySink) Write(_ context.Context, batch []*pipeline.Record) error {
	errs := make([]error, len(batch))
	for i, r := range batch {
		ev, err := schemas.DecodeEvent(r.Value)
		if err != nil {
			return pipeline.Stop(err)
		}
		var n int
		fmt.Sscan(ev.Entity.ID, &n)
		switch {
		case n%5 == 0:
			errs[i] = pipeline.Reject("invalid_parameter", errors.New("email is not valid"))
		case n%7 == 0:
			errs[i] = pipeline.Skip("test order")
		}
	}
	return &pipeline.BatchError{Errs: errs}
}

var (
	historySrcMu sync.Mutex
	historySrc   *historyEvents
)

func init() {
	pipeline.RegisterSource("history_events", func() any { return &struct{}{} }, func(any, pipeline.Env) (pipeline.Source, error) {
		historySrcMu.Lock()
		defer historySrcMu.Unlock()
		return historySrc, nil
	})
	pipeline.RegisterSink("picky", func() any { return &struct{}{} }, func(any, pipeline.Env) (pipeline.Sink, error) {
		return pickySink{}, nil
	})
}

// TestHistoryThroughTheEngine runs the engine with this sink as
// history.sink beside another sink, on each backend: each event enters
// the history once, so without FINAL (no dedupe by the table) there is one
// sync_history row per event and sink, its own included, one
// commerce_events row per order or cart, and a dead letter per rejection.
func TestHistoryThroughTheEngine(t *testing.T) {
	for _, hb := range []struct {
		name string
		h    func(testing.TB) *backendHarness
	}{{"server", serverHarness}, {"chdb", chdbHarness}} {
		t.Run(hb.name, func(t *testing.T) {
			const n = 300
			dsn, dataDir := hb.h(t).fresh(t)
			cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: none
pipeline: {batch_size: 50}
history: {sink: clickhouse}
dead_letter: {sink: clickhouse}
sources:
  history_events: {}
sinks:
  clickhouse: {dsn: %q, retention_days: 0}
  picky: {}
`, dataDir, dsn)), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			historySrcMu.Lock()
			historySrc = &historyEvents{recs: historyRecords(t, n)}
			historySrcMu.Unlock()
			log := logrus.New()
			log.SetOutput(io.Discard)
			if err := pipeline.NewRunner(cfg, log).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			db, err := OpenExisting(context.Background(), cfg.Components["sinks"][SinkName].Spec.(*Config), dataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var rejected, skipped, commerce uint64
			for i := 0; i < n; i++ {
				switch {
				case i%5 == 0:
					rejected++
				case i%7 == 0:
					skipped++
				}
				if i%3 != 0 {
					commerce++
				}
			}
			for q, want := range map[string]uint64{
				"SELECT count() FROM sync_history": 2 * n,
				"SELECT count() FROM sync_history WHERE sink = 'clickhouse' AND outcome = 'delivered'": n,
				"SELECT uniqExact(event_id) FROM sync_history WHERE sink = 'picky'":                    n,
				"SELECT count() FROM sync_history WHERE sink = 'picky' AND outcome = 'rejected'":       rejected,
				"SELECT count() FROM sync_history WHERE sink = 'picky' AND outcome = 'skipped'":        skipped,
				"SELECT count() FROM sync_history WHERE sink = 'picky' AND outcome = 'delivered'":      n - rejected - skipped,
				"SELECT count() FROM commerce_events":                                                  commerce,
				"SELECT count() FROM error_history WHERE stage = 'sink:picky'":                         rejected,
			} {
				if got := scalar(t, db, q); got != want {
					t.Errorf("%s = %v, want %d", q, got, want)
				}
			}
		})
	}
}
