package transforms

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	sjson "github.com/segmentio/encoding/json"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// FuzzParseEnvelope checks the fast envelope scanner against the standard
// decoder: whenever the scanner accepts an input, it must read what
// encoding/json reads.
func FuzzParseEnvelope(f *testing.F) {
	b, _ := json.Marshal(event(f, schemas.TypeCustomerUpdated, "customer", "1", t0, `{"id":1,"note":"a \"quoted\" }{ note"}`))
	f.Add(b)
	f.Add([]byte(`{"schema":"tajo.event.v1","data":[1,{"a":"]"}],"raw":true}`))
	f.Add([]byte(`{"id":"\u00e9","entity":{"kind":"k","id":"1"},"data":null}`))
	f.Add([]byte(`{"schema":"tajo.event.v1","type":"delivery_unprocessable","raw":{"a":1},"problems":["no entity id","x: \"NULL\""],"headers":{"X-Shopify-Topic":"orders/create"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast schemas.Event
		if parseEnvelope(b, &fast, nil) != nil {
			return
		}
		var std schemas.Event
		if err := json.Unmarshal(b, &std); err != nil {
			// The scanner leaves data and raw to their own decoders; any
			// other disagreement is a bug.
			if json.Valid(b) || !utf8.Valid(b) {
				return
			}
			return
		}
		// data and raw are skipped, not decoded: the same bytes.
		if !bytes.Equal(fast.Raw, std.Raw) || (fast.Data != nil && !bytes.Equal(fast.Data, std.Data)) {
			t.Fatalf("scanner kept raw %q data %q, encoding/json %q %q", fast.Raw, fast.Data, std.Raw, std.Data)
		}
		fast.Data, std.Data, fast.Raw, std.Raw = nil, nil, nil, nil
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("scanner read %+v, encoding/json %+v", fast, std)
		}
	})
}

// FuzzMapExpression compiles arbitrary expressions: a bad one is a
// validation error, a compiled one runs into a value or a rejection,
// never a panic.
func FuzzMapExpression(f *testing.F) {
	for _, s := range []string{"customer.first_name", "safeDiv(1, 0)", "1/0", `e164(customer.phone, "FR")`, "daysSince(now)", "round(1.005, 2)", "coalesce(nil, '', 'x')", `toDate("2026-01-01")`, "[1][5]", `hasTag(customer.tags, "vip")`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 200 {
			return
		}
		p, err := expression.Compile(src)
		if err != nil {
			return
		}
		c := &chain{settings: newSettings(NewConfig().(*Config)), store: state.NewMemoryJournal(), now: func() time.Time { return t0 }}
		rec := &pipeline.Record{}
		rec.Value, _ = json.Marshal(event(t, schemas.TypeCustomerUpdated, "customer", "1", t0, `{"id":1,"phone":"+33612345678","tags":"vip"}`))
		it, err := c.load(rec)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Run(it.environment())
		if err != nil {
			return
		}
		buf := make([]byte, 0, 64)
		_ = it.assign("X", v, &buf)
	})
}

// FuzzFastTags holds the chain's tag decoder to schemas.Tags.
func FuzzFastTags(f *testing.F) {
	for _, s := range []string{`"a, b,,c "`, `["x"," y"]`, `null`, `"\u00e9, b"`, `"a\"b"`, "\"\xff\"", `""`, `3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast fastTags
		var want schemas.Tags
		errFast := fast.UnmarshalJSON(b)
		errWant := want.UnmarshalJSON(b)
		if (errFast == nil) != (errWant == nil) {
			t.Fatalf("%q: errors differ: %v / %v", b, errFast, errWant)
		}
		if errWant == nil && !reflect.DeepEqual(schemas.Tags(fast), want) && !(len(fast) == 0 && len(want) == 0) {
			t.Fatalf("%q: %q, want %q", b, fast, want)
		}
	})
}

// FuzzCustomerFastDecode holds decodeCustomerFast to segmentio: whenever
// the fast decoder accepts an input, segmentio must accept it too, read as
// many bytes, and decode the same customer.
func FuzzCustomerFastDecode(f *testing.F) {
	var body struct{ Data json.RawMessage }
	json.Unmarshal(benchEvent(f), &body)
	f.Add([]byte(body.Data))
	for _, name := range []string{"customer.go-shopify.json", "customers-create.json", "customers-update.json", "customers-search.shopify_python_api.json"} {
		f.Add(fixture(f, name))
		var c schemas.Customer
		f.Add([]byte(canonical(f, fixture(f, name), &c)))
	}
	f.Add([]byte(`{"id":"gid://shopify/Customer/7","tags":"a, b","email_marketing_consent":null,"orders_count":"3","total_spent":12.50,"accepts_marketing":false} `))
	f.Add([]byte(`{"id":1,"id":2}`))
	f.Add([]byte(`{"default_address":{"id":1,"default":true,"city":"Zoë"},"addresses":[{"id":1}],"sms_marketing_consent":{"state":"x","consent_updated_at":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast customerData
		n, ok := decodeCustomerFast(b, &fast)
		if !ok || !json.Valid(b[:n]) {
			// What it read but did not validate, the address book, is
			// not JSON: it is carried as bytes, decoded only when needed.
			return
		}
		var want customerData
		rest, err := sjson.Parse(b, &want, sjson.DontCopyString)
		if err != nil {
			t.Fatalf("%q: fast decoder accepted what segmentio rejects: %v", b, err)
		}
		if n != len(b)-len(rest) {
			t.Fatalf("%q: fast decoder read %d bytes, segmentio %d", b, n, len(b)-len(rest))
		}
		if !reflect.DeepEqual(fast.Customer, want.Customer) || !reflect.DeepEqual(fast.Tags, want.Tags) || !bytes.Equal(fast.Addresses, want.Addresses) {
			t.Fatalf("%q:\nfast %+v %q %s\nwant %+v %q %s", b, fast.Customer, fast.Tags, fast.Addresses, want.Customer, want.Tags, want.Addresses)
		}
	})
}
