package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tajo/tajo/pipeline/config"
)

// shopifyOnly is a configuration of the Shopify connector alone, with the
// given extra connector keys.
func shopifyOnly(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipeline.yaml")
	body := `version: 1
data_dir: ` + t.TempDir() + `
connectors:
  shopify:
    shop_url: your-store.myshopify.com
    api_secret: app-secret
    access_token: shpat_token
` + extra + `
sinks:
  file: {path: out.jsonl}
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The seed's api_version 2024-01 is refused, with why and what to write.
func TestValidateRefusesRetiredAPIVersion(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"validate", "-c", shopifyOnly(t, `    api_version: "2024-01"`)}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	want := `connectors.shopify.api_version: Shopify stopped serving API version 2024-01 on 2025-01-01: requests fall forward to the oldest version it serves, in a shape tajo does not expect (write api_version: "2026-10" (tajo's pinned default), or leave it out)`
	if !strings.Contains(errb.String(), want) {
		t.Fatalf("stderr lacks\n%s\ngot:\n%s", want, errb.String())
	}
}

// The seed's inventory alert keys validate, exit 0, with a warning each
// that they are not acted on yet.
func TestValidateWarnsInventoryAlertKeys(t *testing.T) {
	var out, errb bytes.Buffer
	path := shopifyOnly(t, `    sync: {inventory: {enabled: true, low_stock_threshold: 10, out_of_stock_events: true}}`)
	if code := run([]string{"validate", "-c", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, errb.String())
	}
	for _, want := range []string{
		"warning: connectors.shopify.sync.inventory.low_stock_threshold: accepted but not acted on yet: no low-stock or out-of-stock event is raised (inventory alerts come with cart recovery and the skills",
		"warning: connectors.shopify.sync.inventory.out_of_stock_events: accepted but not acted on yet",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if got := out.String(); got != path+": ok, with 2 warnings\n" {
		t.Errorf("stdout %q", got)
	}
	// Without them: ok, no warning.
	out.Reset()
	errb.Reset()
	path = shopifyOnly(t, `    sync: {inventory: true}`)
	if code := run([]string{"validate", "-c", path}, &out, &errb); code != 0 || out.String() != path+": ok\n" || errb.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// tajo connectors test shopify says what validate says about a retired
// version, as its ✗ line (after the problem itself), and fails.
func TestConnectorsTestRefusesRetiredAPIVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipeline.yaml")
	os.WriteFile(path, []byte(`version: 1
data_dir: `+t.TempDir()+`
connectors:
  shopify: {shop_url: your-store.myshopify.com, api_secret: app-secret, api_version: "2024-01", sync: {backfill: false, reconcile_every: 0}}
sinks:
  file: {path: out.jsonl}
`), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"connectors", "test", "shopify", "-c", path}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	if want := "✗ API version served (your-store.myshopify.com): Shopify stopped serving API version 2024-01 on 2025-01-01"; !strings.Contains(out.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, out.String())
	}
	if want := "connectors.shopify.api_version: Shopify stopped serving"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errb.String())
	}
}

// log.level drops what is below it; log.format json writes one JSON
// object a line, text writes key=value.
func TestLogLevelAndFormat(t *testing.T) {
	var b bytes.Buffer
	log := newLogger(config.Log{Level: "info", Format: "json"}, &b)
	log.Debug("below the level")
	log.WithField("shop", "a.myshopify.com").Info("at the level")
	var line map[string]any
	if err := json.Unmarshal(b.Bytes(), &line); err != nil || line["msg"] != "at the level" || line["level"] != "info" || line["shop"] != "a.myshopify.com" {
		t.Fatalf("json output %q: %v", b.String(), err)
	}
	b.Reset()
	log = newLogger(config.Log{Level: "debug", Format: "text"}, &b)
	log.Debug("now shown")
	if got := b.String(); !strings.Contains(got, `level=debug msg="now shown"`) {
		t.Fatalf("text output %q", got)
	}
}
