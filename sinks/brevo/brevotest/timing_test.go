package brevotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// An import with ImportTime stays in_process for that long however often
// it is polled, its contacts appear only once it completes, and a bigger
// one (ImportTimePerContact) takes longer.
func TestImportTakesItsTime(t *testing.T) {
	s := New(Options{ImportTime: 300 * time.Millisecond, ImportTimePerContact: 100 * time.Millisecond})
	defer s.Close()
	k := s.APIKey()
	start := time.Now()
	small := call(t, s, k, "POST", "/contacts/import", `{"listIds":[1],"jsonBody":[{"email":"a@example.com"}]}`)
	big := call(t, s, k, "POST", "/contacts/import", `{"listIds":[1],"jsonBody":[{"email":"b@example.com"},{"email":"c@example.com"},{"email":"d@example.com"},{"email":"e@example.com"}]}`)
	for i := 0; i < 3; i++ {
		if p := call(t, s, k, "GET", fmt.Sprintf("/processes/%v", small.body["processId"]), ""); p.body["status"] != "in_process" {
			t.Fatalf("poll %d right after the import: %v", i, p.body)
		}
	}
	if s.Contact("a@example.com") != nil {
		t.Fatal("an import still in_process already shows its contact")
	}
	done := func(id any) time.Duration {
		for time.Since(start) < 5*time.Second {
			if p := call(t, s, k, "GET", fmt.Sprintf("/processes/%v", id), ""); p.body["status"] == "completed" {
				return time.Since(start)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("process %v never completed", id)
		return 0
	}
	tSmall, tBig := done(small.body["processId"]), done(big.body["processId"])
	if tSmall < 400*time.Millisecond || tBig < 700*time.Millisecond || tBig < tSmall+200*time.Millisecond {
		t.Fatalf("1 contact completed after %v (want ≥ 400ms), 4 after %v (want ≥ 700ms)", tSmall, tBig)
	}
	if s.Contact("a@example.com") == nil || s.Contact("e@example.com") == nil || s.ContactCount() != 5 {
		t.Fatalf("completed imports applied %d contacts, want 5", s.ContactCount())
	}
}

// A timed import completes on its own, unpolled, and POSTs its process to
// the notifyUrl it carried: the answer GET /processes/{id} gives.
func TestImportCallsNotifyURL(t *testing.T) {
	got := make(chan map[string]any, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &m) != nil {
			t.Errorf("notify: %s %s %q", r.Method, r.Header.Get("Content-Type"), b)
		}
		got <- m
	}))
	defer recv.Close()
	s := New(Options{ImportTime: 50 * time.Millisecond})
	defer s.Close()
	a := call(t, s, s.APIKey(), "POST", "/contacts/import",
		`{"listIds":[1],"notifyUrl":"`+recv.URL+`/done","jsonBody":[{"email":"a@example.com"},{"email":"bad"}]}`)
	var m map[string]any
	select {
	case m = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("notifyUrl never called")
	}
	if fmt.Sprint(m["id"]) != fmt.Sprint(a.body["processId"]) || m["status"] != "completed" {
		t.Fatalf("notify body %v for process %v", m, a.body["processId"])
	}
	report, _ := m["info"].(map[string]any)["import"].(map[string]any)["invalid_emails"].(string)
	if !strings.HasPrefix(report, "http://127.0.0.1:") {
		t.Fatalf("report URL %q", report)
	}
	if s.Contact("a@example.com") == nil {
		t.Fatal("notified before the contacts were applied")
	}
	waitNotifications(t, s, 1)
	if n := s.Notifications(); n[0].Status != 200 || n[0].URL != recv.URL+"/done" {
		t.Fatalf("notifications = %+v", n)
	}
}

// A notifyUrl off the machine is never called: the failure is recorded.
func TestNotifyCallsLoopbackOnly(t *testing.T) {
	s := New(Options{ImportPolls: 1})
	defer s.Close()
	k := s.APIKey()
	a := call(t, s, k, "POST", "/contacts/import", `{"listIds":[1],"notifyUrl":"https://example.com/hook","jsonBody":[{"email":"a@example.com"}]}`)
	if p := call(t, s, k, "GET", fmt.Sprintf("/processes/%v", a.body["processId"]), ""); p.body["status"] != "completed" {
		t.Fatalf("poll: %v", p.body)
	}
	waitNotifications(t, s, 1)
	if n := s.Notifications(); n[0].Status != 0 || !strings.Contains(n[0].Err, "loopback") {
		t.Fatalf("notifications = %+v", n)
	}
}

