package shopify_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
