package brevotest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// GET /events filters by name, contact and event_date range, newest first,
// paged by limit and offset, with the total in count; bad parameters are
// 400 as Brevo answers them.
func TestListEventsFiltersAndPages(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	k := s.APIKey()
	if a := call(t, s, k, "POST", "/contacts", `{"email":"ann@example.com"}`); a.status != 201 {
		t.Fatalf("contact: %d", a.status)
	}
	var evs []string
	for i := 0; i < 5; i++ {
		evs = append(evs, fmt.Sprintf(`{"event_name":"order_placed","event_date":"2026-11-01T10:00:0%dZ","identifiers":{"email_id":"ann@example.com"},"event_properties":{"event_id":"e%d"}}`, i, i))
	}
	evs = append(evs, `{"event_name":"cart_updated","event_date":"2026-11-01T10:00:02Z","identifiers":{"email_id":"bob@example.com"}}`)
	if a := call(t, s, k, "POST", "/events/batch", `{"events":[`+strings.Join(evs, ",")+`]}`); a.status != 202 {
		t.Fatalf("batch: %d %v", a.status, a.body)
	}
	a := call(t, s, k, "GET", "/events?event_name=order_placed&startDate=2026-11-01T10:00:01Z&endDate=2026-11-01T10:00:03Z&limit=2", "")
	if a.status != 200 || a.body["count"] != float64(3) {
		t.Fatalf("filtered: %d %v", a.status, a.body)
	}
	page := a.body["events"].([]any)
	if len(page) != 2 || page[0].(map[string]any)["event_properties"].(map[string]any)["event_id"] != "e3" {
		t.Fatalf("first page, newest first: %v", page)
	}
	if page[0].(map[string]any)["contact_id"] == nil {
		t.Errorf("no contact_id on an event of a known contact: %v", page[0])
	}
	a = call(t, s, k, "GET", "/events?event_name=order_placed&startDate=2026-11-01T10:00:01Z&endDate=2026-11-01T10:00:03Z&limit=2&offset=2", "")
	if page := a.body["events"].([]any); len(page) != 1 || page[0].(map[string]any)["event_properties"].(map[string]any)["event_id"] != "e1" {
		t.Fatalf("second page: %v", a.body)
	}
	a = call(t, s, k, "GET", "/events?startDate=2026-11-01&endDate=2026-11-01", "")
	if a.body["count"] != float64(6) {
		t.Fatalf("a date-only range covers the day: %v", a.body)
	}
	id := fmt.Sprint(s.Contact("ann@example.com").ID)
	if a = call(t, s, k, "GET", "/events?startDate=2026-11-01&endDate=2026-11-02&contact_id="+id, ""); a.body["count"] != float64(5) {
		t.Fatalf("by contact: %v", a.body)
	}
	for _, q := range []string{"startDate=2026-11-01", "startDate=2026-11-02&endDate=2026-11-01", "limit=0", "limit=10001", "offset=-1", "startDate=x&endDate=y"} {
		if a := call(t, s, k, "GET", "/events?"+q, ""); a.status != 400 {
			t.Errorf("%s: %d, want 400", q, a.status)
		}
	}
}

// AfterApply runs after the request was applied and before the client
// hears anything: aborting there leaves the event stored and the client
// without an answer.
func TestAfterApplyHoldsTheAnswer(t *testing.T) {
	var s *Server
	s = New(Options{AfterApply: func(route string) {
		if route == "POST /events" {
			if n := len(s.Events()); n != 1 {
				t.Errorf("%d events stored when AfterApply ran, want 1", n)
			}
			panic(http.ErrAbortHandler)
		}
	}})
	defer s.Close()
	req, _ := http.NewRequest("POST", s.URL()+"/events", strings.NewReader(`{"event_name":"x","identifiers":{"ext_id":"1"}}`))
	req.Header.Set("api-key", s.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%d), want the connection dropped", resp.StatusCode)
	}
	if errors.Is(err, http.ErrAbortHandler) {
		t.Fatal(err)
	}
	if len(s.Events()) != 1 {
		t.Fatalf("%d events, want the one applied", len(s.Events()))
	}
}
