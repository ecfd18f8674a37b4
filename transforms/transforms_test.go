package transforms

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
)

func TestTypoFailsValidateWithPathAndField(t *testing.T) {
	_, err := config.Parse([]byte("version: 1\nfield_mapping:\n  FIRSTNAME: customer.frist_name\ntransforms:\n  stages:\n    - {name: m, type: map, fields: {X: 'order.totl_price'}}\n"), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("a typo passed validation")
	}
	for _, want := range []string{"field_mapping.FIRSTNAME: unknown field customer.frist_name", "did you mean first_name?", "column 10",
		"transforms.stages[0].fields.X: unknown field order.totl_price"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestDefaultMappingRESTCustomerFixture(t *testing.T) {
	c := newChain(t, "")
	var body struct{ Customer json.RawMessage }
	json.Unmarshal(fixture(t, "customer.go-shopify.json"), &body)
	data := canonical(t, body.Customer, new(schemas.Customer))
	o := c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "1", t0, data)))
	want := map[string]any{"FIRSTNAME": "Test", "LASTNAME": "Citizen", "ORDER_COUNT": 4.0, "TOTAL_SPENT": 278.6,
		"AOV": 69.65, "TAGS": "tag1, tag2", "CUSTOMER_TYPE": "returning", "VIP_TIER": "bronze"}
	for k, v := range want {
		if o.Attrs[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, o.Attrs[k], v, o.Attrs)
		}
	}
	if o.Identifiers == nil || o.Identifiers.Email != "test@example.com" || o.Identifiers.ExtID != "1" {
		t.Errorf("identifiers = %+v", o.Identifiers)
	}
	if _, ok := o.Attrs["RECENCY"]; ok {
		t.Error("RECENCY without a known last order date")
	}
	if !bytes.Contains(o.raw, []byte(`"data":`)) || !json.Valid(o.raw) {
		t.Fatalf("envelope damaged: %s", o.raw)
	}
	if _, err := schemas.DecodeEvent(o.raw); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookCustomerWithoutCountersHasNoInventedTotals(t *testing.T) {
	c := newChain(t, "")
	data := canonical(t, fixture(t, "customers-update.json"), new(schemas.Customer))
	o := c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "706405506930370084", t0, data)))
	if o.Attrs["FIRSTNAME"] != "Bob" || o.Identifiers.ExtID != "706405506930370084" {
		t.Fatalf("attributes %v identifiers %+v", o.Attrs, o.Identifiers)
	}
	for _, k := range []string{"ORDER_COUNT", "AOV", "TOTAL_SPENT", "RECENCY"} {
		if _, ok := o.Attrs[k]; ok {
			t.Errorf("%s sent for a customer whose orders tajo never saw", k)
		}
	}
}

func TestAOVIsZeroForACustomerWithNoOrders(t *testing.T) {
	c := newChain(t, "")
	var search struct{ Customers []json.RawMessage }
	json.Unmarshal(fixture(t, "customers-search.shopify_python_api.json"), &search)
	data := canonical(t, search.Customers[0], new(schemas.Customer))
	fx := c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "207119551", t0, data)))
	if fx.Attrs["AOV"] != 0.0 || fx.Attrs["ORDER_COUNT"] != 0.0 || fx.Attrs["TOTAL_SPENT"] != 0.0 || fx.Attrs["FIRSTNAME"] != "Bob" {
		t.Fatalf("fixture customer without orders: %v", fx.Attrs)
	}
	if !bytes.Contains(fx.raw, []byte(`"AOV":0`)) {
		t.Fatalf("AOV not a plain 0: %s", fx.raw)
	}
	o := c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "5", t0,
		`{"id":5,"email":"a@example.com","orders_count":0,"total_spent":"0.00","updated_at":"2026-11-27T10:00:00Z"}`)))
	if o.Attrs["AOV"] != 0.0 || o.Attrs["ORDER_COUNT"] != 0.0 || o.Attrs["CUSTOMER_TYPE"] != "prospect" {
		t.Fatalf("attributes %v", o.Attrs)
	}
	o = c.mustRun(record(t, event(t, schemas.TypeCustomerPurchasingSummary, "customer", "6", t0,
		`{"customer_id":6,"number_of_orders":"0","amount_spent":"0.0"}`)))
	if o.Attrs["AOV"] != 0.0 {
		t.Fatalf("purchasing summary of 0 orders: AOV %v", o.Attrs["AOV"])
	}
}

