package shopify

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tajo/tajo/schemas"
)

// TestNormalizeHostile sorts hostile bodies into the three verdicts of
// DESIGN.md invariant 7: a body that is not JSON is refused (ErrMalformed,
// 400); JSON that cannot become a canonical event is an unprocessable
// delivery (200, error history); anything else is an event whose
// problems name what was left out. Never a panic.
func TestNormalizeHostile(t *testing.T) {
	customer, _ := os.ReadFile("testdata/webhooks/customers-update.json")
	swap := func(old, new string) string {
		if !strings.Contains(string(customer), old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(string(customer), old, new, 1)
	}
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	const (
		notJSON = iota
		unprocessable
		withProblems
	)
	for _, c := range []struct {
		name, topic, body string
		verdict           int
		problem           string // a substring of a problem, for the other two
	}{
		{"empty", "customers/update", "", notJSON, ""},
		{"whitespace", "customers/update", "  \n", notJSON, ""},
		{"not json", "customers/update", "id=1&email=x", notJSON, ""},
		{"truncated", "customers/update", string(customer[:len(customer)/2]), notJSON, ""},
		{"trailing garbage", "customers/update", string(customer) + "}", notJSON, ""},
		{"two documents", "customers/update", `{"id":1} {"id":2}`, notJSON, ""},
		{"invalid utf-8", "customers/update", "{\"id\":1,\"email\":\"\xff\xfe\"}", notJSON, ""},
		{"deep nesting", "orders/create", `{"id":1,"x":` + deep + `}`, notJSON, ""},

		{"array", "customers/update", `[{"id":1}]`, unprocessable, "not an object"},
		{"string", "orders/create", `"hello"`, unprocessable, "not an object"},
		{"null", "orders/create", `null`, unprocessable, "not an object"},
		{"missing id", "customers/update", `{"email":"a@b.c"}`, unprocessable, `missing or zero "id"`},
		{"zero id", "orders/create", `{"id":0}`, unprocessable, `missing or zero "id"`},
		{"null id", "products/update", `{"id":null,"title":"x"}`, unprocessable, `missing or zero "id"`},
		{"id above int64", "customers/update", swap("706405506930370084", "99999999999999999999"), unprocessable, "id: cannot read 99999999999999999999 as an id"},
		{"negative id", "customers/update", swap("706405506930370084", "-706405506930370084"), unprocessable, "id: cannot read"},
		{"fractional id", "customers/update", swap("706405506930370084", "706405506930370084.5"), unprocessable, "id: cannot read"},
		{"exponent id", "customers/update", swap("706405506930370084", "7.06405506930370084e17"), unprocessable, "id: cannot read"},
		{"id as bool", "customers/update", swap("706405506930370084", "true"), unprocessable, "id: cannot read true"},
		{"id as object", "orders/delete", `{"id":{"id":1}}`, unprocessable, "id: cannot read"},
		{"id as non-numeric string", "customers/update", swap("706405506930370084", `"abc"`), unprocessable, `id: cannot read "abc"`},
		{"checkout without id or token", "checkouts/update", `{"email":"a@b.c"}`, unprocessable, `missing both "id" and "token"`},
		{"cart without id or token", "carts/update", `{"note":"x"}`, unprocessable, `missing both`},
		{"level without location", "inventory_levels/update", `{"inventory_item_id":1}`, unprocessable, "location_id"},
		{"consent without customer", "customers_email_marketing_consent/update", `{"email_address":"a@b.c"}`, unprocessable, "customer_id"},
		{"sms consent without customer", "customers_marketing_consent/update", `{"phone":"+1"}`, unprocessable, `"id"`},
		{"tags event without customer", "customer.tags_added", `{"tags":["a"]}`, unprocessable, "customerId"},
		{"summary with bad gid", "customers/purchasing_summary", `{"customerId":"gid://shopify/Customer/abc"}`, unprocessable, "customerId"},
		{"redact with customer id as string", "customers/redact", `{"shop_id":1,"customer":{"id":"x"},"orders_to_redact":[]}`, unprocessable, `no "customer" with an "id"`},
		{"unknown topic", "themes/publish", `{"id":1}`, unprocessable, `topic "themes/publish"`},

		{"email as number", "customers/update", swap(`"bob@biller.com"`, "42"), withProblems, "email: cannot read 42 as a string"},
		{"addresses as object", "customers/update", swap(`"addresses": []`, `"addresses": {"a":1}`), withProblems, "addresses: cannot read"},
		{"bad timestamp", "customers/update", swap(`"updated_at": "2021-12-31T19:00:00-05:00"`, `"updated_at": "yesterday"`), withProblems, `updated_at: cannot read "yesterday" as a time`},
		{"huge money exponent", "orders/create", `{"id":1,"total_price":"1e999999999"}`, withProblems, "total_price: cannot read"},
		{"money as bool", "orders/create", `{"id":1,"total_price":true}`, withProblems, "total_price: cannot read true as a decimal amount"},
		{"money too long", "orders/create", `{"id":1,"total_price":"` + strings.Repeat("1", 500) + `"}`, withProblems, "total_price: cannot read"},
		{"quantity overflow", "orders/create", `{"id":1,"line_items":[{"quantity":1e30}]}`, withProblems, "line_items[0].quantity: cannot read 1e30 as an integer"},
		{"quantity fraction", "orders/create", `{"id":1,"line_items":[{"quantity":1.5}]}`, withProblems, "line_items[0].quantity"},
		{"tags as number", "products/update", `{"id":1,"tags":7}`, withProblems, "tags: cannot read 7 as tags"},
		{"summary with bad amount", "customers/purchasing_summary", `{"customerId":"gid://shopify/Customer/1","amountSpent":{"amount":"lots"}}`, withProblems, "amountSpent"},
		{"large body", "orders/create", `{"id":1,"note":"` + strings.Repeat("a", 9<<20) + `"}`, withProblems, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Normalize(webhookFor(t, c.topic, []byte(c.body)))
			switch c.verdict {
			case notJSON:
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, event %v; want ErrMalformed", err, ev)
				}
				if len(err.Error()) > 600 {
					t.Errorf("error message of %d bytes echoes the input", len(err.Error()))
				}
				return
			case unprocessable:
				if err != nil || ev.Type != schemas.TypeDeliveryUnprocessable {
					t.Fatalf("err = %v, event %+v; want an unprocessable delivery", err, ev)
				}
				if string(ev.Raw) != c.body || len(ev.Data) != 0 {
					t.Errorf("raw %.80s, data %s", ev.Raw, ev.Data)
				}
			case withProblems:
				if err != nil || ev.Type == schemas.TypeDeliveryUnprocessable {
					t.Fatalf("err = %v, event %+v; want an event", err, ev)
				}
			}
			if err := ev.Validate(); err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(ev.Problems, "\n")
			if !strings.Contains(joined, c.problem) {
				t.Errorf("problems %q lack %q", ev.Problems, c.problem)
			}
			for _, p := range ev.Problems {
				if len(p) > 200 {
					t.Errorf("problem of %d bytes echoes the input", len(p))
				}
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
		// A redaction that names no one is not honoured silently: it is
		// kept, unprocessable, for a person to look at.
		ev, err := Normalize(webhookFor(t, "customers/redact", []byte(`{"shop_domain":"x","customer":{}}`)))
		if err != nil || ev.Type != schemas.TypeDeliveryUnprocessable || ev.Entity.Kind != "customer" {
			t.Fatalf("%v %+v", err, ev)
		}
		ev, err = Normalize(webhookFor(t, "shop/redact", []byte(`{"shop_domain":"{shop}.myshopify.com"}`)))
		if err != nil || ev.Type != schemas.TypeShopRedact || ev.Entity.ID != testShop {
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
	if ev, err := Normalize(in); err != nil || ev.Type != schemas.TypeDeliveryUnprocessable || !strings.HasPrefix(ev.Shop, "unverified:") {
		t.Errorf("mixed-case suffix accepted as a tenant: %v %+v", err, ev)
	}
	in.Shop = "DEMO-STORE.myshopify.com"
	upper, err := Normalize(in)
	if err != nil || upper.Shop != testShop || upper.ID != lower.ID {
		t.Fatalf("%v %+v", err, upper)
	}
}
