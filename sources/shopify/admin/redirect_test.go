package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sources/shopify/admin"
)

// TestTokenNeverFollowsARedirectToAnotherHost: Go drops Authorization on a
// cross-host redirect but not X-Shopify-Access-Token. The client refuses
// the redirect (Fatal, not retried); the other host (another port) gets
// nothing.
func TestTokenNeverFollowsARedirectToAnotherHost(t *testing.T) {
	const token = "shpat_0123456789abcdef_secret"
	var mu sync.Mutex
	var seen []http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		w.Write([]byte(`{"data":{}}`))
	}))
	defer other.Close()
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, status)
		}))
		c, err := admin.New(admin.Config{Shop: "tajo-test.myshopify.com", AccessToken: token, AdminURL: redirector.URL,
			BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, MaxRetries: 2})
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		err = c.Do(context.Background(), `query shop { shop { name } }`, nil, 1, &out)
		if pipeline.ClassOf(err) != pipeline.Fatal || !strings.Contains(err.Error(), "admin_url") || strings.Contains(err.Error(), token) {
			t.Errorf("%d: err = %v, want a Fatal error naming admin_url, without the token", status, err)
		}
		redirector.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range seen {
		if h.Get("X-Shopify-Access-Token") != "" {
			t.Fatalf("the access token reached another host")
		}
	}
	if len(seen) != 0 {
		t.Fatalf("%d requests reached the other host", len(seen))
	}
}
