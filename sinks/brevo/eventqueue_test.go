package brevo_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// cartUpdated is a cart event with a known buyer: an event and nothing
// else, so no contact lock orders two Writes of it.
func cartUpdated(t *testing.T, token, email string) *pipeline.Record {
	return envelope(t, schemas.TypeCartUpdated, schemas.KindCart, token, map[string]any{"id": token, "token": token},
		func(e *schemas.Event) { e.Identifiers = &schemas.Identifiers{Email: email} })
}

// eventRequestSizes groups what the simulator received into requests: a
// batch's events share their arrival time.
func eventRequestSizes(srv *brevotest.Server) []int {
	by := map[string]int{}
	for _, e := range srv.Events() {
		by[fmt.Sprint(e.Batch, e.Received.UnixNano())]++
	}
	var out []int
	for _, n := range by {
		out = append(out, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

// Many small engine batches (10 records, 40 in flight) against Brevo's
// general tier (10 requests/s on events): the events of many batches
// leave together, and each reaches Brevo once. New customers and orders
// come as fast as their contacts are written (the contacts group, not the
// events group, is the bottleneck), so their events go as soon as they
// arrive, a few batches' worth at a time: far fewer requests than
// batches. Events alone (carts) come faster than small requests within
// the rate could carry them: they gather into requests of about 200.
func TestEventsOfManyBatchesShareRequests(t *testing.T) {
	const n, batch = 2000, 10
	for _, tc := range []struct {
		name string
		rec  func(t *testing.T, i int) *pipeline.Record
		// most: at least 3/4 of the events in requests of 150 or more.
		most bool
	}{
		{"customers and orders", func(t *testing.T, i int) *pipeline.Record {
			email := fmt.Sprintf("q.%d@example.com", i)
			if i >= n/2 && i < n/2+2*batch {
				return envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, fmt.Sprint(i), order(i, email, i+1), nil)
			}
			return customer(t, i+1, email, "Q", func(e *schemas.Event) { e.Type = schemas.TypeCustomerCreated })
		}, false},
		{"carts", func(t *testing.T, i int) *pipeline.Record {
			return cartUpdated(t, fmt.Sprint("cart-", i), fmt.Sprintf("c.%d@example.com", i))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The hourly budget of "all other endpoints" (the import polls)
			// is the import tests' business.
			limits := brevotest.GeneralTier()
			delete(limits, brevotest.GroupOther)
			srv := newSim(t, brevotest.Options{GroupLimits: limits})
			recs := make([]*pipeline.Record, n)
			for i := range recs {
				recs[i] = tc.rec(t, i)
			}
			start := time.Now()
			stop := runEngine(t, srv, lines(t, recs), batch, "    ecommerce: {enabled: false}\n    import: {polls_per_hour: 0}\n")
			waitUntil(t, "every event in Brevo", 2*time.Minute, func() bool { return len(srv.Events()) >= n })
			took := time.Since(start)
			stop() // every Write is over: a duplicate would be in Brevo now
			got := eventsByID(srv)
			for k, c := range got {
				if c != 1 {
					t.Errorf("%s reached Brevo %d times", k, c)
				}
			}
			if len(got) != n {
				t.Fatalf("%d distinct events, want %d", len(got), n)
			}
			reqs := srv.RequestCount("POST /events") + srv.RequestCount("POST /events/batch")
			sizes := eventRequestSizes(srv)
			big := 0
			for _, s := range sizes {
				if s >= 150 {
					big += s
				}
			}
			t.Logf("%d events in %d batches of %d: %d event requests (%.0f events each; sizes %v), %s, max %d event requests in a second, %d answered 429",
				n, n/batch, batch, reqs, float64(n)/float64(reqs), sizes, took.Round(time.Millisecond), srv.MaxGroupRate(brevotest.GroupEvents), srv.StatusCount(429))
			if reqs > n/batch/4 {
				t.Errorf("%d event requests for %d batches: want the batches' events gathered (at most %d requests)", reqs, n/batch, n/batch/4)
			}
			if tc.most && big < n*3/4 {
				t.Errorf("%d of %d events went in requests of 150 or more (sizes %v): want most near 200", big, n, sizes)
			}
			if m := srv.MaxGroupRate(brevotest.GroupEvents); m > 10 || srv.StatusCount(429) > 0 {
				t.Errorf("%d event requests in one second, %d answered 429: over Brevo's 10/s", m, srv.StatusCount(429))
			}
		})
	}
}

// The same event in two Writes at once (a webhook delivered twice, a
// cart updated in two batches): the second, arriving while the first's
// request is in flight, neither sends it again nor finds it in doubt: it
// shares the outcome, and both Writes succeed.
func TestSameEventInTwoWritesGoesOnce(t *testing.T) {
	srv, arrived, release := holdFirstEventRequest(t)
	st := openState(t)
	s := newSinkOn(t, srv, st)
	cart := cartUpdated(t, "tok-1", "twice@example.com")
	other := cartUpdated(t, "tok-2", "other@example.com")
	ctx := context.Background()
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { errA <- s.Write(ctx, []*pipeline.Record{cart}) }()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first Write's event request never arrived")
	}
	go func() { errB <- s.Write(ctx, []*pipeline.Record{other, cart}) }()
	waitUntil(t, "the second Write waiting for the first's event", 10*time.Second, func() bool { return brevo.SharedEvents(s) == 1 })
	close(release)
	for name, ch := range map[string]chan error{"first": errA, "second": errB} {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("the %s Write: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s Write never returned", name)
		}
	}
	got := eventsByID(srv)
	for k, c := range got {
		if c != 1 {
			t.Errorf("%s reached Brevo %d times", k, c)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d distinct events, want 2: %v", len(got), got)
	}
	if n := srv.RequestCount("GET /events"); n != 0 {
		t.Errorf("%d reads of Brevo's events: the shared event was taken for one in doubt", n)
	}
	// A third Write of it, once both are over, finds it sent.
	if err := s.Write(ctx, []*pipeline.Record{cart}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Events()); n != 2 {
		t.Fatalf("%d events after a redelivery, want 2", n)
	}
}

// Under light load a lone event goes at once, alone, through POST
// /events: the queue does not hold it back for company.
func TestLoneEventGoesAtOnce(t *testing.T) {
	srv := newSim(t, brevotest.Options{GroupLimits: brevotest.GeneralTier()})
	s := newSink(t, srv)
	for i := 0; i < 3; i++ {
		start := time.Now()
		if err := s.Write(context.Background(), []*pipeline.Record{cartUpdated(t, fmt.Sprint("lone-", i), "lone@example.com")}); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 300*time.Millisecond {
			t.Errorf("lone event %d took %s", i, took)
		}
	}
	if a, b := srv.RequestCount("POST /events"), srv.RequestCount("POST /events/batch"); a != 3 || b != 0 {
		t.Fatalf("%d POST /events and %d /events/batch for 3 lone events, want 3 and 0", a, b)
	}
	if n := len(srv.Events()); n != 3 {
		t.Fatalf("%d events in Brevo, want 3", n)
	}
}

// A sink closed (Ctrl-C past the engine's shutdown_timeout) while an event
// request is in flight waits for its answer and records the event as
// sent: the next run neither sends it again nor has to look it up in
// Brevo as in doubt.
func TestCloseWaitsForAnEventInFlight(t *testing.T) {
	srv, arrived, release := holdFirstEventRequest(t)
	st := openState(t)
	s := newSinkOn(t, srv, st)
	cart := cartUpdated(t, "tok-close", "close@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Write(ctx, []*pipeline.Record{cart}) }()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the event request never arrived")
	}
	cancel() // the engine gives up on the Write
	if err := <-errc; pipeline.ClassOf(err) != pipeline.Retryable {
		t.Fatalf("the cancelled Write: %v, want a retryable error", err)
	}
	closed := make(chan struct{})
	go func() { _ = s.Close(context.Background()); close(closed) }()
	time.AfterFunc(200*time.Millisecond, func() { close(release) })
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close never returned")
	}

	next := newSinkOn(t, srv, st)
	if err := next.Write(context.Background(), []*pipeline.Record{cart}); err != nil {
		t.Fatalf("the redelivered record: %v", err)
	}
	if n := len(srv.Events()); n != 1 {
		t.Fatalf("%d events in Brevo, want the one", n)
	}
	if n := srv.RequestCount("GET /events"); n != 0 {
		t.Fatalf("%d GET /events: the event was left in doubt by Close", n)
	}
}

// holdFirstEventRequest is a simulator whose first event request, once
// it arrived (arrived closes), waits for release to be closed.
func holdFirstEventRequest(t *testing.T) (srv *brevotest.Server, arrived, release chan struct{}) {
	arrived, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv = newSim(t, brevotest.Options{OnRequest: func(route string) {
		if route == "POST /events" || route == "POST /events/batch" {
			first := false
			once.Do(func() { first = true })
			if first {
				close(arrived)
				<-release
			}
		}
	}})
	return srv, arrived, release
}
