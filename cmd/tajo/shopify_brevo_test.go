package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// The seed's connectors.shopify.lists and stores[].lists are the lists a
// store's contacts reach in Brevo, and sync.products decides the
// products: loaded from YAML, written by the sink built from it, read
// back from the simulator.
func TestSeedListsAndProductsReachTheSink(t *testing.T) {
	for _, c := range []struct {
		name, connector, brevoExtra string
		want                        map[string][]int64 // email → lists
		variants                    bool
	}{
		{"one store, the seed's way", `
    shop_url: "your-store.myshopify.com"
    api_secret: s
    access_token: shpat_x
    lists: {all_customers: 5, buyers: 6, abandoned_cart: 7}
    sync: {backfill: false, products: {enabled: true, include_variants: true, include_images: true, categories_as_tags: true}}`,
			"", map[string][]int64{"a@example.com": {5}, "b@example.com": {5}}, true},
		{"several stores, each its lists", `
    api_secret: s
    access_token: shpat_x
    lists: {all_customers: 5, buyers: 6, abandoned_cart: 7}
    stores:
      - {shop_url: "your-store.myshopify.com", access_token: shpat_a}
      - {shop_url: "Store-B.myshopify.com", access_token: shpat_b, lists: {all_customers: 15, buyers: 16, abandoned_cart: 17}}
    sync: {backfill: false, products: {enabled: true, include_variants: false}}`,
			"", map[string][]int64{"a@example.com": {5}, "b@example.com": {15}}, false},
		{"sinks.brevo.lists overrides", `
    shop_url: "your-store.myshopify.com"
    api_secret: s
    access_token: shpat_x
    lists: {all_customers: 5, buyers: 6, abandoned_cart: 7}
    sync: {backfill: false}`,
			"\n    lists: {all_customers: 40}", map[string][]int64{"a@example.com": {40}, "b@example.com": {40}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := brevotest.New(brevotest.Options{Lists: map[int64]string{5: "all", 6: "buyers", 7: "carts", 15: "B all", 16: "B buyers", 17: "B carts", 40: "override"}})
			defer srv.Close()
			dir := t.TempDir()
			path := filepath.Join(dir, "pipeline.yaml")
			os.WriteFile(path, []byte(`version: 1
data_dir: `+dir+`
connectors:
  shopify:`+c.connector+`
sinks:
  brevo:
    api_key: `+srv.APIKey()+`
    base_url: `+srv.URL()+c.brevoExtra+`
`), 0o600)
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			bc := *cfg.Component("sinks", "brevo").Spec.(*brevo.SinkConfig)
			if bc.Products.IncludeVariants != c.variants {
				t.Fatalf("include_variants reached the sink as %v, want %v", bc.Products.IncludeVariants, c.variants)
			}
			s, err := brevo.NewSink(bc, pipeline.Env{Name: "brevo"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Open(context.Background()); err != nil {
				t.Fatal(err)
			}
			at := time.Now().UTC()
			rec := func(shop, email string) *pipeline.Record {
				b, _ := json.Marshal(schemas.Event{Schema: schemas.EventSchema, ID: schemas.NewID(c.name, email), Source: "shopify",
					Shop: shop, Type: schemas.TypeCustomerUpdated, OccurredAt: at, ReceivedAt: at,
					Entity: schemas.Entity{Kind: schemas.KindCustomer, ID: "1"}, Data: json.RawMessage(`{"id":1}`),
					Identifiers: &schemas.Identifiers{Email: email}})
				return &pipeline.Record{Value: b}
			}
			if err := s.Write(context.Background(), []*pipeline.Record{rec("your-store.myshopify.com", "a@example.com"), rec("store-b.myshopify.com", "b@example.com")}); err != nil {
				t.Fatal(err)
			}
			for email, lists := range c.want {
				got := srv.Contact(email)
				if got == nil || !slices.Equal(got.ListIDs, lists) {
					t.Errorf("%s is in lists %v, want %v", email, got.ListIDs, lists)
				}
			}
		})
	}
}

// With --dev, the simulated Brevo account has the lists the seed's
// connectors.shopify.lists name (not tajo's demo lists 1–3), and the sink
// is not overridden to use others.
func TestDevSimulatesTheConfiguredLists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(path, []byte(`version: 1
data_dir: `+dir+`
connectors:
  shopify:
    lists: {all_customers: 5, buyers: 6, abandoned_cart: 7}
sinks:
  brevo: {api_key: ""}
`), 0o600)
	var errb strings.Builder
	cfg, ok := loadRunConfig(path, true, &errb)
	if !ok {
		t.Fatalf("config with --dev did not load: %s", errb.String())
	}
	bc := cfg.Component("sinks", "brevo").Spec.(*brevo.SinkConfig)
	if got := bc.AllListIDs(); !slices.Equal(got, []int64{5, 6, 7}) {
		t.Fatalf("the sink uses lists %v, want the seed's [5 6 7]", got)
	}
	got := bc.ListNames()
	for _, id := range []int64{5, 6, 7} {
		if got[id] == "" {
			t.Fatalf("the simulated account lacks list %d: %v", id, got)
		}
	}
}
