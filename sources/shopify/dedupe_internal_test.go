package shopify

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// configured returns a plugin configured with one store and no backfill,
// after set changed its configuration; torn down with the test.
func configured(t *testing.T, set func(*Config)) *Plugin {
	t.Helper()
	cfg := NewConfig().(*Config)
	cfg.Sync.Backfill, cfg.Sync.ReconcileEvery = false, 0
	cfg.Stores = []Store{{ShopURL: "a.myshopify.com", APISecret: "s"}}
	set(cfg)
	raw, err := cfg.PluginJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	t.Cleanup(func() { p.Teardown(context.Background()) })
	if err := p.Configure(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSpecNamesDeliveries: once configured, the plugin tells the host
// which header names a delivery, scoped by shop, and for how long
// (dedupe_window), so that the host answers Shopify's copies of a
// delivery it answered 2xx.
func TestSpecNamesDeliveries(t *testing.T) {
	if spec, _ := New().Specify(context.Background()); spec.Dedupe != nil {
		t.Fatal("a window declared before Configure")
	}
	p := configured(t, func(c *Config) { c.DedupeWindow = 3 * time.Hour })
	spec, err := p.Specify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := spec.Dedupe
	if d == nil || d.Window != 3*time.Hour || !slices.Contains(d.IDHeaders, HeaderWebhookID) ||
		!slices.Contains(d.IDHeaders, "Shopify-Webhook-Id") || !slices.Contains(d.ScopeHeaders, HeaderShopDomain) {
		t.Fatalf("dedupe %+v", d)
	}
}

// TestConfigureRemovesTheOldWindow: the webhooks.db an older tajo kept in
// state_dir is removed at Configure; nothing reads it any more.
func TestConfigureRemovesTheOldWindow(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, legacyWindowFile)
	if err := os.WriteFile(old, []byte("bbolt"), 0o600); err != nil {
		t.Fatal(err)
	}
	configured(t, func(c *Config) { c.StateDir = dir })
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("webhooks.db still there: %v", err)
	}
}