func order(id int64, total string, at time.Time) string {
	return `{"id":` + itoa(id) + `,"total_price":"` + total + `","created_at":"` + at.Format(time.RFC3339) +
		`","customer":{"id":42,"email":"zoe@example.com","first_name":"Zoë"},"line_items":[{"product_id":7,"quantity":2,"price":"1.00"}]}`
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestPlacedPlacedRefundedGivesMerchantTotals(t *testing.T) {
	c := newChain(t, "")
	at1, at2 := t0.Add(-72*time.Hour), t0.Add(-30*time.Hour)
	recs := []*pipeline.Record{
		record(t, event(t, schemas.TypeOrderPlaced, "order", "1001", at1, order(1001, "100.00", at1))),
		record(t, event(t, schemas.TypeOrderPlaced, "order", "1002", at2, order(1002, "50.50", at2))),
		record(t, event(t, schemas.TypeOrderRefunded, "refund", "9", t0.Add(-time.Hour),
			`{"id":9,"order_id":1002,"transactions":[{"id":1,"kind":"refund","status":"success","amount":"50.50"}]}`)),
	}
	var o *output2
	for round := 0; round < 2; round++ { // the second round is a redelivery of every message
		for _, r := range recs {
			cp := &pipeline.Record{Key: r.Key, Value: r.Value}
			o = c.mustRun(cp)
		}
		if o == nil {
			t.Fatal("refund event dropped")
		}
	}
	// The refund event carries no customer; its effect shows on the next
	// event about the customer.
	o = c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "42", t0,
		`{"id":42,"email":"zoe@example.com","updated_at":"2026-11-27T10:00:00Z"}`)))
	want := map[string]any{"ORDER_COUNT": 1.0, "TOTAL_SPENT": 100.0, "AOV": 100.0, "LAST_ORDER_DATE": at1.Format("2006-01-02"), "RECENCY": 3.0}
	for k, v := range want {
		if o.Attrs[k] != v {
			t.Errorf("%s = %v, want %v (all %v)", k, o.Attrs[k], v, o.Attrs)
		}
	}
}

func TestRecencyCountsWholeDaysInTheShopTimezone(t *testing.T) {
	for _, tc := range []struct {
		tz   string
		want float64
	}{{"UTC", 1}, {"Asia/Tokyo", 0}, {"America/Los_Angeles", 0}} {
		c := newChain(t, "transforms: {shops: {shop.myshopify.com: {timezone: "+tc.tz+"}}}\n")
		c.now = time.Date(2026, 11, 27, 0, 30, 0, 0, time.UTC)
		at := time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC)
		o := c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "1", at, order(1, "10.00", at))))
		if o.Attrs["RECENCY"] != tc.want {
			t.Errorf("%s: RECENCY %v, want %v", tc.tz, o.Attrs["RECENCY"], tc.want)
		}
	}
}

func TestOutOfOrderUpdatesNeverOverwriteNewerValues(t *testing.T) {
	c := newChain(t, "")
	newer := record(t, event(t, schemas.TypeCustomerUpdated, "customer", "42", t0, `{"id":42,"first_name":"New","updated_at":"2026-11-27T10:00:00Z"}`))
	older := record(t, event(t, schemas.TypeCustomerUpdated, "customer", "42", t0.Add(-time.Minute), `{"id":42,"first_name":"Old","updated_at":"2026-11-27T09:59:00Z"}`))
	before := SkipCounts()[SkipStale]
	if o := c.mustRun(newer); o.Attrs["FIRSTNAME"] != "New" {
		t.Fatal(o.Attrs)
	}
	if o := c.mustRun(older); o != nil {
		t.Fatalf("a stale update passed: %v", o.Attrs)
	}
	if SkipCounts()[SkipStale] != before+1 {
		t.Fatal("the stale skip was not counted")
	}
	// A consent change is another family: older than the profile update,
	// it still applies.
	consent := record(t, event(t, schemas.TypeCustomerEmailConsentUpdated, "customer", "42", t0.Add(-time.Hour),
		`{"customer_id":42,"email_address":"a@example.com","email_marketing_consent":{"state":"unsubscribed"}}`))
	if o := c.mustRun(consent); o == nil || o.Consent == nil || o.Consent.Email != "unsubscribed" {
		t.Fatalf("consent update: %+v", o)
	}
}

