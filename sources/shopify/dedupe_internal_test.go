package shopify

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSpecNamesDeliveries: once configured, the plugin tells the host
// which header names a delivery, scoped by shop, and for how long
// (dedupe_window), so that the host answers Shopify's copies of a
// delivery it answered 2xx.
func TestSpecNamesDeliveries(t *testing.T) {
	cfg := NewConfig().(*Config)
	cfg.Sync.Backfill, cfg.Sync.ReconcileEvery = false, 0
	cfg.DedupeWindow = 3 * time.Hour
	cfg.Stores = []Store{{ShopURL: "a.myshopify.com", APISecret: "s"}}
	raw, err := cfg.PluginJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	defer p.Teardown(context.Background())
	if spec, _ := p.Specify(context.Background()); spec.Dedupe != nil {
		t.Fatal("a window declared before Configure")
	}
	if err := p.Configure(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
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
	cfg := NewConfig().(*Config)
	cfg.Sync.Backfill, cfg.Sync.ReconcileEvery = false, 0
	cfg.StateDir = dir
	cfg.Stores = []Store{{ShopURL: "a.myshopify.com", APISecret: "s"}}
	raw, err := cfg.PluginJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	defer p.Teardown(context.Background())
	if err := p.Configure(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("webhooks.db still there: %v", err)
	}
}
