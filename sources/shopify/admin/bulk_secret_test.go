package admin_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/sources/shopify/admin"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// TestFailedDownloadHidesSignedURL: a bulk result URL is a signed storage
// URL whose query string is a credential valid for days; a failed download
// (connection cut, refused, malformed URL) must not put it in the error
// the backfill logs.
func TestFailedDownloadHidesSignedURL(t *testing.T) {
	const sig = "X-Goog-Signature=deadbeefcafe0123456789"
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer cut.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	store := shopifytest.New(shopifytest.Options{Customers: 1})
	defer store.Close()
	c := newClient(t, store, func(c *admin.Config) {
		c.MaxRetries, c.Timeout = 1, 2*time.Second
	})
	for name, u := range map[string]string{
		"connection cut": cut.URL + "/result.jsonl?" + sig,
		"refused":        refused + "/result.jsonl?" + sig + "#frag",
		"unparseable":    "http://[::1/result.jsonl?" + sig,
	} {
		_, err := c.DownloadBulk(context.Background(), u, admin.KindCustomer, 0, func(string, any, time.Time) error { return nil })
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if strings.Contains(err.Error(), "deadbeef") || strings.Contains(err.Error(), "frag") {
			t.Errorf("%s: error shows the signed URL: %v", name, err)
		}
	}
}