func TestDuplicateDroppedRedeliveryPasses(t *testing.T) {
	c := newChain(t, "")
	e := event(t, schemas.TypeCustomerUpdated, "customer", "42", t0, `{"id":42,"first_name":"A","updated_at":"2026-11-27T10:00:00Z"}`)
	first := record(t, e)
	c.mustRun(first)
	if o := c.mustRun(record(t, e)); o == nil {
		t.Fatal("a redelivery of the same message was dropped: data loss after a crash")
	}
	dup := *e
	dup.ReceivedAt = t0.Add(time.Minute) // Shopify delivered the same webhook again
	if o := c.mustRun(record(t, &dup)); o != nil {
		t.Fatal("a duplicate delivery passed")
	}
}

func TestNonFiniteAndBadValuesAreRejected(t *testing.T) {
	for expr, want := range map[string]string{
		`1.0 / 0`:                         "not a finite number",
		`{"a": 1}`:                        "not an attribute value",
		`e164("call me maybe", "FR")`:     "not a phone number",
		`safeDiv(1, 0)`:                   "",
		`toDate("yesterday")`:             "not a date",
		`[1, 2]`:                          "only strings",
		`round(money(order.total_price))`: "",
	} {
		c := newChain(t, "transforms: {stages: [{name: m, type: map, fields: {X: '"+strings.ReplaceAll(expr, "'", "''")+"'}}]}\n")
		_, err := c.run(record(t, event(t, schemas.TypeCartUpdated, "cart", "c", t0, `{"id":"c"}`)))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", expr, err)
			}
			continue
		}
		if pipeline.ClassOf(err) != pipeline.Rejected || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want a rejection with %q, got %v", expr, want, err)
		}
	}
}

func TestEventsNoMappingAppliesToPassUnchanged(t *testing.T) {
	c := newChain(t, "")
	rec := record(t, event(t, schemas.TypeCartUpdated, "cart", "c1", t0, `{"id":"c1","token":"c1"}`))
	in := append([]byte(nil), rec.Value...)
	o := c.mustRun(rec)
	if !bytes.Equal(o.raw, in) {
		t.Fatalf("changed:\n%s\n%s", in, o.raw)
	}
	// Not even a tajo event of a known type: passes too.
	rec = record(t, event(t, "something_new", "thing", "1", t0, `{"x":1}`))
	if o := c.mustRun(rec); o == nil {
		t.Fatal("unknown type dropped")
	}
}

func TestProductFilterFixture(t *testing.T) {
	data := canonical(t, fixture(t, "products-create.json"), new(schemas.Product))
	ev := event(t, schemas.TypeProductCreated, "product", "1", t0, data)
	for cfg, dropped := range map[string]bool{
		`{filter: {status: [draft]}}`:      true,
		`{filter: {exclude_tags: [Mens]}}`: true,
		`{enabled: false}`:                 true,
		`{filter: {status: [active]}, include_variants: false, include_images: false, categories_as_tags: true}`: false,
	} {
		c := newChain(t, "transforms: {stages: [{name: p, type: product_filter, products: "+cfg+"}]}\n")
		o := c.mustRun(record(t, ev))
		if (o == nil) != dropped {
			t.Errorf("%s: dropped %v, want %v", cfg, o == nil, dropped)
			continue
		}
		if o != nil {
			var p schemas.Product
			json.Unmarshal(o.Data, &p)
			if len(p.Variants) != 1 || len(p.Images) != 0 {
				t.Errorf("variants %d images %d", len(p.Variants), len(p.Images))
			}
			if cats, _ := o.Attrs["categories"].([]any); len(cats) != 3 {
				t.Errorf("categories %v", o.Attrs["categories"])
			}
		}
	}
}

