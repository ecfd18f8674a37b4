package brevo_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// openState is a state store in the test's directory, closed at its end.
func openState(t *testing.T) state.Store {
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newSinkOn builds and opens a sink whose Env holds st, as tajo run gives it.
func newSinkOn(t testing.TB, srv *brevotest.Server, st state.Store, mod ...func(*brevo.SinkConfig)) *brevo.Sink {
	t.Helper()
	cfg := *brevo.NewSinkConfig().(*brevo.SinkConfig)
	cfg.APIKey, cfg.BaseURL = config.Secret(srv.APIKey()), srv.URL()
	cfg.Timeout, cfg.ImportPollInterval = 5*time.Second, 5*time.Millisecond
	cfg.Lists.AllCustomers, cfg.Lists.Buyers, cfg.Lists.AbandonedCart = listAll, listBuyers, listAbandoned
	for _, m := range mod {
		m(&cfg)
	}
	s, err := brevo.NewSink(cfg, pipeline.Env{Name: "brevo", State: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// eventsByID counts the events the simulator received, by name and
// tajo event id.
func eventsByID(srv *brevotest.Server) map[string]int {
	out := map[string]int{}
	for _, e := range srv.Events() {
		out[fmt.Sprint(e.Name, " ", e.EventProperties["event_id"])]++
	}
	return out
}

// TestEventsExactlyOnceAcrossRestart is the kill -9 case of invariant 2: a
// sink sent events and is gone without a clean shutdown (no Close: the
// process died before its offsets were committed); a new sink on the same
// state file receives the same records again. Brevo got each event once.
func TestEventsExactlyOnceAcrossRestart(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := state.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var batch []*pipeline.Record
	for i := 1; i <= 30; i++ {
		batch = append(batch, envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, fmt.Sprint(i), order(i, fmt.Sprintf("c%d@example.com", i), i), nil))
	}
	// A lone event takes POST /events, a batch /events/batch: both paths.
	lone := envelope(t, schemas.TypeOrderPaid, schemas.KindOrder, "99", order(99, "lone@example.com", 99), nil)
	ctx := context.Background()
	first := newSinkOn(t, srv, st)
	if err := first.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := first.Write(ctx, []*pipeline.Record{lone}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Events()); n != 31 {
		t.Fatalf("%d events before the restart, want 31", n)
	}
	// kill -9: the sink is dropped as it is; only what is in the state file
	// survives.
	first = nil
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = state.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	second := newSinkOn(t, srv, st)
	if err := second.Write(ctx, append(batch, lone)); err != nil {
		t.Fatal(err)
	}
	if err := second.Write(ctx, []*pipeline.Record{lone}); err != nil {
		t.Fatal(err)
	}
	got := eventsByID(srv)
	if len(got) != 31 {
		t.Fatalf("%d distinct events, want 31", len(got))
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s reached Brevo %d times", k, n)
		}
	}
	// Everything else was written again, as upserts: the orders are still
	// one per id.
	if n := srv.RequestCount("POST /events/batch") + srv.RequestCount("POST /events"); n != 2 {
		t.Errorf("%d event requests, want 2 (none after the restart)", n)
	}
}

// A redelivered batch in the same process (a record retried because
// another of its calls failed) does not send its event again either, and
// two copies of one event in a batch are sent once.
func TestEventsOnceWithinAProcess(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSinkOn(t, srv, openState(t))
	rec := envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, "10", order(10, "ann@example.com", 1), nil)
	other := envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, "11", order(11, "bob@example.com", 2), nil)
	for i := 0; i < 3; i++ {
		if err := s.Write(context.Background(), []*pipeline.Record{rec, rec, other}); err != nil {
			t.Fatal(err)
		}
	}
	for k, n := range eventsByID(srv) {
		if n != 1 {
			t.Errorf("%s reached Brevo %d times", k, n)
		}
	}
	if n := len(srv.Events()); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

func testOrder(t *testing.T, id int, email string) *pipeline.Record {
	data := order(id, email, id)
	data["test"] = true
	return envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, fmt.Sprint(id), data, nil)
}

// TestTestOrdersStartNothing: with test_orders: skip (the default) a
// `test: true` order sends nothing to Brevo (no contact, list, event or
// order status) and is reported skipped with the reason; a real order in
// the same batch is delivered. With test_orders: send it goes through.
func TestTestOrdersStartNothing(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	batch := []*pipeline.Record{
		testOrder(t, 10, "tester@example.com"),
		envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, "11", order(11, "real@example.com", 11), nil),
		envelope(t, schemas.TypeOrderRefunded, schemas.KindRefund, "12", map[string]any{"id": 12, "order_id": 10, "test": true,
			"email": "tester@example.com", "customer": map[string]any{"id": 10, "email": "tester@example.com"}},
			func(e *schemas.Event) { e.Identifiers = &schemas.Identifiers{Email: "tester@example.com"} }),
	}
	err := s.Write(context.Background(), batch)
	var be *pipeline.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 3 {
		t.Fatalf("want a BatchError with 3 outcomes, got %v", err)
	}
	for _, i := range []int{0, 2} {
		var skip *pipeline.SkipError
		if !errors.As(be.Errs[i], &skip) || skip.Reason != "test order" {
			t.Errorf("record %d: outcome %v, want skipped: test order", i, be.Errs[i])
		}
	}
	if be.Errs[1] != nil {
		t.Errorf("the real order: %v", be.Errs[1])
	}
	for _, e := range srv.Events() {
		if e.Identifiers["email_id"] == "tester@example.com" {
			t.Errorf("a test order sent %s", e.Name)
		}
	}
	for _, o := range srv.Orders() {
		if o.ID == "10" {
			t.Errorf("a test order sent its status: %+v", o)
		}
	}
	if srv.Contact("tester@example.com") != nil {
		t.Error("a test order created a contact")
	}
	if len(srv.Events()) != 1 || len(srv.Orders()) != 1 {
		t.Errorf("events %d, orders %d: want the real order's only", len(srv.Events()), len(srv.Orders()))
	}

	sendSrv := newSim(t, brevotest.Options{})
	send := newSink(t, sendSrv, func(c *brevo.SinkConfig) { c.TestOrders = brevo.TestOrdersSend })
	if err := send.Write(context.Background(), []*pipeline.Record{testOrder(t, 20, "tester@example.com")}); err != nil {
		t.Fatal(err)
	}
	if len(sendSrv.Events()) != 1 || len(sendSrv.Orders()) != 1 {
		t.Fatalf("test_orders: send: events %d, orders %d", len(sendSrv.Events()), len(sendSrv.Orders()))
	}
}
