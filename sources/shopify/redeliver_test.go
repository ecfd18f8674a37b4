package shopify_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify"
)

// A rejected webhook's envelope becomes the same delivery signed again
// with its shop's api_secret, under a new webhook id derived from the
// original (also for a replay of a replay), dated by its own trigger
// time; what has no webhook to send is said.
func TestRedelivererRebuildsTheSignedWebhook(t *testing.T) {
	cfg := &shopify.Config{APISecret: "top", Stores: []shopify.Store{{ShopURL: "A.myshopify.com"}, {ShopURL: "b.myshopify.com", APISecret: "bee"}}}
	now := time.Unix(1_800_000_000, 0)
	r := shopify.NewRedeliverer(cfg, now)
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	env := func(mod func(*schemas.Event)) []byte {
		ev := schemas.Event{Schema: schemas.EventSchema, ID: "ev1", Source: shopify.Source, Shop: "b.myshopify.com", Topic: "customers/update",
			APIVersion: "2025-07", OccurredAt: at, Raw: json.RawMessage(`{"id":7}`),
			Headers: map[string]string{shopify.HeaderWebhookID: "w1.replay.1700000000"}}
		mod(&ev)
		b, _ := json.Marshal(ev)
		return b
	}
	d, why := r.Rebuild(env(func(*schemas.Event) {}))
	if why != "" {
		t.Fatal(why)
	}
	h := d.Header
	if err := shopify.VerifyHMAC(d.Body, shopify.HMACHeader(h), shopify.Secrets{Current: "bee"}); err != nil || string(d.Body) != `{"id":7}` {
		t.Errorf("body %s not signed with the shop's secret: %v", d.Body, err)
	}
	if d.Topic != "customers/update" || h.Get(shopify.HeaderShopDomain) != "b.myshopify.com" || h.Get(shopify.HeaderAPIVersion) != "2025-07" ||
		h.Get(shopify.HeaderTriggeredAt) != at.Format(time.RFC3339Nano) || h.Get(shopify.HeaderWebhookID) != fmt.Sprintf("w1.replay.%d", now.Unix()) {
		t.Errorf("headers %v", h)
	}
	if d, _ := r.Rebuild(env(func(ev *schemas.Event) { ev.Shop, ev.Headers = "a.myshopify.com", nil })); shopify.VerifyHMAC(d.Body, shopify.HMACHeader(d.Header), shopify.Secrets{Current: "top"}) != nil ||
		d.Header.Get(shopify.HeaderWebhookID) != fmt.Sprintf("ev1.replay.%d", now.Unix()) {
		t.Errorf("a store inheriting the top-level secret, without a webhook id: %v", d.Header)
	}
	for _, c := range []struct {
		payload []byte
		why     string
	}{
		{[]byte("not json"), "not a tajo event envelope"},
		{env(func(ev *schemas.Event) { ev.Source = shopify.SourceBackfill }), "a backfill or reconcile record has no webhook"},
		{env(func(ev *schemas.Event) { ev.Source = "collector" }), `not a Shopify webhook (source "collector")`},
		{env(func(ev *schemas.Event) { ev.Raw = nil }), "the envelope has no raw webhook body"},
		{env(func(ev *schemas.Event) { ev.Shop = "c.myshopify.com" }), `shop "c.myshopify.com" is not a store of connectors.shopify`},
	} {
		if _, why := r.Rebuild(c.payload); !strings.HasPrefix(why, c.why) {
			t.Errorf("skip reason %q, want %q", why, c.why)
		}
	}
}

// The connector declares one connection check per store, and of what
// TestConnection saw the history keeps those checks.
func TestChecksPerStore(t *testing.T) {
	cfg := &shopify.Config{Stores: []shopify.Store{{ShopURL: "a.myshopify.com"}, {ShopURL: "B.myshopify.com"}}}
	var got []string
	cfg.EachCheck(func(service, shop string) { got = append(got, service+" "+shop) })
	if fmt.Sprint(got) != "[shopify a.myshopify.com shopify b.myshopify.com]" {
		t.Errorf("declared checks %v", got)
	}
	at := time.Now().UTC()
	rec := shopify.HistoryChecks([]shopify.Check{
		{Shop: "a.myshopify.com", Name: "API connection successful", OK: true, Detail: "2026-10"},
		{Shop: "a.myshopify.com", Name: "API version supported", OK: true},
		{Shop: "b.myshopify.com", Name: "API connection successful", Detail: "401"},
	}, at)
	if len(rec) != 2 || !rec[0].OK || rec[1].OK || rec[1].Shop != "b.myshopify.com" || rec[0].Service != "shopify" ||
		rec[1].Detail != "tajo connectors test: 401" || !rec[0].Time.Equal(at) {
		t.Errorf("history checks %+v", rec)
	}
}