func waitNotifications(t *testing.T, s *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(s.Notifications()) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications, want %d", len(s.Notifications()), n)
		}
	}
}

// GroupLimits rate every route of a group together, as Brevo does: the
// contacts routes share 10/s, events have their own 10/s, and the routes
// Brevo's table does not name (GET /processes) share 100/h, each 429 with
// the limit, 0 remaining and the seconds to the window's end.
func TestGroupLimitsLikeBrevo(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Options{Now: clock, GroupLimits: GeneralTier()})
	defer s.Close()
	k := s.APIKey()
	var got []int
	for i := 0; i < 6; i++ {
		got = append(got, call(t, s, k, "GET", "/contacts/attributes", "").status)
		got = append(got, call(t, s, k, "GET", "/contacts/lists/1", "").status)
	}
	if fmt.Sprint(got) != "[200 200 200 200 200 200 200 200 200 200 429 429]" {
		t.Fatalf("two contacts routes, 12 requests in one second: %v", got)
	}
	a := call(t, s, k, "GET", "/contacts/attributes", "")
	if a.status != 429 || a.header.Get("x-sib-ratelimit-limit") != "10" || a.header.Get("x-sib-ratelimit-remaining") != "0" || a.header.Get("x-sib-ratelimit-reset") != "1" {
		t.Fatalf("429: %d %v", a.status, a.header)
	}
	ev := `{"event_name":"e","identifiers":{"ext_id":"1"}}`
	if a := call(t, s, k, "POST", "/events", ev); a.status != 204 || a.header.Get("x-sib-ratelimit-remaining") != "9" {
		t.Fatalf("events have their own budget: %d %v", a.status, a.header)
	}
	if s.MaxGroupRate(GroupContacts) != 13 || s.MaxGroupRate(GroupEvents) != 1 {
		t.Fatalf("busiest second: contacts %d, events %d", s.MaxGroupRate(GroupContacts), s.MaxGroupRate(GroupEvents))
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if a := call(t, s, k, "GET", "/contacts/attributes", ""); a.status != 200 {
		t.Fatalf("next second: %d", a.status)
	}
	for i := 0; i < 100; i++ {
		if a := call(t, s, k, "GET", "/processes/1", ""); a.status == 429 {
			t.Fatalf("poll %d refused under 100/h", i)
		}
	}
	a = call(t, s, k, "GET", "/processes/1", "")
	if a.status != 429 || a.header.Get("x-sib-ratelimit-limit") != "100" || a.header.Get("x-sib-ratelimit-reset") != "3599" {
		t.Fatalf("101st poll in the hour: %d %v", a.status, a.header)
	}
}

func TestRouteGroups(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	want := map[string]string{
		"POST /contacts/import": GroupContacts, "GET /contacts/{identifier}": GroupContacts, "GET /contacts": GroupContacts,
		"POST /events": GroupEvents, "POST /events/batch": GroupEvents, "GET /events": GroupOther,
		"POST /orders/status": GroupOrders, "POST /orders/status/batch": GroupOther,
		"POST /products/batch": GroupOther, "GET /processes/{processId}": GroupOther,
	}
	for route, g := range want {
		if got := RouteGroup(route); got != g {
			t.Errorf("RouteGroup(%q) = %q, want %q", route, got, g)
		}
	}
	for _, r := range s.Routes() {
		if _, ok := want[r]; !ok && RouteGroup(r) == GroupOther && !strings.HasPrefix(r, "POST /categories") {
			t.Errorf("route %q falls in other: add it to this table if Brevo's table says so", r)
		}
	}
}

// SetOutage answers every request with the status until lifted, applying
// nothing.
func TestOutage(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	k := s.APIKey()
	s.SetOutage(503)
	if a := call(t, s, k, "POST", "/contacts", `{"email":"a@example.com"}`); a.status != 503 || s.ContactCount() != 0 {
		t.Fatalf("during the outage: %d, %d contacts", a.status, s.ContactCount())
	}
	s.SetOutage(0)
	if a := call(t, s, k, "POST", "/contacts", `{"email":"a@example.com"}`); a.status != 201 || s.ContactCount() != 1 {
		t.Fatalf("after the outage: %d, %d contacts", a.status, s.ContactCount())
	}
}
