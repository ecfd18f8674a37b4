package shopify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/sources/shopify"
)

// secretConfig is a connectors.shopify section with every credential set,
// at the top level and per store.
const secretConfig = `
api_secret: TOPSECRET-api
previous_api_secret: TOPSECRET-previous
access_token: shpat_TOPSECRET-token
stores:
  - {shop_url: a.myshopify.com, access_token: shpat_STORESECRET-token, api_secret: STORESECRET-api, previous_api_secret: STORESECRET-previous}
`

// TestCredentialsNeverPrint: access_token, api_secret and
// previous_api_secret (top level and per store) are config.Secret, so the
// decoded config shows none of them however it is printed or encoded,
// alone, by pointer, as a store or inside another struct.
func TestCredentialsNeverPrint(t *testing.T) {
	cfg, err := parse(t, secretConfig)
	if cfg == nil || len(problems(err)) > 0 {
		t.Fatal(err)
	}
	if cfg.AccessToken.Reveal() != "shpat_TOPSECRET-token" || cfg.Stores[0].PreviousAPISecret.Reveal() != "STORESECRET-previous" {
		t.Fatalf("decoded %q %q", cfg.AccessToken.Reveal(), cfg.Stores[0].PreviousAPISecret.Reveal())
	}
	wrapped := struct{ Shopify shopify.Config }{*cfg}
	for name, v := range map[string]any{"Config": *cfg, "*Config": cfg, "Store": cfg.Stores[0], "StoreList": cfg.StoreList(), "wrapped": wrapped} {
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		ym, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for how, out := range map[string]string{
			"%v": fmt.Sprintf("%v", v), "%+v": fmt.Sprintf("%+v", v), "%#v": fmt.Sprintf("%#v", v),
			"json": string(js), "yaml": string(ym),
		} {
			if strings.Contains(out, "SECRET") {
				t.Errorf("%s of %s shows a credential: %s", how, name, out)
			}
		}
	}
}

// TestPluginReceivesTheCredentials: PluginJSON, what the plugin's
// Configure gets, carries every credential as written, and the plugin
// accepts a webhook signed with a store's real secret (and with the
// previous one, during a rotation).
func TestPluginReceivesTheCredentials(t *testing.T) {
	cfg, err := parse(t, secretConfig)
	if cfg == nil || len(problems(err)) > 0 {
		t.Fatal(err)
	}
	var _ plugins.PluginConfig = cfg // plugins.ConnectorFactory encodes it with PluginJSON
	raw, err := cfg.PluginJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TOPSECRET-api", "TOPSECRET-previous", "shpat_TOPSECRET-token", "shpat_STORESECRET-token", "STORESECRET-api", "STORESECRET-previous"} {
		if !strings.Contains(string(raw), `"`+want+`"`) {
			t.Errorf("plugin config lacks %s: %s", want, raw)
		}
	}
	var back shopify.Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.APISecret != cfg.APISecret || back.PreviousAPISecret != cfg.PreviousAPISecret || back.AccessToken != cfg.AccessToken ||
		len(back.Stores) != 1 || back.Stores[0] != cfg.Stores[0] {
		t.Fatalf("round trip lost a credential: %#v", back)
	}

	cfg.Sync.Backfill, cfg.Sync.ReconcileEvery = false, 0
	cfg.StateDir = t.TempDir()
	raw, _ = cfg.PluginJSON()
	p := shopify.New()
	ctx := context.Background()
	if err := p.Configure(ctx, raw); err != nil {
		t.Fatal(err)
	}
	defer p.Teardown(ctx)
	body, err := os.ReadFile("testdata/webhooks/orders-create.json")
	if err != nil {
		t.Fatal(err)
	}
	for i, secret := range []string{"STORESECRET-api", "STORESECRET-previous"} {
		h := http.Header{}
		h.Set(shopify.HeaderShopDomain, "a.myshopify.com")
		h.Set(shopify.HeaderTopic, "orders/create")
		h.Set(shopify.HeaderWebhookID, fmt.Sprintf("w-%d", i))
		h.Set(shopify.HeaderAPIVersion, "2026-10")
		h.Set(shopify.HeaderTriggeredAt, "2026-11-27T11:59:00Z")
		h.Set(shopify.HeaderHMAC, shopify.Sign(body, secret))
		resp, err := p.HandleWebhook(ctx, plugins.WebhookRequest{Method: http.MethodPost, Path: "/webhooks/shopify", Header: h, Body: body})
		if err != nil || (resp.Status != 0 && resp.Status != http.StatusOK) || len(resp.Records) != 1 {
			t.Fatalf("webhook signed with %s: %+v %v", secret, resp, err)
		}
	}
}