func TestRouteAndFilter(t *testing.T) {
	c := newChain(t, `transforms:
  stages:
    - {name: drop-carts, type: filter, condition: 'event.type != "cart_updated"'}
    - name: where
      type: route
      sinks: {brevo: 'customer.email != ""', clickhouse: "true"}
`)
	if o := c.mustRun(record(t, event(t, schemas.TypeCartUpdated, "cart", "c", t0, `{"id":"c"}`))); o != nil {
		t.Fatal("filtered event passed")
	}
	o := c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "1", t0, `{"id":1,"email":"a@b.c"}`)))
	if strings.Join(o.sinks, ",") != "brevo,clickhouse" {
		t.Fatal(o.sinks)
	}
	o = c.mustRun(record(t, event(t, schemas.TypeProductUpdated, "product", "1", t0, `{"id":1}`)))
	if strings.Join(o.sinks, ",") != "clickhouse" {
		t.Fatal(o.sinks)
	}
}

func TestFieldMappingOverrides(t *testing.T) {
	c := newChain(t, `field_mapping:
  first_name: PRENOM
  loyalty_tier: false
  AOV: round(safeDiv(money(customer.total_spent), customer.orders_count), 0)
  SCORE: customer.orders_count * 10
`)
	o := c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "5", t0,
		`{"id":5,"first_name":"Zoë","orders_count":3,"total_spent":"100.00","tags":"vip"}`)))
	if o.Attrs["PRENOM"] != "Zoë" || o.Attrs["FIRSTNAME"] != nil || o.Attrs["VIP_TIER"] != nil || o.Attrs["AOV"] != 33.0 || o.Attrs["SCORE"] != 30.0 || o.Attrs["ORDER_COUNT"] != 3.0 {
		t.Fatal(o.Attrs)
	}
}

func TestCancelledAndMovedOrdersLeaveTheTotals(t *testing.T) {
	c := newChain(t, "")
	at := t0.Add(-48 * time.Hour)
	c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "1", at, order(1, "40.00", at))))
	c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "2", at, order(2, "60.00", at))))
	cancelled := strings.Replace(order(1, "40.00", at), `"customer"`, `"cancelled_at":"2026-11-26T10:00:00Z","customer"`, 1)
	o := c.mustRun(record(t, event(t, schemas.TypeOrderCancelled, "order", "1", at.Add(time.Hour), cancelled)))
	if o.Attrs["ORDER_COUNT"] != 1.0 || o.Attrs["TOTAL_SPENT"] != 60.0 {
		t.Fatalf("after cancel: %v", o.Attrs)
	}
	// Order 2 moves to customer 43 (a merge): 42 loses it, 43 gains it.
	moved := strings.Replace(order(2, "60.00", at), `"id":42`, `"id":43`, 1)
	o = c.mustRun(record(t, event(t, schemas.TypeOrderUpdated, "order", "2", at.Add(2*time.Hour), moved)))
	if o.Attrs["ORDER_COUNT"] != 1.0 || o.Identifiers.ExtID != "43" {
		t.Fatalf("new owner: %v %+v", o.Attrs, o.Identifiers)
	}
	o = c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "42", t0, `{"id":42,"email":"zoe@example.com"}`)))
	if o.Attrs["ORDER_COUNT"] != 0.0 || o.Attrs["AOV"] != 0.0 || o.Attrs["CUSTOMER_TYPE"] != "prospect" {
		t.Fatalf("old owner: %v", o.Attrs)
	}
}

