package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/schemas"
)

// FuzzWebhook holds the plugin to DESIGN.md invariant 7: any signed JSON
// object, under any topic tajo knows (and one it does not), is answered
// 200 with exactly one event for Kafka (a canonical one, or an
// unprocessable delivery carrying the body): never a 400 or a 500, never
// an answer without a record.
func FuzzWebhook(f *testing.F) {
	const shop, secret = "fuzz.myshopify.com", "fuzz-secret"
	cfg := NewConfig().(*Config)
	cfg.Sync.Backfill, cfg.Sync.ReconcileEvery = false, 0
	cfg.Sync.Inventory.Enabled = true
	cfg.Stores = []Store{{ShopURL: shop, APISecret: secret}}
	raw, err := cfg.PluginJSON()
	if err != nil {
		f.Fatal(err)
	}
	p := New()
	// A worker's output is read only at its end: a log line per input
	// would fill the pipe and stall the fuzzer.
	p.log.SetOutput(io.Discard)
	if err := p.Configure(context.Background(), raw); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Teardown(context.Background()) })

	all := append(Topics(), Topic{Name: "themes/publish"})
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		for i, tp := range all {
			if fixtureName(tp.Name) == filepath.Base(file) {
				f.Add(uint8(i), b)
			}
		}
	}
	f.Add(uint8(0), []byte(`{"id":1,"addresses":{},"default_address":[],"created_at":"NULL","verified_email":"true"}`))
	f.Add(uint8(10), []byte(`{"id":"9007199254740993","total_price":"1,5","line_items":[{"quantity":"x"}]}`))
	f.Add(uint8(2), []byte(`{"id":1,"email":"a@b.c","first_name":"x","updated_at":"2026-01-01T00:00:00Z"}`))

	n := 0
	f.Fuzz(func(t *testing.T, topic uint8, body []byte) {
		var obj map[string]json.RawMessage
		// encoding/json lets invalid UTF-8 through; RFC 8259 does not,
		// and such a body is refused (400) as not JSON.
		if json.Unmarshal(body, &obj) != nil || !json.Valid(body) || !utf8.Valid(body) {
			t.Skip("not a JSON object")
		}
		n++
		tp := all[int(topic)%len(all)].Name
		h := http.Header{}
		h.Set(HeaderShopDomain, shop)
		h.Set(HeaderTopic, tp)
		h.Set(HeaderWebhookID, fmt.Sprintf("fuzz-%d", n))
		h.Set(HeaderAPIVersion, "2026-10")
		h.Set(HeaderTriggeredAt, "2026-11-27T11:59:00Z")
		h.Set(HeaderHMAC, Sign(body, secret))
		resp, err := p.HandleWebhook(context.Background(), plugins.WebhookRequest{Method: http.MethodPost, Header: h, Body: body})
		if err != nil {
			t.Fatalf("%s: not judged: %v", tp, err)
		}
		if resp.Status != http.StatusOK || len(resp.Records) != 1 {
			t.Fatalf("%s: answered %d with %d records (%s)", tp, resp.Status, len(resp.Records), resp.Body)
		}
		ev, err := schemas.DecodeEvent(resp.Records[0].Value)
		if err != nil {
			t.Fatalf("%s: record is not an event: %v", tp, err)
		}
		// The envelope's encoder compacts raw JSON; nothing else may change.
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil || !bytes.Equal(ev.Raw, compact.Bytes()) {
			t.Fatalf("%s: raw body not kept: %s", tp, ev.Raw)
		}
		if ev.Type == schemas.TypeDeliveryUnprocessable && (len(ev.Problems) == 0 || ev.Headers["X-Shopify-Topic"] != tp) {
			t.Fatalf("%s: unprocessable without its reason or headers: %+v", tp, ev)
		}
	})
}
