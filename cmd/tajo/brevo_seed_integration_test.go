//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// TestBrevoSeedSettingsEndToEnd runs the real binary with the seed's
// connector settings (lists per store, sync.products) and signed webhooks,
// and reads the effects back from the Brevo simulator: each store's
// contacts in its own lists, the buyer in its store's buyers list, the
// product's tags as categories and its variants as products with
// parentId, and the refund of a known order as order_refunded.
func TestBrevoSeedSettingsEndToEnd(t *testing.T) {
	const (
		secret = "seed-secret"
		shopA  = "store-a.myshopify.com"
		shopB  = "store-b.myshopify.com"
	)
	srv := brevotest.New(brevotest.Options{Lenient: true, Lists: map[int64]string{
		5: "A all", 6: "A buyers", 7: "A carts", 15: "B all", 16: "B buyers", 17: "B carts"}})
	t.Cleanup(srv.Close)
	t.Setenv("BREVO_API_KEY", srv.APIKey())

	dir := t.TempDir()
	r := newShopifyRun(t, dir)
	cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: %q}
control: {listen: ""}
log: {level: info}
broker: {partitions: 2, embedded: {listen: %q}}
pipeline: {progress_interval: 1s, commit_interval: 200ms, retry: {initial: 50ms, max: 1s}}
connectors:
  shopify:
    enabled: true
    api_secret: %s
    lists: {all_customers: 5, buyers: 6, abandoned_cart: 7}
    stores:
      - {shop_url: %s}
      - {shop_url: %s, lists: {all_customers: 15, buyers: 16, abandoned_cart: 17}}
    sync:
      backfill: false
      reconcile_every: 0
      products: {enabled: true, include_variants: true, include_images: true, categories_as_tags: true}
sinks:
  brevo:
    api_key: ${BREVO_API_KEY}
    base_url: %s
    import_poll_interval: 50ms
`, dir, r.http, r.kafka, secret, shopA, shopB, srv.URL())
	path := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start(path)

	send := func(shop, topic string, body []byte) {
		t.Helper()
		code, err := postWebhook(r.webhookURL(), body, signedHeaders(shop, topic, fmt.Sprintf("seed-%s-%s", shop, topic), secret, body))
		if err != nil || code != 200 {
			t.Fatalf("%s %s: %d %v\n%s", shop, topic, code, err, r.logTail())
		}
	}
	send(shopA, "customers/create", webhookFixture(t, "customers-create.json", nil))
	// Shopify's sample order is a test order, which sends nothing.
	real := func(m map[string]any) { m["test"] = false }
	send(shopB, "orders/create", webhookFixture(t, "orders-create.json", real))
	product := webhookFixture(t, "products-create.json", nil)
	var pid struct {
		ID json.Number `json:"id"`
	}
	json.Unmarshal(product, &pid)
	send(shopA, "products/create", product)
	waitFor(t, "the contacts, the order and the product in Brevo", r.logPath, 60*time.Second, func() bool {
		return srv.Contact("bob@biller.com") != nil && len(srv.Orders()) > 0 && len(srv.Products()) >= 3
	})
	send(shopB, "refunds/create", webhookFixture(t, "refunds-create.json", nil))

	if got := srv.Contact("bob@biller.com").ListIDs; !slices.Equal(got, []int64{5}) {
		t.Errorf("store A's new customer is in lists %v, want [5]", got)
	}
	buyer := srv.Contact(srv.Orders()[0].Identifiers["email_id"])
	if buyer == nil || !slices.Equal(buyer.ListIDs, []int64{15, 16}) {
		t.Errorf("store B's buyer = %+v, want in lists [15 16]", buyer)
	}
	var children int
	for _, p := range srv.Products() {
		if p.ParentID != "" {
			children++
			if p.ParentID != pid.ID.String() {
				t.Errorf("variant %s has parentId %q, want the product %s", p.ID, p.ParentID, pid.ID)
			}
		} else if !slices.Equal(p.Categories, []string{"tag-example", "tag-mens", "tag-t-shirt"}) {
			t.Errorf("product %s categories %v, want its tags", p.ID, p.Categories)
		}
	}
	if children != 2 {
		t.Errorf("%d variants as products, want 2: %+v", children, srv.Products())
	}
	waitFor(t, "order_refunded", r.logPath, 30*time.Second, func() bool {
		for _, e := range srv.Events() {
			if e.Name == "order_refunded" {
				return e.Identifiers["email_id"] == buyer.Email
			}
		}
		return false
	})
}