// After a crash the uncommitted records come back in order: an update the
// guard applied but no sink received must pass again, not look stale.
func TestRedeliveryAfterACrashIsNotStale(t *testing.T) {
	c := newChain(t, "")
	a := event(t, schemas.TypeCustomerUpdated, "customer", "9", t0, `{"id":9,"first_name":"A","updated_at":"2026-11-27T10:00:00Z"}`)
	b := event(t, schemas.TypeCustomerUpdated, "customer", "9", t0.Add(time.Second), `{"id":9,"first_name":"B","updated_at":"2026-11-27T10:00:01Z"}`)
	ra, rb := record(t, a), record(t, b)
	c.mustRun(&pipeline.Record{Value: ra.Value})
	c.mustRun(&pipeline.Record{Value: rb.Value})
	if o := c.mustRun(&pipeline.Record{Value: ra.Value}); o == nil || o.Attrs["FIRSTNAME"] != "A" {
		t.Fatal("the redelivered older update was dropped: it may never have reached a sink")
	}
	if o := c.mustRun(&pipeline.Record{Value: rb.Value}); o == nil || o.Attrs["FIRSTNAME"] != "B" {
		t.Fatal("the redelivered newer update was dropped")
	}
	dupA := *a
	dupA.ReceivedAt = t0.Add(time.Hour)
	if o := c.mustRun(record(t, &dupA)); o != nil {
		t.Fatal("a second delivery of A passed")
	}
	older := event(t, schemas.TypeCustomerUpdated, "customer", "9", t0.Add(-time.Second), `{"id":9,"first_name":"Z","updated_at":"2026-11-27T09:59:59Z"}`)
	if o := c.mustRun(record(t, older)); o != nil {
		t.Fatal("a stale update passed")
	}
}

func TestStageKeysThatDoNotApplyAreReported(t *testing.T) {
	_, err := config.Parse([]byte("version: 1\ntransforms:\n  stages:\n    - {name: a, type: filter, condition: 'true', fields: {X: '1'}}\n    - {name: a, type: gaurd}\n"), func(string) (string, bool) { return "", false })
	for _, want := range []string{"transforms.stages[0].fields: does not apply to a filter stage", `transforms.stages[1].name: "a" is used by another stage`, `transforms.stages[1].type: must be one of`, `did you mean "guard"?`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

func TestRouteToAnUnknownSinkFailsTheStart(t *testing.T) {
	cfg := parse(t, "transforms: {stages: [{name: r, type: route, sinks: {brevoo: 'true'}}]}\n")
	if _, err := Build(cfg, pipeline.Env{}); err == nil || !strings.Contains(err.Error(), "sinks.brevoo: no enabled sink") {
		t.Fatalf("got %v", err)
	}
}

// Shopify's purchasing summary replaces the totals as of its time; orders
// after it add to it, orders before it are not counted twice.
func TestPurchasingSummarySeedsTheTotals(t *testing.T) {
	c := newChain(t, "")
	at := t0.Add(-96 * time.Hour)
	c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "1", at, order(1, "40.00", at))))
	o := c.mustRun(record(t, event(t, schemas.TypeCustomerPurchasingSummary, "customer", "42", at.Add(time.Hour),
		`{"customer_id":42,"number_of_orders":"5","amount_spent":"500.00","occurred_at":"2026-11-23T11:00:00Z"}`)))
	if o.Attrs["ORDER_COUNT"] != 5.0 || o.Attrs["TOTAL_SPENT"] != 500.0 || o.Attrs["AOV"] != 100.0 {
		t.Fatalf("after the summary: %v", o.Attrs)
	}
	at2 := t0.Add(-time.Hour)
	o = c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "2", at2, order(2, "100.00", at2))))
	if o.Attrs["ORDER_COUNT"] != 6.0 || o.Attrs["TOTAL_SPENT"] != 600.0 || o.Attrs["RECENCY"] != 0.0 {
		t.Fatalf("after a later order: %v", o.Attrs)
	}
	// An older summary arriving late changes nothing.
	o = c.mustRun(record(t, event(t, schemas.TypeCustomerPurchasingSummary, "customer", "42", at.Add(-time.Hour),
		`{"customer_id":42,"number_of_orders":"1","amount_spent":"10.00","occurred_at":"2026-11-23T09:00:00Z"}`)))
	if o != nil && o.Attrs["ORDER_COUNT"] != 6.0 {
		t.Fatalf("a stale summary changed the totals: %v", o.Attrs)
	}
}
