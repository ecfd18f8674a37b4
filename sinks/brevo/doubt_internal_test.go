package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// Tests of the window between an event request and the commit of its
// outcome: tajo killed there, or the answer lost. A "crash" drops the sink
// as it is and reopens the state file in a new sink, as a restart does.

func orderBatch(t *testing.T, n int) []*pipeline.Record {
	t.Helper()
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var batch []*pipeline.Record
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("d%d@example.com", i)
		data, _ := json.Marshal(map[string]any{"id": i, "email": email, "total_price": "10.00",
			"line_items": []any{map[string]any{"id": 1, "product_id": 5, "quantity": 1, "price": "10.00"}},
			"customer":   map[string]any{"id": i, "email": email}})
		ev, _ := json.Marshal(schemas.Event{Schema: schemas.EventSchema, ID: fmt.Sprintf("ev-%d", i), Source: "shopify", Shop: "s.myshopify.com",
			Type: schemas.TypeOrderPlaced, OccurredAt: at.Add(time.Duration(i) * time.Second), ReceivedAt: at,
			Entity: schemas.Entity{Kind: schemas.KindOrder, ID: fmt.Sprint(i)}, Data: data})
		batch = append(batch, &pipeline.Record{Key: []byte("s.myshopify.com"), Value: ev})
	}
	return batch
}

type restartable struct {
	t    *testing.T
	srv  *brevotest.Server
	path string
	st   state.Store
	mod  func(*SinkConfig)
}

func newRestartable(t *testing.T, srv *brevotest.Server, mod func(*SinkConfig)) *restartable {
	r := &restartable{t: t, srv: srv, path: filepath.Join(t.TempDir(), "state.db"), mod: mod}
	t.Cleanup(func() {
		if r.st != nil {
			r.st.Close()
		}
	})
	return r
}

// start opens the state file and a sink on it (Open included).
func (r *restartable) start() *Sink {
	r.t.Helper()
	if r.st != nil {
		r.st.Close() // the killed process's file lock goes with it
	}
	st, err := state.Open(r.path)
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
	cfg := *NewSinkConfig().(*SinkConfig)
	cfg.APIKey, cfg.BaseURL, cfg.ImportPollInterval, cfg.Timeout = config.Secret(r.srv.APIKey()), r.srv.URL(), 5*time.Millisecond, 5*time.Second
	cfg.Lists.AllCustomers, cfg.Lists.Buyers, cfg.Lists.AbandonedCart = 1, 2, 3
	cfg.Events.VerifyDelay = 0
	if r.mod != nil {
		r.mod(&cfg)
	}
	s, err := NewSink(cfg, pipeline.Env{Name: "brevo", State: st})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		r.t.Fatalf("open: %v", err)
	}
	return s
}

func newDoubtSim(t *testing.T, opts brevotest.Options) *brevotest.Server {
	opts.Lists = map[int64]string{1: "All", 2: "Buyers", 3: "Abandoned"}
	srv := brevotest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

// eventCounts counts the simulator's events by tajo event id.
func eventCounts(srv *brevotest.Server) map[string]int {
	out := map[string]int{}
	for _, e := range srv.Events() {
		out[fmt.Sprint(e.EventProperties["event_id"])]++
	}
	return out
}

func wantEachOnce(t *testing.T, srv *brevotest.Server, n int) {
	t.Helper()
	got := eventCounts(srv)
	for id, c := range got {
		if c != 1 {
			t.Errorf("event %s reached Brevo %d times", id, c)
		}
	}
	if len(got) != n {
		t.Fatalf("%d distinct events in Brevo, want %d", len(got), n)
	}
}

var errDied = errors.New("the process died here")

// Brevo applied the request and answered; tajo died before committing that
// answer. After the restart nothing is sent twice: the intent is in doubt,
// GET /v3/events shows the events, they are recorded as sent.
func TestCrashAfterAnswerBeforeCommitSendsNothingTwice(t *testing.T) {
	for _, n := range []int{1, 30} { // POST /events and /events/batch
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			srv := newDoubtSim(t, brevotest.Options{})
			r := newRestartable(t, srv, nil)
			batch := orderBatch(t, n)
			first := r.start()
			first.sent.beforeSave = func(keys []string) error {
				if len(keys) > 0 {
					return errDied
				}
				return nil
			}
			if err := first.Write(context.Background(), batch); err == nil {
				t.Fatal("the write that died reported success")
			}
			if got := len(srv.Events()); got != n {
				t.Fatalf("%d events applied before the crash, want %d", got, n)
			}
			second := r.start()
			if err := second.Write(context.Background(), batch); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
			wantEachOnce(t, srv, n)
			if srv.RequestCount("GET /events") == 0 {
				t.Error("the events in doubt were never looked up")
			}
			if c := srv.RequestCount("POST /events") + srv.RequestCount("POST /events/batch"); c != 1 {
				t.Errorf("%d event requests, want 1", c)
			}
		})
	}
}

