package shopify_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify"
)

type vector struct {
	ID           string            `json:"id"`
	Secret       string            `json:"secret"`
	RawBody      string            `json:"raw_body"`
	Header       *string           `json:"x_shopify_hmac_sha256"`
	OtherHeaders map[string]string `json:"other_headers"`
	Valid        bool              `json:"expected_valid"`
	Result       struct {
		Reason string `json:"reason"`
	} `json:"expected_result"`
}

func loadVectors(t *testing.T) []vector {
	b, err := os.ReadFile("testdata/hmac-test-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []vector }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Vectors
}

// vectorShop gives each vector's secret a configured store. The
// shopify-app-js vectors name the test host shop1.myshopify.io, which the
// anchored shop rule refuses on purpose; they are sent as
// shop1.myshopify.com so that only the signature and header presence are
// judged, as in those libraries.
func vectorShop(v vector) string {
	switch v.Secret {
	case "test_secret_key":
		return "shop1.myshopify.com"
	case "hush":
		return "go-shopify.myshopify.com"
	}
	return "sqlpage.myshopify.com"
}

// TestHMACVectorsThroughEndpoint posts every vector through the host's
// webhook endpoint to the plugin: a valid signature is never answered 401
// (and is logged valid), an invalid or missing one always is (and is
// logged so). A signed delivery missing a required header is accepted as
// unprocessable (200, on its way to the error history), except one
// without its shop domain: with no app-level secret configured, nothing
// can verify it, and unverifiable is 401.
func TestHMACVectorsThroughEndpoint(t *testing.T) {
	vs := loadVectors(t)
	shops := map[string]string{}
	for _, v := range vs {
		shops[vectorShop(v)] = v.Secret
	}
	h := newHost(t, webhookConfig(shops), hostOpts{})
	for i, v := range vs {
		t.Run(v.ID, func(t *testing.T) {
			hdr := http.Header{}
			hdr.Set(shopify.HeaderTopic, "products/create")
			hdr.Set(shopify.HeaderShopDomain, vectorShop(v))
			hdr.Set(shopify.HeaderAPIVersion, "2026-10")
			hdr.Set(shopify.HeaderWebhookID, fmt.Sprintf("vector-%d", i))
			for k, val := range v.OtherHeaders {
				if k == shopify.HeaderShopDomain && val != "" {
					val = vectorShop(v)
				}
				if k == shopify.HeaderWebhookID && val != "" {
					continue // keep the vector's own id, for the log
				}
				hdr.Set(k, val)
			}
			if v.Header != nil && *v.Header != "" {
				hdr.Set(shopify.HeaderHMAC, *v.Header)
			}
			status, body := post(t, h.url, []byte(v.RawBody), hdr)
			switch {
			case v.Valid && status == http.StatusUnauthorized:
				t.Fatalf("valid vector answered 401 (%s)", body)
			case !v.Valid && v.Result.Reason == "missing_headers" && v.OtherHeaders[shopify.HeaderShopDomain] == "":
				if status != http.StatusUnauthorized {
					t.Fatalf("delivery without a shop answered %d, want 401 (%s)", status, body)
				}
			case !v.Valid && v.Result.Reason == "missing_headers":
				if status != http.StatusOK {
					t.Fatalf("signed delivery missing a header answered %d, want 200 (%s)", status, body)
				}
			case !v.Valid && status != http.StatusUnauthorized:
				t.Fatalf("invalid vector answered %d, want 401 (%s)", status, body)
			}
		})
	}
	// Every authenticated answer is in the webhook log with its verdict;
	// the refused ones are all counted, and sampled into the log (at most
	// 10 a second) under the shop they claim, marked unverified.
	valid, refused := 0, 0
	for _, v := range vs {
		if v.Valid || v.Result.Reason == "missing_headers" && v.OtherHeaders[shopify.HeaderShopDomain] != "" {
			valid++
		} else {
			refused++
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(h.log.all()) < valid+min(refused, 10) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	byID := map[string]string{}
	for _, l := range h.log.all() {
		if l.HMAC == "valid" {
			byID[l.WebhookID] = l.HMAC
			continue
		}
		if l.Status != http.StatusUnauthorized || l.HMAC != "missing" && l.HMAC != "invalid" || l.Shop != "" && !strings.HasPrefix(l.Shop, "unverified:") {
			t.Errorf("refused request logged as %+v", l)
		}
	}
	for i, v := range vs {
		if !v.Valid && (v.Result.Reason != "missing_headers" || v.OtherHeaders[shopify.HeaderShopDomain] == "") {
			continue
		}
		if v.OtherHeaders != nil && v.OtherHeaders[shopify.HeaderWebhookID] == "" {
			continue // logged without a webhook id
		}
		if got := byID[fmt.Sprintf("vector-%d", i)]; got != "valid" {
			t.Errorf("%s: webhook log hmac %q, want valid", v.ID, got)
		}
	}
	if got := h.src.Unauthenticated(); got != int64(refused) {
		t.Errorf("%d requests counted as refused unauthenticated, want %d", got, refused)
	}
}

// TestWebhookAnswers covers each status the ingress owes Shopify.
func TestWebhookAnswers(t *testing.T) {
	const shop, secret = "alpha.myshopify.com", "alpha-secret"
	cfg := webhookConfig(map[string]string{shop: secret})
	cfg.APISecret = "app-secret" // the app-level secret judges unknown shops
	cfg.Stores[0].APISecret = secret
	cfg.Stores[0].PreviousAPISecret = "rotated-out"
	cfg.Sync.Inventory.Enabled = false
	h := newHost(t, cfg, hostOpts{})
	order, err := os.ReadFile("testdata/webhooks/orders-create.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := signed(shop, "orders/create", "w-bad", "not-the-secret", order)
	noSig := signed(shop, "orders/create", "w-nosig", secret, order)
	noSig.Del(shopify.HeaderHMAC)
	noTopic := signed(shop, "orders/create", "w-notopic", secret, order)
	noTopic.Del(shopify.HeaderTopic)
	badShop := signed("alpha.myshopify.com.evil.com", "orders/create", "w-evil", "app-secret", order)
	inventory, _ := os.ReadFile("testdata/webhooks/inventory-levels-update.json")
	cases := []struct {
		name   string
		body   []byte
		hdr    http.Header
		status int
	}{
		{"valid", order, signed(shop, "orders/create", "w-ok", secret, order), 200},
		{"signed with the previous secret", order, signed(shop, "orders/create", "w-prev", "rotated-out", order), 200},
		{"bad signature", order, bad, 401},
		{"missing signature", order, noSig, 401},
		// Authenticated but unprocessable: 200, and an event for the
		// error history (DESIGN.md invariant 7).
		{"unknown shop, app-signed", order, signed("other.myshopify.com", "orders/create", "w-other", "app-secret", order), 200},
		{"unknown shop, bad signature", order, signed("other.myshopify.com", "orders/create", "w-other2", "nope", order), 401},
		{"shop domain not myshopify", order, badShop, 200},
		{"missing topic", order, noTopic, 200},
		{"not JSON", []byte("<xml/>"), signed(shop, "orders/create", "w-xml", secret, []byte("<xml/>")), 400},
		{"wrong shape", []byte(`{"id":"x"}`), signed(shop, "orders/create", "w-shape", secret, []byte(`{"id":"x"}`)), 200},
		{"unsupported topic", []byte(`{}`), signed(shop, "themes/publish", "w-theme", secret, []byte(`{}`)), 200},
		{"topic not synced", inventory, signed(shop, "inventory_levels/update", "w-inv", secret, inventory), 200},
	}
	for _, topic := range []string{"customers/data_request", "customers/redact", "shop/redact"} {
		body, _ := os.ReadFile("testdata/webhooks/" + strings.NewReplacer("/", "-", "_", "-").Replace(topic) + ".json")
		cases = append(cases,
			struct {
				name   string
				body   []byte
				hdr    http.Header
				status int
			}{topic + " bad signature", body, signed(shop, topic, "w-gdpr-bad-"+topic, "wrong", body), 401},
			struct {
				name   string
				body   []byte
				hdr    http.Header
				status int
			}{topic + " valid", body, signed(shop, topic, "w-gdpr-"+topic, secret, body), 200})
	}
	for _, c := range cases {
		if status, body := post(t, h.url, c.body, c.hdr); status != c.status {
			t.Errorf("%s: %d %q, want %d", c.name, status, body, c.status)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, h.url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %d, want 405", resp.StatusCode)
	}
	big := make([]byte, 5<<20+1)
	if status, _ := post(t, h.url, big, signed(shop, "orders/create", "w-big", secret, big)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body answered %d, want 413", status)
	}
	evs := h.waitEvents(10, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if evs = h.events(); len(evs) != 10 {
		t.Fatalf("%d events, want 10 (two orders, 5 unprocessable and the 3 compliance requests)", len(evs))
	}
	if evs[0].Topic != "orders/create" || evs[0].Shop != shop {
		t.Fatalf("event %+v", evs[0])
	}
	unprocessable := map[string]string{} // webhook id → shop
	for _, ev := range evs {
		if ev.Type == schemas.TypeDeliveryUnprocessable {
			unprocessable[ev.Headers["X-Shopify-Webhook-Id"]] = ev.Shop
		}
	}
	want := map[string]string{
		"w-other": "other.myshopify.com", "w-evil": `unverified:"alpha.myshopify.com.evil.com"`,
		"w-notopic": shop, "w-shape": shop, "w-theme": shop,
	}
	if !maps.Equal(unprocessable, want) {
		t.Fatalf("unprocessable deliveries %v, want %v", unprocessable, want)
	}
}

// TestDuplicateDeliveries: ten concurrent copies of one delivery, then a
// late one, produce one event; every copy is answered 200.
func TestDuplicateDeliveries(t *testing.T) {
	const shop, secret = "dup.myshopify.com", "s"
	h := newHost(t, webhookConfig(map[string]string{shop: secret}), hostOpts{})
	body, _ := os.ReadFile("testdata/webhooks/customers-update.json")
	hdr := signed(shop, "customers/update", "same-id", secret, body)
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Go(func() { statuses[i], _ = post(t, h.url, body, hdr) })
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Fatalf("copy %d answered %d", i, s)
		}
	}
	if s, _ := post(t, h.url, body, hdr); s != 200 {
		t.Fatalf("late copy answered %d", s)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(h.events()); n != 1 {
		t.Fatalf("%d events from 11 copies of one delivery, want 1", n)
	}
	// A different delivery of the same update (another subscription) is
	// its own event.
	if s, _ := post(t, h.url, body, signed(shop, "customers/update", "other-id", secret, body)); s != 200 {
		t.Fatal(s)
	}
	h.waitEvents(2, 5*time.Second)
}

// TestRetryAfter503IsNotADuplicate: a delivery whose event could not be
// made durable in time is answered 503 and must not enter the dedupe
// window, or Shopify's retry would be dropped and the event lost.
func TestRetryAfter503IsNotADuplicate(t *testing.T) {
	const shop, secret = "slow.myshopify.com", "s"
	cfg := webhookConfig(map[string]string{shop: secret})
	h := newHost(t, cfg, hostOpts{noReader: true, webhookTimeout: 300 * time.Millisecond})
	body, _ := os.ReadFile("testdata/webhooks/orders-paid.json")
	hdr := signed(shop, "orders/paid", "retried", secret, body)
	if s, _ := post(t, h.url, body, hdr); s != 503 {
		t.Fatalf("unacked delivery answered %d, want 503", s)
	}
	// The engine comes back; the retry must produce (and wait for) its
	// own event rather than be taken for a duplicate.
	done := make(chan struct{})
	ctx, cancel := contextWithCancel()
	defer func() { cancel(); <-done }()
	go func() { defer close(done); h.pump(ctx) }()
	var s int
	for attempt := 0; attempt < 20; attempt++ {
		if s, _ = post(t, h.url, body, hdr); s == 200 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s != 200 {
		t.Fatalf("retry answered %d", s)
	}
	if n := len(h.events()); n < 1 {
		t.Fatal("the retry was answered 200 without its event")
	}
}
