package brevotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, s *Server, key, method, path, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("api-key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("%s %s: non-JSON answer %q", method, path, data)
		}
	}
	return a
}

func TestValidation(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	k := s.APIKey()
	call(t, s, k, "POST", "/contacts", `{"email":"x@example.com"}`)
	many := func(n int) string {
		var xs []string
		for i := 0; i < n; i++ {
			xs = append(xs, fmt.Sprintf("%q", fmt.Sprintf("e%d@example.com", i)))
		}
		return "[" + strings.Join(xs, ",") + "]"
	}
	events := func(n int) string {
		var xs []string
		for i := 0; i < n; i++ {
			xs = append(xs, `{"event_name":"e","identifiers":{"ext_id":"1"}}`)
		}
		return `{"events":[` + strings.Join(xs, ",") + `]}`
	}
	products := func(n int) string {
		var xs []string
		for i := 0; i < n; i++ {
			xs = append(xs, fmt.Sprintf(`{"id":"p%d","name":"n"}`, i))
		}
		return `{"products":[` + strings.Join(xs, ",") + `]}`
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		code, msg          string
	}{
		{"POST", "/contacts", `{"email":"bad"}`, 400, "invalid_parameter", "Invalid email address"},
		{"POST", "/contacts", `{"attributes":{"FIRSTNAME":"x"}}`, 400, "missing_parameter", "email"},
		{"POST", "/contacts", `{"email":"x@example.com"}`, 400, "duplicate_parameter", "already exist"},
		{"POST", "/contacts", `{"email":"y@example.com","updateEnable":true}`, 400, "invalid_parameter", "updateEnable"},
		{"POST", "/contacts", `{"email":42}`, 400, "invalid_parameter", "email"},
		{"POST", "/contacts", `{"email":"y@example.com","listIds":[99]}`, 400, "invalid_parameter", "List ID 99"},
		{"POST", "/contacts", `{"email":"y@example.com","attributes":{"GHOST":1}}`, 400, "invalid_parameter", "GHOST"},
		{"POST", "/contacts", `{"email":"y@example.com","attributes":{"SMS":"12ab"}}`, 400, "invalid_parameter", "phone"},
		{"POST", "/contacts", `not json`, 400, "invalid_parameter", "JSON"},
		{"GET", "/contacts/nobody@example.com", ``, 404, "document_not_found", ""},
		{"GET", "/contacts/x?identifierType=bogus", ``, 400, "invalid_parameter", "identifierType"},
		{"PUT", "/contacts/x@example.com", `{"attributes":{"EMAIL":"nope"}}`, 400, "invalid_parameter", "Invalid email"},
		{"POST", "/contacts/lists/1/contacts/add", `{"emails":` + many(151) + `}`, 400, "out_of_range", "150"},
		{"POST", "/contacts/lists/1/contacts/add", `{}`, 400, "missing_parameter", ""},
		{"POST", "/contacts/lists/42/contacts/add", `{"emails":["x@example.com"]}`, 404, "document_not_found", ""},
		{"POST", "/contacts/attributes/weird/NAME", `{"type":"text"}`, 400, "invalid_parameter", "attributeCategory"},
		{"POST", "/contacts/attributes/normal/NAME", `{}`, 400, "missing_parameter", "type"},
		{"POST", "/contacts/import", `{"jsonBody":[{"email":"a@example.com"}]}`, 400, "missing_parameter", "listIds"},
		{"GET", "/processes/12345", ``, 404, "invalid_parameter", "processId"},
		{"POST", "/events", `{"identifiers":{"ext_id":"1"}}`, 400, "invalid_parameter", "event_name"},
		{"POST", "/events", `{"event_name":"a b","identifiers":{"ext_id":"1"}}`, 400, "invalid_parameter", "event_name"},
		{"POST", "/events", `{"event_name":"ok","identifiers":{}}`, 400, "invalid_parameter", "identifier"},
		{"POST", "/events", `{"event_name":"ok","identifiers":{"ext_id":"1"},"event_date":"yesterday"}`, 400, "invalid_parameter", "event_date"},
		{"POST", "/events", `{"event_name":"ok","identifiers":{"ext_id":"1"},"event_properties":{"b":"` + strings.Repeat("x", 50_001) + `"}}`, 400, "invalid_parameter", "50KB"},
		{"POST", "/events/batch", events(201), 400, "out_of_range", "200"},
		{"POST", "/events/batch", `{"events":[]}`, 400, "missing_parameter", ""},
		{"POST", "/events/batch", `{"events":[{"event_name":"e","identifiers":{"ext_id":"1"},"event_properties":{"b":"` + strings.Repeat("x", 520_000) + `"}}]}`, 413, "bad_request", "bytes"},
		{"POST", "/products/batch", products(101), 400, "out_of_range", "100"},
		{"POST", "/products/batch", `{"products":[{"id":"a","name":"n"},{"id":"a","name":"n"}]}`, 400, "invalid_parameter", "duplicate"},
		{"POST", "/categories/batch", `{"categories":[{"id":"c"}]}`, 400, "invalid_parameter", "name"},
		{"POST", "/orders/status", `{"id":"1"}`, 400, "invalid_parameter", "createdAt"},
		{"POST", "/orders/status/batch", `{"orders":[]}`, 400, "missing_parameter", ""},
		{"GET", "/nothing/here", ``, 404, "document_not_found", "not simulated"},
	} {
		a := call(t, s, k, tc.method, tc.path, tc.body)
		if a.status != tc.status || a.body["code"] != tc.code || !strings.Contains(fmt.Sprint(a.body["message"]), tc.msg) {
			t.Errorf("%s %s %.60s: got %d %v, want %d %s ~%q", tc.method, tc.path, tc.body, a.status, a.body, tc.status, tc.code, tc.msg)
		}
	}
}