// Brevo applied the request, and tajo was killed before the answer came
// back (the connection dropped: the simulator's AfterApply).
func TestCrashBeforeAnswerSendsNothingTwice(t *testing.T) {
	var drop atomic.Bool
	drop.Store(true)
	srv := newDoubtSim(t, brevotest.Options{AfterApply: func(route string) {
		if route == "POST /events/batch" && drop.Load() {
			panic(http.ErrAbortHandler)
		}
	}})
	r := newRestartable(t, srv, nil)
	batch := orderBatch(t, 20)
	if err := r.start().Write(context.Background(), batch); err == nil {
		t.Fatal("a dropped connection reported success")
	}
	drop.Store(false)
	if err := r.start().Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	wantEachOnce(t, srv, 20)
}

// The request never reached Brevo's application (dropped on arrival) and
// tajo died: after the restart the events are sent, once. With a long
// verify_delay they wait instead (Brevo might not list them yet), and
// nothing is sent blindly; so while Brevo cannot answer the read.
func TestCrashBeforeApplySendsOnceAfterVerifyDelay(t *testing.T) {
	var dropPost, dropGet atomic.Bool
	dropPost.Store(true)
	srv := newDoubtSim(t, brevotest.Options{OnRequest: func(route string) {
		if route == "POST /events/batch" && dropPost.Load() || route == "GET /events" && dropGet.Load() {
			panic(http.ErrAbortHandler)
		}
	}})
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	r := newRestartable(t, srv, func(c *SinkConfig) { c.Events.VerifyDelay = time.Minute })
	batch := orderBatch(t, 10)
	s := r.start()
	s.now = func() time.Time { return time.Unix(0, clock.Load()) }
	if err := s.Write(context.Background(), batch); err == nil {
		t.Fatal("a dropped request reported success")
	}
	dropPost.Store(false)
	if len(srv.Events()) != 0 {
		t.Fatal("the dropped request was applied")
	}

	s = r.start()
	s.now = func() time.Time { return time.Unix(0, clock.Load()) }
	err := s.Write(context.Background(), batch)
	if pipeline.ClassOf(err) != pipeline.Retryable || len(srv.Events()) != 0 {
		t.Fatalf("within verify_delay: %v with %d events sent, want retryable and none", err, len(srv.Events()))
	}
	clock.Store(now.Add(2 * time.Minute).UnixNano())
	dropGet.Store(true)
	err = s.Write(context.Background(), batch)
	if pipeline.ClassOf(err) != pipeline.Retryable || len(srv.Events()) != 0 {
		t.Fatalf("Brevo unable to answer the read: %v with %d events sent, want retryable and none", err, len(srv.Events()))
	}
	dropGet.Store(false)
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	wantEachOnce(t, srv, 10)
}

