package brevo_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

var _ pipeline.StatusReporter = (*brevo.Sink)(nil)

// The sink's /status section during a flood against Brevo's contacts
// limit (5/s here) and imports that take time: the figures move while it
// runs (requests per second, requests waiting for a slot, contacts
// waiting, an import in flight), never show more than the sink's share of
// the limit in a second, report the limit the simulator announced in
// x-sib-ratelimit-* and the window that follows from it,
// and at the end count exactly the requests and polls the simulator saw.
func TestStatusDuringFlood(t *testing.T) {
	const limit = 5
	window := int(limit * brevo.DefaultRateShare) // the sink's share of it
	srv := newSim(t, brevotest.Options{ImportTime: 800 * time.Millisecond,
		GroupLimits: map[string][]brevotest.Limit{brevotest.GroupContacts: {{Requests: limit, Per: time.Second}}}})
	s := newSink(t, srv, func(c *brevo.SinkConfig) {
		c.Concurrency.Max = 8
		c.ImportPollInterval = 200 * time.Millisecond // a few polls per import, of 60 an hour
		c.Import.InFlight, c.Import.PollsPerHour = 2, 60
	})
	status := func() brevo.Status { return s.Status().(brevo.Status) }

	// Phone-only customers go alone (no email to import them by): they
	// wait in the transport for a slot. Customers with an email wait
	// for an import, and those that come while it runs wait in the queue.
	var phones, first, later []*pipeline.Record
	for i := range 12 {
		phone := fmt.Sprintf("+336120000%02d", i)
		phones = append(phones, envelope(t, schemas.TypeCustomerCreated, schemas.KindCustomer, fmt.Sprint(9000+i),
			map[string]any{"id": 9000 + i, "phone": phone}, func(e *schemas.Event) {
				e.Identifiers = &schemas.Identifiers{ExtID: fmt.Sprint(9000 + i), Phone: phone}
				e.Attributes = json.RawMessage(fmt.Sprintf(`{"SMS":%q}`, phone))
			}))
	}
	for i := range 100 {
		first = append(first, customer(t, i+1, fmt.Sprintf("st.%d@example.com", i), "S", nil))
	}
	for i := range 30 {
		later = append(later, customer(t, 1000+i, fmt.Sprintf("st.late.%d@example.com", i), "L", nil))
	}
	var wg sync.WaitGroup
	write := func(recs []*pipeline.Record, after time.Duration) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(after)
			if r := writeLikeEngine(t, s, recs); r != 0 {
				t.Errorf("%d rejected", r)
			}
		}()
	}
	write(first, 0)
	write(phones, 0)
	write(later, 300*time.Millisecond)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var maxWaiting, maxQueued, maxImports, maxSecond, maxImporting int
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(20 * time.Millisecond):
		}
		st := status()
		c := st.Groups["contacts"]
		maxWaiting, maxQueued = max(maxWaiting, c.Waiting), max(maxQueued, st.ContactsWaiting)
		maxImports, maxSecond = max(maxImports, st.ImportsInFlight), max(maxSecond, c.LastSecond)
		// Contacts in running imports: each import carries at least
		// import_threshold (20), and all of them together are at most
		// what was written.
		if st.ImportsInFlight > 0 && (st.ContactsImporting < 20*st.ImportsInFlight || st.ContactsImporting > len(first)+len(later)) {
			t.Fatalf("status shows %d imports in flight carrying %d contacts", st.ImportsInFlight, st.ContactsImporting)
		}
		maxImporting = max(maxImporting, st.ContactsImporting)
		if c.LastSecond > window || c.BusiestSecond > window {
			t.Fatalf("status shows %d requests in the last second, %d in the busiest: over the sink's window of %d", c.LastSecond, c.BusiestSecond, window)
		}
		if b := c.Brevo; b != nil && (b.Limit != limit || c.Limit != limit || c.Window != window || b.Remaining < 0 || b.Remaining > limit) {
			t.Fatalf("status shows Brevo's limit %d (remaining %d), %d/s, window %d; the simulator announces %d", b.Limit, b.Remaining, c.Limit, c.Window, limit)
		}
	}
	if t.Failed() {
		return
	}
	if maxWaiting == 0 || maxQueued == 0 || maxImports == 0 || maxSecond == 0 {
		t.Fatalf("during the flood the status never showed requests waiting for a slot (%d), contacts waiting (%d), an import (%d) or a request in the last second (%d)",
			maxWaiting, maxQueued, maxImports, maxSecond)
	}

	st := status()
	contactsRequests := 0
	for route, n := range srv.RequestCounts() {
		if brevotest.RouteGroup(route) == brevotest.GroupContacts {
			contactsRequests += n
		}
	}
	c := st.Groups["contacts"]
	if c.LastMinute != contactsRequests || c.Brevo == nil || c.Waiting != 0 || c.InFlight != 0 {
		t.Fatalf("after the flood: contacts %+v; the simulator saw %d contacts requests", c, contactsRequests)
	}
	if polls := srv.RequestCount("GET /processes/{processId}"); st.PollsLastHour != polls || polls == 0 || st.PollsPerHour != 60 {
		t.Fatalf("polls: status says %d of %d, the simulator saw %d", st.PollsLastHour, st.PollsPerHour, polls)
	}
	if maxImporting == 0 {
		t.Fatal("during the flood the status never showed contacts in an import")
	}
	if st.ContactsWaiting != 0 || st.ContactsSending != 0 || st.ContactsImporting != 0 || st.ImportsInFlight != 0 || st.ImportsMax != 2 {
		t.Fatalf("after the flood: %+v", st)
	}
	body, err := json.Marshal(s.Status())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"contacts":{"requests_last_second":`, `"limit_per_second":5,"window_per_second":4`, `"brevo":{"limit":5,"remaining":`, `"contacts_waiting":0`, `"imports_in_flight":0`, `"polls_last_hour":`} {
		if !strings.Contains(string(body), key) {
			t.Errorf("/status section %s lacks %s", body, key)
		}
	}
	t.Logf("flood: busiest second %d (window %d), at most %d requests waiting for a slot, %d contacts waiting, %d imports in flight; after: %d contacts requests in the last minute (%.2f/s), %d polls",
		c.BusiestSecond, window, maxWaiting, maxQueued, maxImports, c.LastMinute, c.PerSecond, st.PollsLastHour)
}
