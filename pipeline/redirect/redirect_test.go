package redirect

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A request carrying the credential stops at a redirect to another host
// and the other host never sees it; a request without it follows, and a
// redirect on the same host keeps the credential.
func TestKeepHome(t *testing.T) {
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("api-key"))
	}))
	defer other.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, "/done", http.StatusFound)
		case "/done":
			w.Write([]byte(r.Header.Get("api-key")))
		}
	}))
	defer home.Close()
	c := KeepHome(home.Client(), "api-key", "the api-key")

	req, _ := http.NewRequest(http.MethodGet, home.URL+"/away", nil)
	req.Header.Set("api-key", "secret")
	_, err := c.Do(req)
	var re *Error
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "with the api-key") || len(seen) != 0 {
		t.Fatalf("redirect with the credential: err %v, other host saw %q", err, seen)
	}

	req, _ = http.NewRequest(http.MethodGet, home.URL+"/away", nil)
	if resp, err := c.Do(req); err != nil || len(seen) != 1 || seen[0] != "" {
		t.Fatalf("redirect without the credential: %v, other host saw %q", err, seen)
	} else {
		resp.Body.Close()
	}

	req, _ = http.NewRequest(http.MethodGet, home.URL+"/here", nil)
	req.Header.Set("api-key", "secret")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "secret" {
		t.Fatalf("same-host redirect lost the credential: %q", b)
	}
}