// In one process: the answer to an applied request is late past the
// timeout. The retry of the records asks Brevo first and sends nothing.
func TestTimeoutOfAppliedRequestIsNotResent(t *testing.T) {
	var slow atomic.Bool
	slow.Store(true)
	srv := newDoubtSim(t, brevotest.Options{AfterApply: func(route string) {
		if route == "POST /events/batch" && slow.Swap(false) {
			time.Sleep(600 * time.Millisecond)
		}
	}})
	r := newRestartable(t, srv, func(c *SinkConfig) { c.Timeout = 200 * time.Millisecond; c.Events.VerifyDelay = time.Hour })
	s := r.start()
	batch := orderBatch(t, 12)
	if err := s.Write(context.Background(), batch); pipeline.ClassOf(err) != pipeline.Retryable {
		t.Fatalf("a timed-out write: %v, want retryable", err)
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	wantEachOnce(t, srv, 12)
	if c := srv.RequestCount("POST /events/batch"); c != 1 {
		t.Errorf("%d event requests, want 1", c)
	}
}

// Brevo's own error answer means not applied: the intent goes, and the
// retry sends at once (no read, no wait for verify_delay).
func TestErrorAnswerDropsTheIntent(t *testing.T) {
	var fail atomic.Int64
	var srv *brevotest.Server
	srv = newDoubtSim(t, brevotest.Options{OnRequest: func(route string) {
		if route == "POST /events/batch" && fail.Add(-1) >= 0 {
			srv.FailNext(1, http.StatusServiceUnavailable)
		}
	}})
	r := newRestartable(t, srv, func(c *SinkConfig) { c.Events.VerifyDelay = time.Hour })
	s := r.start()
	batch := orderBatch(t, 5)
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	more := orderBatch(t, 8)[5:]
	fail.Store(3) // the transport retries twice
	if err := s.Write(context.Background(), more); pipeline.ClassOf(err) != pipeline.Retryable {
		t.Fatalf("503: %v", err)
	}
	if err := s.Write(context.Background(), more); err != nil {
		t.Fatalf("the retry after a 503: %v", err)
	}
	wantEachOnce(t, srv, 8)
	if n := srv.RequestCount("GET /events"); n != 0 {
		t.Errorf("%d reads after an error answer, want none", n)
	}
	if n := bucketLen(t, r.st, s.sent.intents); n != 0 {
		t.Errorf("%d intents left, want 0", n)
	}
}

// Many events in doubt among many others of the same name and date: the
// read pages through them and finds each.
func TestResolvePagesThroughADenseWindow(t *testing.T) {
	srv := newDoubtSim(t, brevotest.Options{})
	r := newRestartable(t, srv, nil)
	s := r.start()
	date := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var others []Event
	for i := 0; i < 2500; i++ {
		others = append(others, Event{Name: "order_placed", Date: date, Identifiers: Identifiers{ExtID: "x"},
			EventProperties: map[string]any{"event_id": fmt.Sprintf("other-%d", i)}})
	}
	if err := s.client.SendEvents(context.Background(), others); err != nil {
		t.Fatal(err)
	}
	var ds []doubt
	for _, id := range []string{"other-0", "other-1250", "other-2499", "missing"} {
		ds = append(ds, doubt{key: eventKey(id, "order_placed"), id: id, name: "order_placed", at: time.Now().Add(-time.Hour), date: date})
	}
	found, absent, err := s.resolve(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 || !absent[eventKey("missing", "order_placed")] || len(absent) != 1 {
		t.Fatalf("found %v, absent %v", found, absent)
	}
	if n := srv.RequestCount("GET /events"); n != 3 {
		t.Errorf("%d pages read, want 3 (2500 events, 1000 a page)", n)
	}
}

// BenchmarkSentLogPerRequest measures what the log costs one event request
// on a real state file: the outcome commit alone (what closed nothing) and
// the intent before it plus the outcome (what tajo does).
func BenchmarkSentLogPerRequest(b *testing.B) {
	for _, n := range []int{4, 200} {
		for _, withIntent := range []bool{false, true} {
			name := fmt.Sprintf("events=%d/outcome-only", n)
			if withIntent {
				name = fmt.Sprintf("events=%d/intent+outcome", n)
			}
			b.Run(name, func(b *testing.B) {
				st, err := state.Open(filepath.Join(b.TempDir(), "state.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				l := newSentLog(st, "brevo", time.Hour, time.Now)
				dates := make([]time.Time, n)
				for i := range dates {
					dates[i] = time.Now()
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					keys := make([]string, n)
					for j := range keys {
						keys[j] = fmt.Sprintf("ev-%d-%d|order_placed", i, j)
					}
					if withIntent {
						if err := l.intend(keys, dates); err != nil {
							b.Fatal(err)
						}
					}
					if err := l.add(keys); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
