package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tajo/tajo/plugins"
)

// connectors.shopify.log_webhooks logs one line per accepted webhook,
// naming its shop and topic; off (the default), a clean delivery logs
// nothing.
func TestLogWebhooksLogsALinePerWebhook(t *testing.T) {
	const shop, secret = "alpha.myshopify.com", "alpha-secret"
	body, err := os.ReadFile("testdata/webhooks/orders-create.json")
	if err != nil {
		t.Fatal(err)
	}
	lines := func(logWebhooks bool) []string {
		t.Helper()
		p := New()
		var out bytes.Buffer
		p.log.SetOutput(&out)
		cfg := NewConfig().(*Config)
		cfg.Sync.Backfill, cfg.Sync.ReconcileEvery = false, 0
		cfg.Stores = []Store{{ShopURL: shop, APISecret: secret}}
		cfg.StateDir = t.TempDir()
		cfg.LogWebhooks = logWebhooks
		raw, _ := cfg.PluginJSON()
		ctx := context.Background()
		if err := p.Configure(ctx, raw); err != nil {
			t.Fatal(err)
		}
		defer p.Teardown(ctx)
		for _, id := range []string{"w-1", "w-2"} {
			h := http.Header{}
			h.Set(HeaderShopDomain, shop)
			h.Set(HeaderTopic, "orders/create")
			h.Set(HeaderWebhookID, id)
			h.Set(HeaderAPIVersion, "2026-10")
			h.Set(HeaderTriggeredAt, "2026-11-27T11:59:00Z")
			h.Set(HeaderHMAC, Sign(body, secret))
			resp, err := p.HandleWebhook(ctx, plugins.WebhookRequest{Method: http.MethodPost, Path: "/webhooks/shopify", Header: h, Body: body})
			if err != nil || (resp.Status != 0 && resp.Status != http.StatusOK) || len(resp.Records) != 1 {
				t.Fatalf("webhook %s: %+v %v", id, resp, err)
			}
		}
		var got []string
		for _, l := range strings.Split(out.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["@message"] == "webhook" {
				if m["shop"] != shop || m["topic"] != "orders/create" {
					t.Errorf("webhook line without its shop and topic: %s", l)
				}
				got = append(got, l)
			}
		}
		return got
	}
	if got := lines(true); len(got) != 2 {
		t.Errorf("log_webhooks: true: %d webhook lines for 2 webhooks, want 2: %q", len(got), got)
	}
	if got := lines(false); len(got) != 0 {
		t.Errorf("log_webhooks: false: %d webhook lines, want none: %q", len(got), got)
	}
}
