package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tajo/tajo/schemas"
)

// restTopics maps the resource keys of REST responses to the webhook topic
// whose payload has the same shape. REST objects are the pre-2025-01
// customer shape (accepts_marketing, orders_count, total_spent, tags), so
// they prove old payloads still decode.
var restTopics = map[string]string{
	"customer": "customers/update", "customers": "customers/update",
	"order": "orders/updated", "orders": "orders/updated",
	"product": "products/update", "products": "products/update",
	"checkouts":       "checkouts/update",
	"inventory_level": "inventory_levels/update", "inventory_levels": "inventory_levels/update",
	"refund":      "refunds/create",
	"fulfillment": "fulfillments/update",
	"shop":        "app/uninstalled",
}

type restObject struct {
	where string
	topic string
	body  []byte
}

// restObjects finds every resource object in the REST fixtures, both at the
// top level (go-shopify, shopify_python_api) and in the response bodies of
// shopify-app-js test cases.
func restObjects(t *testing.T) []restObject {
	files, _ := filepath.Glob("testdata/rest/*.json")
	if len(files) == 0 {
		t.Fatal("no REST fixtures")
	}
	var out []restObject
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]json.RawMessage
		if b = bytes.TrimSpace(b); b[0] == '[' {
			// A bare list, named by its file: products.shopify_python_api.json.
			resource, _, _ := strings.Cut(filepath.Base(f), ".")
			top = map[string]json.RawMessage{resource: b}
		} else if err := json.Unmarshal(b, &top); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		bodies := []map[string]json.RawMessage{top}
		if cases, ok := top["cases"]; ok {
			var cs []struct {
				Response map[string]json.RawMessage `json:"response_body"`
			}
			if err := json.Unmarshal(cases, &cs); err != nil {
				t.Fatalf("%s cases: %v", f, err)
			}
			bodies = nil
			for _, c := range cs {
				bodies = append(bodies, c.Response)
			}
		}
		for i, body := range bodies {
			keys := make([]string, 0, len(body))
			for k := range body {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				topic, ok := restTopics[k]
				if !ok {
					continue
				}
				raw := bytes.TrimSpace(body[k])
				var objs []json.RawMessage
				if raw[0] == '[' {
					if err := json.Unmarshal(raw, &objs); err != nil {
						t.Fatalf("%s %s: %v", f, k, err)
					}
				} else {
					objs = []json.RawMessage{raw}
				}
				for j, o := range objs {
					out = append(out, restObject{fmt.Sprintf("%s#%d/%s[%d]", filepath.Base(f), i, k, j), topic, o})
				}
			}
		}
	}
	return out
}

func TestNormalizeRESTFixtures(t *testing.T) {
	objs := restObjects(t)
	legacy := 0
	for _, o := range objs {
		t.Run(o.where, func(t *testing.T) {
			payload := decodeGeneric(t, o.body).(map[string]any)
			if _, ok := payload["id"]; !ok && !strings.HasPrefix(o.topic, "inventory_levels/") {
				t.Skip("response object without an id (a partial SDK example)")
			}
			in := webhookFor(t, o.topic, o.body)
			if d, ok := payload["myshopify_domain"].(string); ok && o.topic == "app/uninstalled" {
				in.Shop = d // a shop's own app/uninstalled names it (crossCheck)
			}
			ev, err := Normalize(in)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if err := ev.Validate(); err != nil {
				t.Fatal(err)
			}
			if id, ok := payload["id"].(json.Number); ok && ev.Entity.ID != id.String() {
				t.Errorf("entity id %s, payload id %s", ev.Entity.ID, id)
			}
			assertSubset(t, "$", decodeGeneric(t, ev.Data), payload, nil)
			if o.topic == "customers/update" && checkLegacyCustomer(t, ev.Data, payload) {
				legacy++
			}
		})
	}
	if legacy < 3 {
		t.Errorf("only %d REST customers with legacy fields; the old shape is not covered", legacy)
	}
}

// checkLegacyCustomer compares the pre-2025-01 fields one by one and
// reports whether the payload had them.
func checkLegacyCustomer(t *testing.T, data []byte, p map[string]any) bool {
	t.Helper()
	var c schemas.Customer
	mustUnmarshal(t, data, &c)
	if email, _ := p["email"].(string); c.Email != email || c.MissingEmail != (email == "") {
		t.Errorf("email %q missing=%v, payload %q", c.Email, c.MissingEmail, email)
	}
	am, hasAM := p["accepts_marketing"].(bool)
	if hasAM != (c.AcceptsMarketing != nil) || (hasAM && *c.AcceptsMarketing != am) {
		t.Errorf("accepts_marketing %v, payload %v", c.AcceptsMarketing, p["accepts_marketing"])
	}
	if n, ok := p["orders_count"].(json.Number); ok {
		if c.OrdersCount == nil || fmt.Sprint(int64(*c.OrdersCount)) != n.String() {
			t.Errorf("orders_count %v, payload %s", c.OrdersCount, n)
		}
	}
	if s, ok := p["total_spent"].(string); ok {
		if c.TotalSpent == nil || !decimalEqual(c.TotalSpent.String(), s) {
			t.Errorf("total_spent %v, payload %s", c.TotalSpent, s)
		}
	}
	if hasAM {
		want := schemas.ConsentNotSubscribed
		if am {
			want = schemas.ConsentSubscribed
		}
		if c.EmailMarketingConsent != nil {
			want = c.EmailMarketingConsent.State
		}
		if c.EmailMarketingState() != want {
			t.Errorf("EmailMarketingState %q, want %q", c.EmailMarketingState(), want)
		}
	}
	return hasAM || p["orders_count"] != nil || p["total_spent"] != nil
}
