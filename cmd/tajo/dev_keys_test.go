package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sources/shopify"
)

// devSimulators builds the simulators a configuration's dev section
// describes (dev.simulate: always), as tajo run does.
func devSimulators(t *testing.T, dev string) (*simulators, *config.Config) {
	t.Helper()
	cfg, err := config.Parse([]byte("version: 1\ndata_dir: "+t.TempDir()+"\ndev: "+dev+"\nconnectors: {shopify: {}}\nsinks: {brevo: {}}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := startSimulators(cfg, log)
	if err != nil || s == nil {
		t.Fatalf("simulators: %v %v", s, err)
	}
	t.Cleanup(s.Close)
	return s, cfg
}

// dev.shopify.checkouts is the size of the simulated store's abandoned
// checkouts, as its Admin API lists them to the connector.
func TestDevShopifyCheckoutsSizeTheSimulatedStore(t *testing.T) {
	_, cfg := devSimulators(t, "{simulate: always, shopify: {checkouts: 7}}")
	sc := cfg.Component("connectors", "shopify").Spec.(*shopify.Config)
	q := `{"query":"query($first: Int!) { abandonedCheckouts(first: $first) { nodes { id } pageInfo { hasNextPage endCursor } } }","variables":{"first":250}}`
	req, _ := http.NewRequest(http.MethodPost, sc.AdminURL+"/admin/api/2026-10/graphql.json", strings.NewReader(q))
	req.Header.Set("X-Shopify-Access-Token", sc.AccessToken.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Data struct {
			AbandonedCheckouts struct {
				Nodes    []struct{ ID string }
				PageInfo struct{ HasNextPage bool }
			}
		}
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if c := page.Data.AbandonedCheckouts; len(c.Nodes) != 7 || c.PageInfo.HasNextPage {
		t.Fatalf("the simulated store lists %d abandoned checkouts (more: %v), want dev.shopify.checkouts 7: %s", len(c.Nodes), c.PageInfo.HasNextPage, body)
	}
}

// dev.shopify.webhook_rate paces the simulated store's signed webhooks:
// at 50/s ten arrive within 2s (at the default 2/s they would take 5s),
// and never faster than the rate; at 0 none is sent.
func TestDevShopifyWebhookRatePacesTheWebhooks(t *testing.T) {
	var got atomic.Int64
	var first, tenth atomic.Int64
	tajo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/webhooks/shopify" || r.Header.Get("X-Shopify-Hmac-Sha256") == "" {
			t.Errorf("not a signed webhook: %s %v", r.URL.Path, r.Header)
		}
		switch got.Add(1) {
		case 1:
			first.Store(time.Now().UnixNano())
		case 10:
			tenth.Store(time.Now().UnixNano())
		}
	}))
	defer tajo.Close()
	addr := strings.TrimPrefix(tajo.URL, "http://")

	s, _ := devSimulators(t, "{simulate: always, shopify: {webhook_rate: 50}}")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.sendWebhooks(ctx, func() string { return addr }) }()
	start := time.Now()
	for got.Load() < 10 && time.Since(start) < 10*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got.Load() < 10 {
		t.Fatalf("%d webhooks in 10s at webhook_rate 50", got.Load())
	}
	// From the first webhook: 200ms at 50/s; 4.5s at the default 2/s.
	if d := time.Duration(tenth.Load() - first.Load()); d > 2*time.Second || d < 9*time.Second/50/2 {
		t.Errorf("webhooks 1 to 10 took %s at webhook_rate 50, want about 180ms (9 intervals of 20ms)", d)
	}

	s, _ = devSimulators(t, "{simulate: always, shopify: {webhook_rate: 0}}")
	returned := make(chan struct{})
	go func() { s.sendWebhooks(context.Background(), func() string { return addr }); close(returned) }()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("webhook_rate 0 still sends webhooks")
	}
}

// dev.brevo.rate_limit is the simulated account's requests per second:
// at 3/s, 8 requests at once get 429s (at the default 10/s none would).
func TestDevBrevoRateLimitLimitsTheSimulatedAccount(t *testing.T) {
	_, cfg := devSimulators(t, "{simulate: always, brevo: {rate_limit: 3}}")
	bc := cfg.Component("sinks", "brevo").Spec.(*brevo.SinkConfig)
	limited := 0
	for range 8 {
		req, _ := http.NewRequest(http.MethodGet, bc.BaseURL+"/account", nil)
		req.Header.Set("api-key", bc.APIKey.Reveal())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < 2 {
		t.Fatalf("%d of 8 requests answered 429 with dev.brevo.rate_limit 3, want at least 2", limited)
	}
}
