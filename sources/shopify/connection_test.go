package shopify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sources/shopify"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

func TestTestConnection(t *testing.T) {
	ok := simStore(t, shopifytest.Options{Shop: "ok.myshopify.com", Customers: 3, Orders: 2, Products: 1, Checkouts: 1})
	revoked := simStore(t, shopifytest.Options{Shop: "revoked.myshopify.com", Customers: 1})
	cfg := backfillConfig(ok, revoked)
	cfg.Stores[1].AccessToken = "shpat_wrong"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	checks, err := shopify.TestConnection(ctx, cfg)
	if err == nil {
		t.Fatal("a refused token passed")
	}
	var lines []string
	for _, c := range checks {
		lines = append(lines, c.String())
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{
		"✓ API connection successful (ok.myshopify.com: API 2026-10)",
		"✓ Webhooks verifiable (ok.myshopify.com",
		"✓ Products accessible (ok.myshopify.com: product ",
		"✓ Customers readable (ok.myshopify.com: customer ",
		"✓ Orders readable (ok.myshopify.com: order ",
		"✓ Abandoned checkouts readable (ok.myshopify.com: checkout ",
		"✗ API connection successful (revoked.myshopify.com): ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "shpat_") || strings.Contains(out, "simulator-secret") {
		t.Fatalf("a secret in the output:\n%s", out)
	}
}

// connectors.shopify.api_key (the app's client id) is checked against the
// app the access token belongs to: ✓ when it is that app's, ✗ with the fix
// when the token is another app's, skipped with a note without api_key or
// for a store with its own api_secret (another app). A skipped check
// fails nothing.
func TestTestConnectionChecksTheTokensApp(t *testing.T) {
	st := simStore(t, shopifytest.Options{Shop: "seed.myshopify.com", APIKey: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Customers: 1, Orders: 1, Products: 1, Checkouts: 1})
	o := st.Options()
	test := func(apiKey string, edit func(*shopify.Config)) (string, error) {
		t.Helper()
		cfg := shopify.NewConfig().(*shopify.Config)
		cfg.ShopURL, cfg.AccessToken, cfg.APISecret, cfg.AdminURL, cfg.APIKey = o.Shop, config.Secret(o.AccessToken), config.Secret(o.Secret), st.URL(), apiKey
		if edit != nil {
			edit(cfg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		checks, err := shopify.TestConnection(ctx, cfg)
		var lines []string
		for _, c := range checks {
			lines = append(lines, c.String())
		}
		return strings.Join(lines, "\n"), err
	}
	out, err := test(o.APIKey, nil)
	if want := "✓ Token of the app api_key names (seed.myshopify.com: api_key 0f1e2d3c4b5a69788796a5b4c3d2e1f0)"; err != nil || !strings.Contains(out, want) {
		t.Errorf("the app's own key: err %v, want %q in\n%s", err, want, out)
	}
	out, err = test("aaaabbbbccccddddeeeeffff00001111", nil)
	if want := `✗ Token of the app api_key names (seed.myshopify.com): the access token belongs to the app with client id "0f1e2d3c4b5a69788796a5b4c3d2e1f0", not api_key "aaaabbbbccccddddeeeeffff00001111": set access_token to a token of app "aaaabbbbccccddddeeeeffff00001111" (or api_key to "0f1e2d3c4b5a69788796a5b4c3d2e1f0" if that is the app whose api_secret signs the webhooks)`; err == nil || !strings.Contains(out, want) {
		t.Errorf("another app's key: err %v, want %q in\n%s", err, want, out)
	}
	out, err = test("", nil)
	if want := "- Token of the app api_key names (seed.myshopify.com): skipped: no api_key: set it to the app's client id"; err != nil || !strings.Contains(out, want) {
		t.Errorf("no api_key: err %v, want %q in\n%s", err, want, out)
	}
	out, err = test("aaaabbbbccccddddeeeeffff00001111", func(c *shopify.Config) {
		c.Stores = []shopify.Store{{ShopURL: o.Shop, AccessToken: config.Secret(o.AccessToken), APISecret: "its-own-app-secret", AdminURL: st.URL()}}
		c.ShopURL, c.AccessToken = "", ""
	})
	if want := "- Token of the app api_key names (seed.myshopify.com): skipped: this store sets its own api_secret"; err != nil || !strings.Contains(out, want) {
		t.Errorf("a store of another app: err %v, want %q in\n%s", err, want, out)
	}
	out, _ = test(o.APIKey, func(c *shopify.Config) { c.AccessToken = "shpat_wrong" })
	if want := "- Token of the app api_key names (seed.myshopify.com): skipped: the Admin API did not answer with the access token"; !strings.Contains(out, want) {
		t.Errorf("a refused token: want %q in\n%s", want, out)
	}
}
