package brevo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo"
)

// headerRecorder is a second server, on another port (another host for
// the client), that records the headers of every request it gets.
type headerRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newHeaderRecorder(t *testing.T) *headerRecorder {
	r := &headerRecorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Clone())
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *headerRecorder) requests() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.seen...)
}

// TestAPIKeyNeverFollowsARedirectToAnotherHost: Go drops Authorization on
// a cross-host redirect but not Brevo's api-key header. The client refuses
// the redirect with a Fatal error that says what to fix; the other host
// receives nothing.
func TestAPIKeyNeverFollowsARedirectToAnotherHost(t *testing.T) {
	const key = "xkeysib-0123456789abcdef0123456789abcdef-SECRETKEYWXYZ"
	other := newHeaderRecorder(t)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, status)
		}))
		c, err := brevo.New(brevo.Config{APIKey: key, BaseURL: redirector.URL + "/v3"})
		if err != nil {
			t.Fatal(err)
		}
		err = c.SendEvent(context.Background(), brevo.Event{Name: "order_placed", Identifiers: brevo.Identifiers{EmailID: "ann@example.com"}})
		if pipeline.ClassOf(err) != pipeline.Fatal || !strings.Contains(err.Error(), "base_url") {
			t.Errorf("%d: err = %v, want a Fatal error naming base_url", status, err)
		}
		if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("%d: the error carries the key: %v", status, err)
		}
		_, err = c.GetContact(context.Background(), "ann@example.com", brevo.ByEmail)
		if pipeline.ClassOf(err) != pipeline.Fatal {
			t.Errorf("%d: GET: err = %v, want Fatal", status, err)
		}
		redirector.Close()
	}
	for _, h := range other.requests() {
		if h.Get("api-key") != "" {
			t.Fatalf("the api-key reached another host: %v", h)
		}
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("%d requests reached the other host (with the customer's data in the body)", n)
	}
}
