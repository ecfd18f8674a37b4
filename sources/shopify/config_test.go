package shopify_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sources/shopify"
)

func parse(t *testing.T, section string) (*shopify.Config, error) {
	t.Helper()
	env := map[string]string{"SHOPIFY_API_SECRET": "s3cret", "SHOPIFY_ACCESS_TOKEN": "shpat_x"}
	cfg, err := config.Parse([]byte("version: 1\ndata_dir: /tmp/x\nsinks: {file: false}\nconnectors:\n  shopify:\n"+indent(section)), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if cfg == nil || cfg.Components["connectors"]["shopify"] == nil {
		return nil, err
	}
	return cfg.Components["connectors"]["shopify"].Spec.(*shopify.Config), err
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func problems(err error) []string {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []string
	for _, p := range ce.Problems {
		if strings.HasPrefix(p.Path, "connectors.shopify") {
			out = append(out, p.String())
		}
	}
	return out
}

func TestConfigSeedForms(t *testing.T) {
	c, err := parse(t, `
shop_url: your-store.myshopify.com
api_version: "2026-10"
api_secret: ${SHOPIFY_API_SECRET}
access_token: ${SHOPIFY_ACCESS_TOKEN}
sync: {customers: true, orders: true, products: true, carts: true, inventory: false}
lists: {all_customers: 5, buyers: 6, abandoned_cart: 7}
debug: true
log_level: verbose
log_webhooks: true`)
	if p := problems(err); len(p) > 0 {
		t.Fatal(p)
	}
	st := c.StoreList()
	if len(st) != 1 || st[0].ShopURL != "your-store.myshopify.com" || st[0].APISecret != "s3cret" || st[0].AccessToken != "shpat_x" || st[0].Lists.Buyers != 6 {
		t.Fatalf("stores %+v", st)
	}
	if !c.Sync.Products.Enabled || !c.Sync.Products.IncludeVariants || c.Sync.Inventory.Enabled || c.Sync.ReconcileEvery != 15*time.Minute {
		t.Fatalf("sync %+v", c.Sync)
	}

	c, err = parse(t, `
api_secret: app
admin_url: http://127.0.0.1:8765
stores:
  - {shop_url: One.myshopify.com, access_token: t1, lists: {buyers: 9}}
  - {shop_url: two.myshopify.com, access_token: t2, api_secret: s2, api_version: "2026-07"}
sync:
  reconcile_every: 1h
  products: {enabled: true, include_variants: false, include_images: true, categories_as_tags: true, filter: {status: active, exclude_tags: [hidden, wholesale-only]}}
  inventory: {enabled: true, low_stock_threshold: 10, out_of_stock_events: true}`)
	if p := problems(err); len(p) > 0 {
		t.Fatal(p)
	}
	st = c.StoreList()
	if len(st) != 2 || st[0].ShopURL != "one.myshopify.com" || st[0].APISecret != "app" || st[0].Lists.Buyers != 9 ||
		st[1].APISecret != "s2" || st[1].AdminURL != "http://127.0.0.1:8765" || st[1].Lists.Buyers != 0 {
		t.Fatalf("stores %+v", st)
	}
	ps := c.ProductSettings()
	if ps.IncludeVariants || !ps.CategoriesAsTags || len(ps.Filter.Status) != 1 || ps.Filter.Status[0] != "active" || len(ps.Filter.ExcludeTags) != 2 {
		t.Fatalf("products %+v", ps)
	}
	if !c.Sync.Inventory.Enabled || c.Sync.Inventory.LowStockThreshold != 10 {
		t.Fatalf("inventory %+v", c.Sync.Inventory)
	}
	// The host hands the same value to the plugin as JSON, secrets revealed.
	b, _ := c.PluginJSON()
	var back shopify.Config
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.StoreList(), c.StoreList()) || back.Sync.Products.Filter.Status[0] != "active" {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
}

func TestConfigProblems(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{`{api_secret: s, access_token: t}`, "connectors.shopify.shop_url: is required"},
		{`{shop_url: evil.com/x.myshopify.com, api_secret: s, access_token: t}`, `connectors.shopify.shop_url: "evil.com/x.myshopify.com" is not <name>.myshopify.com`},
		{`{shop_url: a.myshopify.com.evil.com, api_secret: s, access_token: t}`, "is not <name>.myshopify.com"},
		{`{shop_url: a.myshopify.com, access_token: t}`, "connectors.shopify.api_secret: is required to verify webhooks"},
		{`{shop_url: a.myshopify.com, api_secret: s}`, "connectors.shopify.access_token: is required for backfill"},
		{`{shop_url: a.myshopify.com, api_secret: s, access_token: t, api_version: "2024-1"}`, "connectors.shopify.api_version"},
		{`{api_secret: s, access_token: t, stores: [{shop_url: a.myshopify.com}, {shop_url: A.myshopify.com}]}`, "connectors.shopify.stores[1].shop_url: listed twice"},
		{`{api_secret: s, access_token: t, stores: [{shop_url: a.myshopify.com, lists: {buyers: -1}}]}`, "connectors.shopify.stores[0].lists.buyers"},
		{`{shop_url: a.myshopify.com, api_secret: s, access_token: t, sync: {products: {filter: {status: [actve]}}}}`, `connectors.shopify.sync.products.filter.status[0]: must be one of active, draft, archived, unlisted (did you mean "active"?)`},
		{`{shop_url: a.myshopify.com, api_secret: s, access_token: t, sync: {products: maybe}}`, "connectors.shopify.sync.products"},
		{`{shop_url: a.myshopify.com, api_secret: s, access_token: t, sync: {reconcile_every: 10s}}`, "connectors.shopify.sync.reconcile_every"},
		{`{shop_url: a.myshopify.com, api_secret: s, access_token: t, sync: {custmers: true}}`, `connectors.shopify.sync.custmers: unknown key (did you mean "customers"?)`},
		{`{shop_url: a.myshopify.com, api_secret: s, access_token: t, log_level: loud}`, "connectors.shopify.log_level"},
		{`{shop_url: a.myshopify.com, api_secret: s, access_token: t, admin_url: "127.0.0.1:1"}`, "connectors.shopify.admin_url"},
		{`{shop_url: a.myshopify.com, api_secret: s, access_token: t, admin_url: "http://proxy.example.com"}`,
			"connectors.shopify.admin_url: must be https: http://proxy.example.com would send the access token and customer data unencrypted"},
		{`{api_secret: s, stores: [{shop_url: a.myshopify.com, access_token: t, admin_url: "http://10.0.0.5:8080"}]}`,
			"connectors.shopify.stores[0].admin_url: must be https"},
	}
	for _, c := range cases {
		_, err := parse(t, c.yaml)
		p := strings.Join(problems(err), "\n")
		if !strings.Contains(p, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.yaml, p, c.want)
		}
	}
	// A disabled connector is not validated.
	if _, err := parse(t, `{enabled: false}`); len(problems(err)) > 0 {
		t.Fatal(problems(err))
	}
}

func TestConfigStringMasksSecrets(t *testing.T) {
	c := shopify.NewConfig().(*shopify.Config)
	c.APISecret, c.PreviousAPISecret, c.AccessToken = "top-secret-1", "top-secret-2", "shpat_secret3"
	c.Stores = []shopify.Store{{ShopURL: "a.myshopify.com", APISecret: "top-secret-4", AccessToken: "shpat_secret5"}}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, *c)} {
		for _, secret := range []string{"top-secret", "shpat_secret"} {
			if strings.Contains(s, secret) {
				t.Fatalf("printed config contains a secret: %s", s)
			}
		}
	}
}
