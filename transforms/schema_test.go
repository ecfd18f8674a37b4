package transforms

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tajo/tajo/schemas"
)

// TestOutputsMatchTheEventSchema runs the fixtures through the default
// chain and validates every output against tajo.event.v1: what the Brevo
// sink reads is what the schema promises.
func TestOutputsMatchTheEventSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.EventJSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("event.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("event.json")
	if err != nil {
		t.Fatal(err)
	}
	var rest struct{ Customer json.RawMessage }
	json.Unmarshal(fixture(t, "customer.go-shopify.json"), &rest)
	chain := newChain(t, "transforms: {phone_country: AU}\n")
	for _, tc := range []struct {
		typ, kind, file string
		obj             any
		body            []byte
	}{
		{schemas.TypeCustomerUpdated, "customer", "", new(schemas.Customer), rest.Customer},
		{schemas.TypeCustomerUpdated, "customer", "customers-update.json", new(schemas.Customer), nil},
		{schemas.TypeOrderPlaced, "order", "orders-create.json", new(schemas.Order), nil},
		{schemas.TypeOrderRefunded, "refund", "refunds-create.json", new(schemas.Refund), nil},
		{schemas.TypeCustomerEmailConsentUpdated, "customer", "customers-email-marketing-consent-update.json", new(schemas.EmailConsentUpdate), nil},
		{schemas.TypeProductCreated, "product", "products-create.json", new(schemas.Product), nil},
	} {
		body := tc.body
		if tc.file != "" {
			body = fixture(t, tc.file)
		}
		data := canonical(t, body, tc.obj)
		o, err := chain.run(record(t, event(t, tc.typ, tc.kind, "1", t0, data)))
		if err != nil || o == nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(o.raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s %s: output fails tajo.event.v1: %v\n%s", tc.typ, tc.file, err, o.raw)
		}
	}
}
