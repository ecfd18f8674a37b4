package brevo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// Lists of the test account.
const (
	listAll       = 1
	listBuyers    = 2
	listAbandoned = 3
)

func newSink(t testing.TB, srv *brevotest.Server, mod ...func(*brevo.SinkConfig)) *brevo.Sink {
	t.Helper()
	cfg := *brevo.NewSinkConfig().(*brevo.SinkConfig)
	cfg.APIKey, cfg.BaseURL = config.Secret(srv.APIKey()), srv.URL()
	cfg.Timeout, cfg.ImportPollInterval = 5*time.Second, 5*time.Millisecond
	cfg.Lists.AllCustomers, cfg.Lists.Buyers, cfg.Lists.AbandonedCart = listAll, listBuyers, listAbandoned
	for _, m := range mod {
		m(&cfg)
	}
	s, err := brevo.NewSink(cfg, pipeline.Env{Name: "brevo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func newSim(t testing.TB, opts brevotest.Options) *brevotest.Server {
	t.Helper()
	if opts.Lists == nil {
		opts.Lists = map[int64]string{listAll: "All customers", listBuyers: "Buyers", listAbandoned: "Abandoned cart"}
	}
	srv := brevotest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

// envelope builds a record the way the transforms leave it.
func envelope(t testing.TB, typ, kind, entity string, data any, mod func(*schemas.Event)) *pipeline.Record {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ev := schemas.Event{Schema: schemas.EventSchema, ID: schemas.NewID("test", typ, entity, fmt.Sprint(time.Now().UnixNano())),
		Source: "shopify", Shop: "demo.myshopify.com", Type: typ, OccurredAt: at, ReceivedAt: at,
		Entity: schemas.Entity{Kind: kind, ID: entity}, Data: raw}
	if mod != nil {
		mod(&ev)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.Record{Key: []byte(ev.Shop), Value: b}
}

func customer(t testing.TB, id int, email, first string, mod func(*schemas.Event)) *pipeline.Record {
	return envelope(t, schemas.TypeCustomerUpdated, schemas.KindCustomer, fmt.Sprint(id),
		map[string]any{"id": id, "email": email, "first_name": first}, func(e *schemas.Event) {
			e.Identifiers = &schemas.Identifiers{Email: email, ExtID: fmt.Sprint(id)}
			e.Attributes = json.RawMessage(fmt.Sprintf(`{"FIRSTNAME":%q,"ORDER_COUNT":2,"TOTAL_SPENT":150.5,"LAST_ORDER_DATE":"2026-11-20"}`, first))
			if mod != nil {
				mod(e)
			}
		})
}

func TestSinkAcceptance(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	batch := pipelinetest.Events(250)
	pipelinetest.SinkAcceptance(t, pipelinetest.SinkHarness{
		New: func(t *testing.T) pipeline.Sink { return newSink(t, srv) },
		Delivered: func(t *testing.T) []string {
			var ids []string
			for _, r := range batch {
				ev, _ := schemas.DecodeEvent(r.Value)
				var d struct {
					Email string `json:"email"`
				}
				json.Unmarshal(ev.Data, &d)
				if c := srv.Contact(d.Email); c != nil && c.ExtID == ev.Entity.ID {
					ids = append(ids, ev.ID)
				}
			}
			return ids
		},
		Idempotent: true,
	})
	if n := len(srv.Contacts()); n != 250 {
		t.Fatalf("%d contacts, want 250", n)
	}
	if n := len(srv.ListMembers(listAll)); n != 250 {
		t.Fatalf("all_customers has %d members, want 250", n)
	}
}

func TestContactsSingleAndImportAgree(t *testing.T) {
	for _, threshold := range []int{0, 2} {
		t.Run(fmt.Sprintf("threshold=%d", threshold), func(t *testing.T) {
			srv := newSim(t, brevotest.Options{})
			s := newSink(t, srv, func(c *brevo.SinkConfig) { c.ImportThreshold = threshold })
			batch := []*pipeline.Record{
				customer(t, 1, "ann@example.com", "Ann", nil),
				customer(t, 2, "bob@example.com", "Bob", nil),
				customer(t, 1, "ann@example.com", "Anne", nil), // later update of the same contact wins
			}
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			c := srv.Contact("ann@example.com")
			if c == nil || c.ExtID != "1" || c.Attributes["FIRSTNAME"] != "Anne" {
				t.Fatalf("ann = %+v", c)
			}
			if got := fmt.Sprint(c.Attributes["TOTAL_SPENT"]); got != "150.5" {
				t.Fatalf("TOTAL_SPENT = %v", got)
			}
			if got := c.Attributes["LAST_ORDER_DATE"]; got != "2026-11-20" {
				t.Fatalf("LAST_ORDER_DATE = %v", got)
			}
			if len(srv.Contacts()) != 2 || len(srv.IgnoredValues()) != 0 {
				t.Fatalf("contacts %d, ignored values %v", len(srv.Contacts()), srv.IgnoredValues())
			}
			imports := srv.RequestCount("POST /contacts/import")
			if (threshold > 0) != (imports == 1) {
				t.Fatalf("threshold %d: %d imports", threshold, imports)
			}
		})
	}
}

func TestInvalidEmailIsRejectedOthersDelivered(t *testing.T) {
	for _, threshold := range []int{0, 2} {
		t.Run(fmt.Sprintf("threshold=%d", threshold), func(t *testing.T) {
			srv := newSim(t, brevotest.Options{})
			s := newSink(t, srv, func(c *brevo.SinkConfig) { c.ImportThreshold = threshold })
			batch := []*pipeline.Record{
				customer(t, 1, "ann@example.com", "Ann", nil),
				customer(t, 2, "not an email", "Bad", nil),
				customer(t, 3, "cat@example.com", "Cat", nil),
			}
			err := s.Write(context.Background(), batch)
			var be *pipeline.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("want a BatchError, got %v", err)
			}
			for i, e := range be.Errs {
				if i == 1 {
					if pipeline.ClassOf(e) != pipeline.Rejected || pipeline.CodeOf(e) != "invalid_parameter" {
						t.Fatalf("bad record: %v (class %s, code %q)", e, pipeline.ClassOf(e), pipeline.CodeOf(e))
					}
					if !strings.Contains(e.Error(), "Invalid email address") {
						t.Fatalf("want Brevo's message, got %v", e)
					}
					continue
				}
				if e != nil {
					t.Fatalf("record %d: %v", i, e)
				}
			}
			if srv.Contact("ann@example.com") == nil || srv.Contact("cat@example.com") == nil {
				t.Fatal("the valid contacts were not delivered")
			}
		})
	}
}

func TestRevokedKeyIsFatalNeverARejection(t *testing.T) {
	srv := newSim(t, brevotest.Options{APIKey: "xkeysib-abcdefabcdefabcdef-WXYZ"})
	s := newSink(t, srv)
	srv.RevokeKey()
	batch := []*pipeline.Record{
		customer(t, 1, "ann@example.com", "Ann", nil),
		envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, "10", order(10, "ann@example.com", 1), nil),
	}
	err := s.Write(context.Background(), batch)
	var be *pipeline.BatchError
	if errors.As(err, &be) || pipeline.ClassOf(err) != pipeline.Fatal {
		t.Fatalf("want one Fatal error for the batch, got %T %v", err, err)
	}
	if !strings.Contains(err.Error(), "WXYZ") || strings.Contains(err.Error(), "abcdefabcdef") {
		t.Fatalf("the message must name the key by its last characters only: %v", err)
	}
}

func order(id int, email string, customerID int) map[string]any {
	return map[string]any{"id": id, "name": fmt.Sprintf("#%d", id), "email": email, "total_price": "99.90", "currency": "EUR",
		"financial_status": "paid", "created_at": "2026-11-27T09:00:00Z", "updated_at": "2026-11-27T09:00:00Z",
		"customer":   map[string]any{"id": customerID, "email": email},
		"line_items": []any{map[string]any{"id": 1, "product_id": 555, "variant_id": 556, "quantity": 2, "price": "49.95", "title": "Mug"}},
	}
}

func TestOrderPlacedListsEventAndOrder(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	ctx := context.Background()
	checkout := envelope(t, schemas.TypeCheckoutCreated, schemas.KindCheckout, "77",
		map[string]any{"id": 77, "token": "tok", "email": "ann@example.com", "total_price": "99.90", "customer": map[string]any{"id": 1, "email": "ann@example.com"}}, nil)
	if err := s.Write(ctx, []*pipeline.Record{checkout}); err != nil {
		t.Fatal(err)
	}
	if got := srv.ListMembers(listAbandoned); len(got) != 1 {
		t.Fatalf("abandoned_cart = %v after an open checkout", got)
	}
	placed := envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, "10", order(10, "ann@example.com", 1), nil)
	if err := s.Write(ctx, []*pipeline.Record{placed}); err != nil {
		t.Fatal(err)
	}
	if got := srv.ListMembers(listAbandoned); len(got) != 0 {
		t.Fatalf("abandoned_cart = %v after the order", got)
	}
	if got := srv.ListMembers(listBuyers); len(got) != 1 || got[0] != "ann@example.com" {
		t.Fatalf("buyers = %v", got)
	}
	orders := srv.Orders()
	if len(orders) != 1 || orders[0].ID != "10" || orders[0].Historical {
		t.Fatalf("orders = %+v", orders)
	}
	var names []string
	for _, e := range srv.Events() {
		names = append(names, e.Name)
		if e.EventProperties["event_id"] == nil {
			t.Fatalf("event %s carries no event_id", e.Name)
		}
	}
	if strings.Join(names, ",") != "checkout_created,order_placed" {
		t.Fatalf("events = %v", names)
	}
}

func TestHistoricalOrdersNeverTriggerAutomations(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	rec := envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, "10", order(10, "ann@example.com", 1),
		func(e *schemas.Event) { e.Source = "shopify.backfill" })
	if err := s.Write(context.Background(), []*pipeline.Record{rec}); err != nil {
		t.Fatal(err)
	}
	orders := srv.Orders()
	if len(orders) != 1 || !orders[0].Historical || srv.RequestCount("POST /orders/status/batch") != 1 {
		t.Fatalf("orders = %+v", orders)
	}
	if n := len(srv.Events()); n != 0 {
		t.Fatalf("%d events sent for a backfilled order", n)
	}
}

