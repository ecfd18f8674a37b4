package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/tajo/tajo/schemas"
)

// canonicalType returns a fresh value of the data type of a topic's events,
// so fuzzing can check that Event.Data decodes back into it.
func canonicalType(topic string) any {
	switch topic {
	case "customers/create", "customers/update", "customers/enable", "customers/disable":
		return new(schemas.Customer)
	case "orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/partially_fulfilled", "orders/cancelled":
		return new(schemas.Order)
	case "checkouts/create", "checkouts/update":
		return new(schemas.Checkout)
	case "carts/create", "carts/update":
		return new(schemas.Cart)
	case "products/create", "products/update":
		return new(schemas.Product)
	case "refunds/create":
		return new(schemas.Refund)
	case "fulfillments/create", "fulfillments/update":
		return new(schemas.Fulfillment)
	}
	return nil
}

func FuzzNormalize(f *testing.F) {
	all := Topics()
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	byFile := map[string]uint8{}
	for i, tp := range all {
		byFile[fixtureName(tp.Name)] = uint8(i)
	}
	index := func(name string) uint8 {
		for i, tp := range all {
			if tp.Name == name {
				return uint8(i)
			}
		}
		f.Fatalf("no topic %s", name)
		return 0
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byFile[filepath.Base(file)], b)
	}
	f.Add(index("customer.tags_added"), []byte(`{"customerId":"gid://shopify/Customer/1","tags":["a"],"occurredAt":"2026-01-01T00:00:00Z"}`))
	f.Add(index("customers/purchasing_summary"), []byte(`{"customerId":1,"amountSpent":{"amount":"1.5","currencyCode":"EUR"},"numberOfOrders":"2"}`))
	f.Add(index("orders/create"), []byte(`{"id":1,"total_price":"1e3","line_items":[{"properties":{"k":1}}]}`))
	f.Add(index("orders/create"), []byte(" \n"))

	// The topic is an index into the registry: the fuzzer's effort goes
	// into bodies, not into discovering topic names.
	f.Fuzz(func(t *testing.T, topic uint8, body []byte) {
		in := webhookFor(t, all[int(topic)%len(all)].Name, body)
		ev, err := Normalize(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			if json.Valid(body) && utf8.Valid(body) && len(bytes.TrimSpace(body)) > 0 {
				t.Fatalf("JSON refused: %v", err)
			}
			return
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("invalid event: %v", err)
		}
		if !json.Valid(ev.Data) {
			t.Fatalf("data is not JSON: %s", ev.Data)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("envelope does not marshal: %v", err)
		}
		if _, err := schemas.DecodeEvent(b); err != nil {
			t.Fatalf("envelope does not decode: %v", err)
		}
		again, err := Normalize(in)
		if err != nil || again.ID != ev.ID || !bytes.Equal(again.Data, ev.Data) {
			t.Fatalf("not deterministic: %v", err)
		}
		// The canonical form is a fixed point: decoding Data and encoding
		// it again changes nothing.
		if v := canonicalType(ev.Topic); v != nil && ev.Type != schemas.TypeDeliveryUnprocessable {
			if err := json.Unmarshal(ev.Data, v); err != nil {
				t.Fatalf("data does not decode into %T: %v\n%s", v, err, ev.Data)
			}
			re, err := marshalData(v)
			if err != nil || !bytes.Equal(re, ev.Data) {
				t.Fatalf("data not stable (%v):\n%s\n%s", err, ev.Data, re)
			}
		}
	})
}

func FuzzVerifyHMAC(f *testing.F) {
	for _, v := range loadHMACVectors(f) {
		h := ""
		if v.Header != nil {
			h = *v.Header
		}
		f.Add([]byte(v.RawBody), h, v.Secret, "")
		f.Add([]byte(v.RawBody), h, "other", v.Secret)
	}
	f.Fuzz(func(t *testing.T, body []byte, header, current, previous string) {
		err := VerifyHMAC(body, header, Secrets{Current: current, Previous: previous})
		want := len(body) > 0 && ((current != "" && header == Sign(body, current)) ||
			(previous != "" && header == Sign(body, previous)))
		if (err == nil) != want {
			t.Fatalf("err = %v, want ok=%v", err, want)
		}
		if err != nil && !errors.Is(err, ErrUnauthorized) && !(current == "" && previous == "" && errors.Is(err, ErrNoSecret)) {
			t.Fatalf("%v does not wrap ErrUnauthorized", err)
		}
		// A correctly signed body always verifies, under either secret.
		if len(body) > 0 && current != "" {
			if err := VerifyHMAC(body, Sign(body, current), Secrets{Current: "x" + current, Previous: current}); err != nil {
				t.Fatalf("signed body refused: %v", err)
			}
		}
	})
}
