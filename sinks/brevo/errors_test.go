package brevo_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

var someEvent = brevo.Event{Name: "order_placed", Identifiers: brevo.Identifiers{EmailID: "e@example.com"}}

func TestWrongKeyIsFatalAndKeyStaysSecret(t *testing.T) {
	const key = "xkeysib-wrong-key-0123456789abcdefWXYZ"
	_, c := newPair(t, brevotest.Options{}, func(cfg *brevo.Config) { cfg.APIKey = key })
	err := c.SendEvent(context.Background(), someEvent)
	wantClass(t, err, pipeline.Fatal, "")
	msg := err.Error()
	if !strings.Contains(msg, "refused the API key") || !strings.Contains(msg, "…WXYZ") {
		t.Fatalf("message does not say the key was refused: %q", msg)
	}
	if strings.Contains(msg, key[:len(key)-4]) {
		t.Fatalf("message leaks the key: %q", msg)
	}
}

func TestRevokedKeyStopsThePipeline(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	if err := c.SendEvent(ctx, someEvent); err != nil {
		t.Fatal(err)
	}
	srv.RevokeKey()
	wantClass(t, c.SendEvent(ctx, someEvent), pipeline.Fatal, "")
	_, err := c.UpsertContact(ctx, brevo.Contact{Email: "a@example.com"})
	wantClass(t, err, pipeline.Fatal, "")
}

func TestAccountWideCodesAreFatal(t *testing.T) {
	for _, code := range []string{"not_enough_credits", "account_under_validation", "permission_denied"} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"code":"` + code + `","message":"no"}`))
		}))
		c, _ := brevo.New(brevo.Config{APIKey: "k", BaseURL: hs.URL})
		wantClass(t, c.SendEvent(context.Background(), someEvent), pipeline.Fatal, "")
		hs.Close()
	}
}

func TestEchoedKeyIsScrubbed(t *testing.T) {
	const key = "xkeysib-secret-abcdefghijklmnop"
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":"invalid_parameter","message":"bad key ` + r.Header.Get("api-key") + `"}`))
	}))
	defer hs.Close()
	c, _ := brevo.New(brevo.Config{APIKey: key, BaseURL: hs.URL})
	err := c.SendEvent(context.Background(), someEvent)
	wantClass(t, err, pipeline.Rejected, "invalid_parameter")
	if strings.Contains(err.Error(), key) {
		t.Fatalf("key echoed into error: %v", err)
	}
}

func TestRateLimitedIsRetryableWithBrevosWait(t *testing.T) {
	_, c := newPair(t, brevotest.Options{EndpointLimits: map[string]brevotest.Limit{
		"POST /events": {Requests: 1, Per: 10 * time.Second},
	}})
	ctx := context.Background()
	if err := c.SendEvent(ctx, someEvent); err != nil {
		t.Fatal(err)
	}
	rl := c.LastRateLimit()
	if rl.Limit != 1 || rl.Remaining != 0 || rl.Route != "POST /events" {
		t.Fatalf("rate limit after first call = %+v", rl)
	}
	err := c.SendEvent(ctx, someEvent)
	wantClass(t, err, pipeline.Retryable, "")
	d, ok := brevo.RetryAfter(err)
	if !ok || d < 9*time.Second || d > 10*time.Second {
		t.Fatalf("RetryAfter = %v, %v; want ≈10s", d, ok)
	}
	if _, ok := c.RateLimits()["POST /events"]; !ok {
		t.Fatal("no per-route rate limit recorded")
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	for _, status := range []int{500, 502, 503} {
		srv.FailNext(1, status)
		wantClass(t, c.SendEvent(context.Background(), someEvent), pipeline.Retryable, "")
	}
	if err := c.SendEvent(context.Background(), someEvent); err != nil {
		t.Fatalf("after faults: %v", err)
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	_, c := newPair(t, brevotest.Options{Latency: 300 * time.Millisecond}, func(cfg *brevo.Config) { cfg.Timeout = 50 * time.Millisecond })
	wantClass(t, c.SendEvent(context.Background(), someEvent), pipeline.Retryable, "")

	_, c = newPair(t, brevotest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	wantClass(t, c.SendEvent(ctx, someEvent), pipeline.Retryable, "")
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	c, err := brevo.New(brevo.Config{APIKey: "k", BaseURL: url, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = c.SendEvent(context.Background(), someEvent)
	wantClass(t, err, pipeline.Retryable, "")
}

func TestEveryResponseUpdatesRateLimit(t *testing.T) {
	_, c := newPair(t, brevotest.Options{RateLimit: brevotest.Limit{Requests: 100, Per: time.Second}})
	_, _ = c.GetContact(context.Background(), "none@example.com", brevo.ByEmail) // a 404 still carries headers
	rl := c.LastRateLimit()
	if rl.Limit != 100 || rl.Remaining != 99 || rl.Reset <= 0 {
		t.Fatalf("rate limit = %+v", rl)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	if _, err := brevo.New(brevo.Config{}); err == nil {
		t.Fatal("empty key accepted")
	}
	if _, err := brevo.New(brevo.Config{APIKey: "k", BaseURL: "api.brevo.com/v3"}); err == nil {
		t.Fatal("relative base url accepted")
	}
	cfg := brevo.Config{APIKey: "xkeysib-0123456789-SECRET-abcd"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, cfg); strings.Contains(s, "SECRET") || !strings.Contains(s, "…abcd") {
			t.Fatalf("%s prints %q", f, s)
		}
	}
	c, err := brevo.New(brevo.Config{APIKey: "short"})
	if err != nil || c.KeyHint() != "****" {
		t.Fatalf("short key hint = %q, %v", c.KeyHint(), err)
	}
}
