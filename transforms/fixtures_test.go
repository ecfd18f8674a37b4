package transforms

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// TestDefaultChainOverEveryWebhookFixture feeds Shopify's sample bodies,
// decoded into their canonical types as the source does, through the
// default chain: none is rejected, events about a customer come out with
// identifiers, the others pass unchanged.
func TestDefaultChainOverEveryWebhookFixture(t *testing.T) {
	for _, tc := range []struct {
		file, typ, kind string
		obj             any
		contact         bool
	}{
		{"customers-create.json", schemas.TypeCustomerCreated, "customer", new(schemas.Customer), true},
		{"customers-update.json", schemas.TypeCustomerUpdated, "customer", new(schemas.Customer), true},
		{"customers-enable.json", schemas.TypeCustomerEnabled, "customer", new(schemas.Customer), true},
		{"customers-disable.json", schemas.TypeCustomerDisabled, "customer", new(schemas.Customer), true},
		{"customers-delete.json", schemas.TypeCustomerDeleted, "customer", new(schemas.Deletion), false},
		{"customers-email-marketing-consent-update.json", schemas.TypeCustomerEmailConsentUpdated, "customer", new(schemas.EmailConsentUpdate), true},
		{"customers-marketing-consent-update.json", schemas.TypeCustomerSMSConsentUpdated, "customer", new(schemas.SMSConsentUpdate), true},
		{"orders-create.json", schemas.TypeOrderPlaced, "order", new(schemas.Order), true},
		{"orders-updated.json", schemas.TypeOrderUpdated, "order", new(schemas.Order), true},
		{"orders-paid.json", schemas.TypeOrderPaid, "order", new(schemas.Order), true},
		{"orders-fulfilled.json", schemas.TypeOrderFulfilled, "order", new(schemas.Order), true},
		{"orders-partially-fulfilled.json", schemas.TypeOrderPartiallyFulfilled, "order", new(schemas.Order), true},
		{"orders-cancelled.json", schemas.TypeOrderCancelled, "order", new(schemas.Order), true},
		{"orders-delete.json", schemas.TypeOrderDeleted, "order", new(schemas.Deletion), false},
		{"refunds-create.json", schemas.TypeOrderRefunded, "refund", new(schemas.Refund), false},
		{"checkouts-create.json", schemas.TypeCheckoutCreated, "checkout", new(schemas.Checkout), true},
		{"checkouts-update.json", schemas.TypeCheckoutUpdated, "checkout", new(schemas.Checkout), true},
		{"checkouts-delete.json", schemas.TypeCheckoutDeleted, "checkout", new(schemas.Deletion), false},
		{"products-create.json", schemas.TypeProductCreated, "product", new(schemas.Product), false},
		{"products-update.json", schemas.TypeProductUpdated, "product", new(schemas.Product), false},
		{"products-delete.json", schemas.TypeProductDeleted, "product", new(schemas.Deletion), false},
		{"carts-create.json", schemas.TypeCartCreated, "cart", new(schemas.Cart), false},
		{"carts-update.json", schemas.TypeCartUpdated, "cart", new(schemas.Cart), false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := newChain(t, "transforms: {phone_country: US}\n")
			body := fixture(t, tc.file)
			if tc.typ == schemas.TypeCustomerSMSConsentUpdated {
				// The source renames Shopify's "id" to the canonical customer_id.
				body = bytes.Replace(body, []byte(`"id"`), []byte(`"customer_id"`), 1)
			}
			data := canonical(t, body, tc.obj)
			rec := record(t, event(t, tc.typ, tc.kind, "1", t0, data))
			in := append([]byte(nil), rec.Value...)
			outs, err := runChain(c.ts, rec)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if len(outs) != 1 {
				t.Fatalf("%d outputs", len(outs))
			}
			ev, err := schemas.DecodeEvent(valueOf(t, outs[0]))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contact != (ev.Identifiers != nil) {
				t.Fatalf("identifiers %+v, want contact=%v", ev.Identifiers, tc.contact)
			}
			if !tc.contact && !bytes.Equal(in, valueOf(t, outs[0])) {
				t.Fatalf("changed an event no mapping applies to:\n%s", valueOf(t, outs[0]))
			}
		})
	}
}

// TestLeanCustomerDecodeMatchesSchemas: the chain's customer decoder
// leaves out only the address book, and the views it builds are those of
// a full schemas.Customer decode.
func TestLeanCustomerDecodeMatchesSchemas(t *testing.T) {
	var rest struct{ Customer json.RawMessage }
	json.Unmarshal(fixture(t, "customer.go-shopify.json"), &rest)
	noDefault := []byte(`{"id":5,"tags":["a"," b "],"addresses":[{"id":1,"city":"X"},{"id":2,"city":"Lyon","default":true}]}`)
	for name, body := range map[string][]byte{
		"rest":               rest.Customer,
		"update":             fixture(t, "customers-update.json"),
		"create":             fixture(t, "customers-create.json"),
		"no default_address": noDefault,
	} {
		var full schemas.Customer
		if err := json.Unmarshal(body, &full); err != nil {
			t.Fatal(err)
		}
		it := &item{}
		if _, ok := it.parseData(schemas.TypeCustomerUpdated, body); !ok {
			t.Fatalf("%s: lean decode failed", name)
		}
		var want, got expression.CustomerView
		expression.FillCustomer(&full, &want)
		expression.FillCustomer(it.customer, &got)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
}