func TestAuthAndHeadersOnEveryResponse(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	a := call(t, s, "wrong", "GET", "/contacts/attributes", "")
	if a.status != 401 || a.body["code"] != "unauthorized" {
		t.Fatalf("wrong key: %d %v", a.status, a.body)
	}
	for _, h := range []string{"x-sib-ratelimit-limit", "x-sib-ratelimit-remaining", "x-sib-ratelimit-reset"} {
		if a.header.Get(h) == "" {
			t.Fatalf("401 lacks %s", h)
		}
	}
	if a := call(t, s, s.APIKey(), "GET", "/contacts/attributes", ""); a.status != 200 || a.header.Get("x-sib-ratelimit-limit") == "" {
		t.Fatalf("good key: %d", a.status)
	}
	s.RevokeKey()
	if a := call(t, s, s.APIKey(), "GET", "/contacts/attributes", ""); a.status != 401 {
		t.Fatalf("revoked key: %d", a.status)
	}
	s.SetKey("new-key")
	if a := call(t, s, "new-key", "GET", "/contacts/attributes", ""); a.status != 200 {
		t.Fatalf("new key: %d", a.status)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Options{Now: clock, RateLimit: Limit{Requests: 5, Per: time.Second},
		EndpointLimits: map[string]Limit{"POST /events": {Requests: 2, Per: time.Hour}}})
	defer s.Close()
	k := s.APIKey()
	var got []int
	for i := 0; i < 7; i++ {
		got = append(got, call(t, s, k, "GET", "/contacts/attributes", "").status)
	}
	if fmt.Sprint(got) != "[200 200 200 200 200 429 429]" {
		t.Fatalf("statuses = %v", got)
	}
	a := call(t, s, k, "GET", "/contacts/attributes", "")
	if a.header.Get("x-sib-ratelimit-remaining") != "0" || a.header.Get("x-sib-ratelimit-reset") != "1" || a.body["code"] != "too_many_requests" {
		t.Fatalf("429 headers: %v %v", a.header, a.body)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	ev := `{"event_name":"e","identifiers":{"ext_id":"1"}}`
	for i, want := range []int{204, 204, 429} {
		if a := call(t, s, k, "POST", "/events", ev); a.status != want {
			t.Fatalf("event %d: %d, want %d", i, a.status, want)
		} else if i == 2 && a.header.Get("x-sib-ratelimit-reset") != "3599" {
			t.Fatalf("hourly reset = %s", a.header.Get("x-sib-ratelimit-reset"))
		}
	}
	if s.MaxRate("") != 8 || s.StatusCount(429) != 4 {
		t.Fatalf("max rate %d, 429s %d", s.MaxRate(""), s.StatusCount(429))
	}
}

func TestFaultsAreDeterministic(t *testing.T) {
	run := func() string {
		s := New(Options{Seed: 7, FaultRate: 0.5})
		defer s.Close()
		var out []int
		for i := 0; i < 20; i++ {
			out = append(out, call(t, s, s.APIKey(), "GET", "/contacts/attributes", "").status)
		}
		return fmt.Sprint(out)
	}
	a, b := run(), run()
	if a != b || !strings.Contains(a, "200") || !strings.Contains(a, "50") {
		t.Fatalf("runs differ or lack a mix: %s / %s", a, b)
	}
}

func TestHangIsCutByClientTimeout(t *testing.T) {
	s := New(Options{HangRate: 1, HangFor: time.Hour})
	defer s.Close()
	c := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest("GET", s.URL()+"/contacts/attributes", nil)
	req.Header.Set("api-key", s.APIKey())
	start := time.Now()
	if _, err := c.Do(req); err == nil {
		t.Fatal("hang answered")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("hang did not end with the client")
	}
}

func TestImportProcessCompletesAfterPolls(t *testing.T) {
	s := New(Options{ImportPolls: 2})
	defer s.Close()
	k := s.APIKey()
	a := call(t, s, k, "POST", "/contacts/import", `{"listIds":[1],"jsonBody":[{"email":"a@example.com","attributes":{"EXT_ID":"9","FIRSTNAME":"A"}},{"email":"bad"}]}`)
	if a.status != 202 {
		t.Fatalf("import: %d %v", a.status, a.body)
	}
	path := fmt.Sprintf("/processes/%v", a.body["processId"])
	if p := call(t, s, k, "GET", path, ""); p.body["status"] != "in_process" {
		t.Fatalf("first poll: %v", p.body)
	}
	p := call(t, s, k, "GET", path, "")
	if p.body["status"] != "completed" {
		t.Fatalf("second poll: %v", p.body)
	}
	url := p.body["info"].(map[string]any)["import"].(map[string]any)["invalid_emails"].(string)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(data) != "EMAIL\nbad\n" {
		t.Fatalf("report = %q", data)
	}
	if c := s.ContactByExtID("9"); c == nil || c.Email != "a@example.com" || len(c.ListIDs) != 1 {
		t.Fatalf("imported = %+v", c)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New(Options{FaultRate: 0.1, Seed: 1})
	defer s.Close()
	k := s.APIKey()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				email := fmt.Sprintf("g%d-%d@example.com", g, i%5)
				call(t, s, k, "POST", "/contacts", `{"email":"`+email+`","updateEnabled":true,"listIds":[1]}`)
				call(t, s, k, "POST", "/events/batch", `{"events":[{"event_name":"e","identifiers":{"email_id":"`+email+`"}}]}`)
				call(t, s, k, "POST", "/contacts/lists/2/contacts/add", `{"emails":["`+email+`"]}`)
				_ = s.Contacts()
				_ = s.ListMembers(1)
				_ = s.RequestCounts()
			}
		}(g)
	}
	wg.Wait()
	// Injected faults may have refused every attempt for some email.
	if n := len(s.Contacts()); n == 0 || n > 40 {
		t.Fatalf("%d contacts, want 1..40", n)
	}
	if s.RequestCount("POST /contacts") != 160 {
		t.Fatalf("count = %d", s.RequestCount("POST /contacts"))
	}
}