func TestConsentPolicyApplied(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	// Brevo blocklisted dan through an unsubscribe link.
	srv.PutContact(brevotest.Contact{Email: "dan@example.com", ExtID: "4", EmailBlacklisted: true})
	srv.PutContact(brevotest.Contact{Email: "eve@example.com", ExtID: "5", EmailBlacklisted: true})
	s := newSink(t, srv)
	consent := func(state string) func(*schemas.Event) {
		return func(e *schemas.Event) { e.Consent = &schemas.Consent{Email: state} }
	}
	batch := []*pipeline.Record{
		customer(t, 3, "cy@example.com", "Cy", consent("unsubscribed")),
		customer(t, 4, "dan@example.com", "Dan", consent("subscribed")),
		customer(t, 5, "eve.new@example.com", "Eve", nil), // email change of a blocklisted contact
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if c := srv.Contact("cy@example.com"); c == nil || !c.EmailBlacklisted {
		t.Fatalf("an unsubscribe must blocklist: %+v", c)
	}
	if c := srv.Contact("dan@example.com"); c == nil || !c.EmailBlacklisted || c.Attributes["FIRSTNAME"] != "Dan" {
		t.Fatalf("a subscribe without resubscribe must not lift Brevo's blocklisting: %+v", c)
	}
	eve := srv.ContactByExtID("5")
	if eve.Email != "eve@example.com" || !eve.EmailBlacklisted || eve.Attributes["FIRSTNAME"] != "Eve" {
		t.Fatalf("the email change must be withheld, the rest applied: %+v", eve)
	}
}

func TestDeleteAfterUpsertInOneBatch(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	batch := []*pipeline.Record{
		customer(t, 1, "ann@example.com", "Ann", nil),
		envelope(t, schemas.TypeCustomerDeleted, schemas.KindCustomer, "1", map[string]any{"id": 1}, nil),
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if c := srv.ContactByExtID("1"); c != nil {
		t.Fatalf("the contact outlived its deletion: %+v", c)
	}
}

func TestAttributesAtStart(t *testing.T) {
	srv := newSim(t, brevotest.Options{Attributes: map[string]string{"AOV": "text"}})
	cfg := *brevo.NewSinkConfig().(*brevo.SinkConfig)
	cfg.APIKey, cfg.BaseURL = config.Secret(srv.APIKey()), srv.URL()
	s, err := brevo.NewSink(cfg, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Open(context.Background())
	if pipeline.ClassOf(err) != pipeline.Fatal || !strings.Contains(err.Error(), "AOV is text, want float") {
		t.Fatalf("a wrongly typed attribute must stop the start: %v", err)
	}

	ok := newSim(t, brevotest.Options{})
	newSink(t, ok)
	types := map[string]string{}
	for _, a := range ok.Attributes() {
		types[a.Name] = a.Type
	}
	for name, want := range map[string]string{"ORDER_COUNT": "float", "LAST_ORDER_DATE": "date", "VIP_TIER": "text", "AOV": "float"} {
		if types[name] != want {
			t.Errorf("%s is %q, want %q", name, types[name], want)
		}
	}
}

func TestUndeclaredAttributeIsCreatedByItsValue(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	rec := customer(t, 1, "ann@example.com", "Ann", func(e *schemas.Event) {
		e.Attributes = json.RawMessage(`{"FIRSTNAME":"Ann","IS_VIP":true,"BIRTHDAY":"1990-05-01"}`)
	})
	if err := s.Write(context.Background(), []*pipeline.Record{rec}); err != nil {
		t.Fatal(err)
	}
	c := srv.Contact("ann@example.com")
	if c.Attributes["IS_VIP"] != true || c.Attributes["BIRTHDAY"] != "1990-05-01" {
		t.Fatalf("attributes = %v", c.Attributes)
	}
}

func TestProductsAndCategories(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	prod := envelope(t, schemas.TypeProductUpdated, schemas.KindProduct, "555", map[string]any{
		"id": 555, "title": "Mug", "handle": "mug", "product_type": "Kitchen Ware", "vendor": "Acme",
		"variants": []any{map[string]any{"id": 556, "sku": "MUG-1", "price": "12.50"}},
	}, nil)
	gone := envelope(t, schemas.TypeProductDeleted, schemas.KindProduct, "777", map[string]any{"id": 777}, nil)
	if err := s.Write(context.Background(), []*pipeline.Record{prod, gone}); err != nil {
		t.Fatal(err)
	}
	byID := map[string]brevotest.Product{}
	for _, p := range srv.Products() {
		byID[p.ID] = p
	}
	if p := byID["555"]; p.Name != "Mug" || p.SKU != "MUG-1" || len(p.Categories) != 1 || p.Categories[0] != "type-kitchen-ware" {
		t.Fatalf("product = %+v", p)
	}
	if !byID["777"].IsDeleted {
		t.Fatalf("deleted product = %+v", byID["777"])
	}
	if cats := srv.Categories(); len(cats) != 1 || cats[0].Name != "Kitchen Ware" {
		t.Fatalf("categories = %+v", cats)
	}
}

func TestCoalescedConsentActsInOrder(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	consent := func(state string) func(*schemas.Event) {
		return func(e *schemas.Event) { e.Consent = &schemas.Consent{Email: state} }
	}
	// Unsubscribed, then subscribed without an explicit resubscribe: applied
	// one by one the contact ends blocklisted, so coalesced too.
	batch := []*pipeline.Record{
		customer(t, 1, "ann@example.com", "Ann", consent("unsubscribed")),
		customer(t, 1, "ann@example.com", "Ann", consent("subscribed")),
		customer(t, 2, "bob@example.com", "Bob", nil),
		customer(t, 2, "bob.new@example.com", "Bobby", nil), // same ext_id, new email: one contact
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if c := srv.Contact("ann@example.com"); c == nil || !c.EmailBlacklisted {
		t.Fatalf("ann = %+v", c)
	}
	if c := srv.ContactByExtID("2"); c == nil || c.Email != "bob.new@example.com" || c.Attributes["FIRSTNAME"] != "Bobby" || len(srv.Contacts()) != 2 {
		t.Fatalf("bob = %+v (%d contacts)", c, len(srv.Contacts()))
	}
}

func TestPhoneOnlyContact(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	rec := envelope(t, schemas.TypeCustomerCreated, schemas.KindCustomer, "9", map[string]any{"id": 9, "phone": "+33612345678"}, func(e *schemas.Event) {
		e.Identifiers = &schemas.Identifiers{ExtID: "9", Phone: "+33612345678"}
		e.Attributes = json.RawMessage(`{"SMS":"+33612345678","FIRSTNAME":"Phoebe"}`)
	})
	if err := s.Write(context.Background(), []*pipeline.Record{rec}); err != nil {
		t.Fatal(err)
	}
	c := srv.ContactByExtID("9")
	if c == nil || c.Attributes["SMS"] != "+33612345678" || !strings.HasSuffix(c.Email, "@mailin-sms.com") || fmt.Sprint(c.ListIDs) != "[1]" {
		t.Fatalf("phone-only contact = %+v", c)
	}
}

func TestOrderStatusesOfOneBatchKeepTheLast(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	paid := order(10, "ann@example.com", 1)
	refunded := order(10, "ann@example.com", 1)
	refunded["financial_status"] = "refunded"
	batch := []*pipeline.Record{
		envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, "10", paid, nil),
		envelope(t, schemas.TypeOrderUpdated, schemas.KindOrder, "10", refunded, nil),
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if o := srv.Orders(); len(o) != 1 || o[0].Status != "refunded" {
		t.Fatalf("orders = %+v", o)
	}
}

func TestExtIDOnlyUpdatesOrRejects(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	srv.PutContact(brevotest.Contact{Email: "ann@example.com", ExtID: "1"})
	s := newSink(t, srv)
	summary := func(id int) *pipeline.Record {
		return envelope(t, schemas.TypeCustomerPurchasingSummary, schemas.KindCustomer, fmt.Sprint(id),
			map[string]any{"customer_id": id, "number_of_orders": 3}, func(e *schemas.Event) {
				e.Identifiers = &schemas.Identifiers{ExtID: fmt.Sprint(id)}
				e.Attributes = json.RawMessage(`{"ORDER_COUNT":3}`)
			})
	}
	err := s.Write(context.Background(), []*pipeline.Record{summary(1), summary(2)})
	errs := batchErrs(t, err, 2)
	if errs[0] != nil {
		t.Fatalf("known contact: %v", errs[0])
	}
	if pipeline.ClassOf(errs[1]) != pipeline.Rejected || !strings.Contains(errs[1].Error(), "ext_id 2") {
		t.Fatalf("unknown contact: %v", errs[1])
	}
	if c := srv.Contact("ann@example.com"); fmt.Sprint(c.Attributes["ORDER_COUNT"]) != "3" {
		t.Fatalf("ann = %+v", c)
	}
}
