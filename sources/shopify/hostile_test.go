package shopify

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tajo/tajo/schemas"
)

// TestNormalizeMalformed: every input here must be refused with an error
// wrapping ErrMalformed (HTTP 400), never a panic and never an event.
func TestNormalizeMalformed(t *testing.T) {
	customer, _ := os.ReadFile("testdata/webhooks/customers-update.json")
	swap := func(old, new string) string {
		if !strings.Contains(string(customer), old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(string(customer), old, new, 1)
	}
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	for _, c := range []struct{ name, topic, body string }{
		{"empty", "customers/update", ""},
		{"whitespace", "customers/update", "  \n"},
		{"not json", "customers/update", "id=1&email=x"},
		{"truncated", "customers/update", string(customer[:len(customer)/2])},
		{"trailing garbage", "customers/update", string(customer) + "}"},
		{"two documents", "customers/update", `{"id":1} {"id":2}`},
		{"array", "customers/update", `[{"id":1}]`},
		{"string", "orders/create", `"hello"`},
		{"null", "orders/create", `null`},
		{"invalid utf-8", "customers/update", "{\"id\":1,\"email\":\"\xff\xfe\"}"},
		{"missing id", "customers/update", `{"email":"a@b.c"}`},
		{"zero id", "orders/create", `{"id":0}`},
		{"null id", "products/update", `{"id":null,"title":"x"}`},
		{"id above int64", "customers/update", swap("706405506930370084", "99999999999999999999")},
		{"negative id", "customers/update", swap("706405506930370084", "-706405506930370084")},
		{"fractional id", "customers/update", swap("706405506930370084", "706405506930370084.5")},
		{"exponent id", "customers/update", swap("706405506930370084", "7.06405506930370084e17")},
		{"id as bool", "customers/update", swap("706405506930370084", "true")},
		{"id as object", "orders/delete", `{"id":{"id":1}}`},
		{"id as non-numeric string", "customers/update", swap("706405506930370084", `"abc"`)},
		{"email as number", "customers/update", swap(`"bob@biller.com"`, "42")},
		{"addresses as object", "customers/update", swap(`"addresses": []`, `"addresses": {}`)},
		{"bad timestamp", "customers/update", swap(`"updated_at": "2021-12-31T19:00:00-05:00"`, `"updated_at": "yesterday"`)},
		{"huge money exponent", "orders/create", `{"id":1,"total_price":"1e999999999"}`},
		{"money as bool", "orders/create", `{"id":1,"total_price":true}`},
		{"money too long", "orders/create", `{"id":1,"total_price":"` + strings.Repeat("1", 500) + `"}`},
		{"quantity overflow", "orders/create", `{"id":1,"line_items":[{"quantity":1e30}]}`},
		{"quantity fraction", "orders/create", `{"id":1,"line_items":[{"quantity":1.5}]}`},
		{"tags as number", "products/update", `{"id":1,"tags":7}`},
		{"deep nesting", "orders/create", `{"id":1,"x":` + deep + `}`},
		{"checkout without id or token", "checkouts/update", `{"email":"a@b.c"}`},
		{"cart without id or token", "carts/update", `{"note":"x"}`},
		{"level without location", "inventory_levels/update", `{"inventory_item_id":1}`},
		{"consent without customer", "customers_email_marketing_consent/update", `{"email_address":"a@b.c"}`},
		{"sms consent without customer", "customers_marketing_consent/update", `{"phone":"+1"}`},
		{"tags event without customer", "customer.tags_added", `{"tags":["a"]}`},
		{"summary with bad amount", "customers/purchasing_summary", `{"customerId":"gid://shopify/Customer/1","amountSpent":{"amount":"lots"}}`},
		{"summary with bad gid", "customers/purchasing_summary", `{"customerId":"gid://shopify/Customer/abc"}`},
		{"redact with customer id as string", "customers/redact", `{"customer":{"id":"x"}}`},
		{"oversized body", "orders/create", `{"id":1,"note":"` + strings.Repeat("a", MaxBodyBytes) + `"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Normalize(webhookFor(t, c.topic, []byte(c.body)))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, event %v; want ErrMalformed", err, ev)
			}
			if len(err.Error()) > 600 {
				t.Errorf("error message of %d bytes echoes the input", len(err.Error()))
			}
		})
	}
}

// TestNormalizeUnicodeAndEdges: odd but legitimate payloads are kept.
func TestNormalizeUnicodeAndEdges(t *testing.T) {
	t.Run("unicode and escapes", func(t *testing.T) {
		body := `{"id":1,"email":"zoë+tag@exämple.com","first_name":"Zoë 🎉","last_name":"\u674e\u534e",` +
			`"note":"<script>alert(1)</script>\u0000","tags":"vip, 顧客, émoji 🎉"}`
		ev, err := Normalize(webhookFor(t, "customers/create", []byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		var c schemas.Customer
		mustUnmarshal(t, ev.Data, &c)
		if c.Email != "zoë+tag@exämple.com" || c.FirstName != "Zoë 🎉" || c.LastName != "李华" ||
			c.Note != "<script>alert(1)</script>\x00" || strings.Join(c.Tags, "|") != "vip|顧客|émoji 🎉" {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("customer without email is kept and flagged", func(t *testing.T) {
		for _, body := range []string{`{"id":2,"phone":"+33600000000"}`, `{"id":2,"email":null}`, `{"id":2,"email":"  "}`} {
			ev, err := Normalize(webhookFor(t, "customers/create", []byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			var c schemas.Customer
			mustUnmarshal(t, ev.Data, &c)
			if !c.MissingEmail || c.Email != "" || ev.Entity.ID != "2" {
				t.Fatalf("%s: %+v", body, c)
			}
		}
	})
	t.Run("order customer without email is flagged", func(t *testing.T) {
		ev, err := Normalize(webhookFor(t, "orders/create", []byte(`{"id":3,"customer":{"id":4}}`)))
		if err != nil {
			t.Fatal(err)
		}
		var o schemas.Order
		mustUnmarshal(t, ev.Data, &o)
		if !o.Customer.MissingEmail {
			t.Fatalf("%+v", o.Customer)
		}
	})
	t.Run("deleted customer is not flagged", func(t *testing.T) {
		ev, err := Normalize(webhookFor(t, "customers/delete", []byte(`{"id":5}`)))
		if err != nil || strings.Contains(string(ev.Data), "missing_email") {
			t.Fatalf("%v %s", err, ev.Data)
		}
	})
	t.Run("id as digit string and max int64", func(t *testing.T) {
		ev, err := Normalize(webhookFor(t, "products/update", []byte(`{"id":"9223372036854775807"}`)))
		if err != nil || ev.Entity.ID != "9223372036854775807" {
			t.Fatalf("%v %+v", err, ev)
		}
	})
	t.Run("unknown fields and leading whitespace", func(t *testing.T) {
		ev, err := Normalize(webhookFor(t, "orders/create", []byte("\n {\"id\":6,\"future_field\":{\"x\":[1,2]}}")))
		if err != nil || strings.Contains(string(ev.Data), "future_field") {
			t.Fatalf("%v %s", err, ev.Data)
		}
	})
	t.Run("compliance payload with placeholder values", func(t *testing.T) {
		ev, err := Normalize(webhookFor(t, "customers/redact", []byte(`{"shop_domain":"x","customer":{}}`)))
		if err != nil || ev.Entity.ID != "" || ev.Entity.Kind != "customer" {
			t.Fatalf("%v %+v", err, ev)
		}
		ev, err = Normalize(webhookFor(t, "shop/redact", []byte(`{}`)))
		if err != nil || ev.Entity.ID != testShop {
			t.Fatalf("%v %+v", err, ev)
		}
	})
}

// The customer topics added in 2025-01 have no sample in the fixtures; these
// bodies follow the documented shapes ({customerId, tags[], occurredAt} and
// {customerId, amountSpent, numberOfOrders, lastOrderId, occurredAt}), in
// both the GraphQL (GID, strings) and plain spellings.
func TestNormalizeNewCustomerTopics(t *testing.T) {
	ev, err := Normalize(webhookFor(t, "customer.tags_added", []byte(
		`{"customerId":"gid://shopify/Customer/706405506930370084","tags":["vip","  b2b "],"occurredAt":"2026-03-01T10:00:00.123Z"}`)))
	if err != nil {
		t.Fatal(err)
	}
	var tc schemas.CustomerTagsChange
	mustUnmarshal(t, ev.Data, &tc)
	if ev.Type != "customer_tags_added" || ev.Entity.ID != "706405506930370084" || tc.Action != "added" ||
		strings.Join(tc.Tags, "|") != "vip|b2b" || ev.OccurredAt.Format("2006-01-02T15:04:05.000Z07:00") != "2026-03-01T10:00:00.123Z" {
		t.Fatalf("%+v %+v", ev, tc)
	}

	ev, err = Normalize(webhookFor(t, "customer.tags_removed", []byte(`{"customerId":706405506930370084,"tags":null}`)))
	if err != nil {
		t.Fatal(err)
	}
	mustUnmarshal(t, ev.Data, &tc)
	if tc.Action != "removed" || len(tc.Tags) != 0 || !strings.Contains(string(ev.Data), `"tags":[]`) {
		t.Fatalf("%s", ev.Data)
	}

	for _, body := range []string{
		`{"customerId":"gid://shopify/Customer/706405506930370084","amountSpent":{"amount":"1234.50","currencyCode":"EUR"},"numberOfOrders":"7","lastOrderId":"gid://shopify/Order/820982911946154508","occurredAt":"2026-03-01T10:00:00Z"}`,
		`{"customer_id":706405506930370084,"amountSpent":"1234.5","numberOfOrders":7,"lastOrderId":820982911946154508,"occurredAt":"2026-03-01T10:00:00Z"}`,
	} {
		ev, err = Normalize(webhookFor(t, "customers/purchasing_summary", []byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		var s schemas.PurchasingSummary
		mustUnmarshal(t, ev.Data, &s)
		if s.CustomerID != 706405506930370084 || *s.NumberOfOrders != 7 || !s.AmountSpent.Equal(schemas.MustMoney("1234.50").Decimal) ||
			s.LastOrderID != 820982911946154508 || ev.OccurredAt.Format("2006-01-02T15:04:05Z07:00") != "2026-03-01T10:00:00Z" {
			t.Fatalf("%s → %+v", body, s)
		}
	}
}

func TestHTTPStatusAndShopCase(t *testing.T) {
	for err, want := range map[error]int{
		nil:                 200,
		ErrUnsupportedTopic: 200,
		ErrUnauthorized:     401,
		malformed("x"):      400,
		errors.New("kafka"): 500,
	} {
		if got := HTTPStatus(err); got != want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", err, got, want)
		}
	}
	in := webhookFor(t, "orders/delete", []byte(`{"id":1}`))
	lower, _ := Normalize(in)
	in.Shop = "Demo-Store.MyShopify.com"
	if _, err := Normalize(in); !errors.Is(err, ErrMalformed) {
		t.Errorf("mixed-case suffix accepted: %v", err)
	}
	in.Shop = "DEMO-STORE.myshopify.com"
	upper, err := Normalize(in)
	if err != nil || upper.Shop != testShop || upper.ID != lower.ID {
		t.Fatalf("%v %+v", err, upper)
	}
}
