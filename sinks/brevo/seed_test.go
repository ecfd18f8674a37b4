package brevo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// The seed's settings and triggers, asserted on what reached the
// simulated Brevo account.

// writes counts the requests that change something in Brevo (anything
// but a GET).
func writes(srv *brevotest.Server) int {
	n := 0
	for route, c := range srv.RequestCounts() {
		if !strings.HasPrefix(route, "GET ") {
			n += c
		}
	}
	return n
}

// outcomes returns Write's outcome for each of n records.
func outcomes(t *testing.T, err error, n int) []error {
	t.Helper()
	if err == nil {
		return make([]error, n)
	}
	var be *pipeline.BatchError
	if errors.As(err, &be) && len(be.Errs) == n {
		return be.Errs
	}
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

func skipReason(err error) string {
	var skip *pipeline.SkipError
	if errors.As(err, &skip) {
		return skip.Reason
	}
	return ""
}

func refund(t testing.TB, orderID int, amount string, mod func(*schemas.Event)) *pipeline.Record {
	return envelope(t, schemas.TypeOrderRefunded, schemas.KindRefund, fmt.Sprint(orderID*10), map[string]any{
		"id": orderID * 10, "order_id": orderID,
		"transactions": []map[string]any{{"id": 1, "kind": "refund", "status": "success", "amount": amount, "currency": "EUR"}},
	}, func(e *schemas.Event) { e.Topic = "refunds/create"; mod(e) })
}

// Every record for which no request is made is reported skipped with the
// reason, never delivered, and nothing reaches Brevo.
func TestNoRequestIsSkippedWithItsReason(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*brevo.SinkConfig)
		rec  func(t *testing.T) *pipeline.Record
		want string
	}{
		{"no rule", nil, func(t *testing.T) *pipeline.Record {
			return envelope(t, schemas.TypeInventoryLevelUpdated, schemas.KindInventoryLevel, "808950810", map[string]any{"inventory_item_id": 808950810, "available": 3},
				func(e *schemas.Event) { e.Topic = "inventory_levels/update" })
		}, "no Brevo rule for inventory_levels/update"},
		{"refund without buyer", nil, func(t *testing.T) *pipeline.Record {
			return refund(t, 4100, "10.00", func(*schemas.Event) {})
		}, "refund of an order without a known buyer"},
		{"cart without buyer", nil, func(t *testing.T) *pipeline.Record {
			return envelope(t, schemas.TypeCartUpdated, schemas.KindCart, "c1", map[string]any{"id": "c1", "token": "c1"}, nil)
		}, "cart without a known buyer (Shopify carts name none)"},
		{"events off", func(c *brevo.SinkConfig) { c.Events.Enabled = false }, func(t *testing.T) *pipeline.Record {
			return envelope(t, schemas.TypeCartUpdated, schemas.KindCart, "c2", map[string]any{"id": "c2", "token": "c2"},
				func(e *schemas.Event) { e.Identifiers = &schemas.Identifiers{Email: "cart@example.com"} })
		}, "custom events are off (sinks.brevo.events.enabled: false)"},
		{"e-commerce off", func(c *brevo.SinkConfig) { c.Ecommerce.Enabled = false }, func(t *testing.T) *pipeline.Record {
			return envelope(t, schemas.TypeProductUpdated, schemas.KindProduct, "77", map[string]any{"id": 77, "title": "Mug"}, nil)
		}, "e-commerce is off (sinks.brevo.ecommerce.enabled: false)"},
		{"historical cart", nil, func(t *testing.T) *pipeline.Record {
			return envelope(t, schemas.TypeCartUpdated, schemas.KindCart, "c3", map[string]any{"id": "c3", "token": "c3"}, func(e *schemas.Event) {
				e.Source = "shopify.backfill"
				e.Identifiers = &schemas.Identifiers{Email: "cart@example.com"}
			})
		}, "historical record: cart_updated is not sent for backfilled events"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newSim(t, brevotest.Options{})
			var mods []func(*brevo.SinkConfig)
			if c.cfg != nil {
				mods = append(mods, c.cfg)
			}
			s := newSink(t, srv, mods...)
			before := writes(srv)
			errs := outcomes(t, s.Write(context.Background(), []*pipeline.Record{c.rec(t)}), 1)
			if got := skipReason(errs[0]); got != c.want {
				t.Fatalf("outcome %v, want skipped %q", errs[0], c.want)
			}
			if n := writes(srv) - before; n != 0 {
				t.Fatalf("%d requests reached Brevo for a skipped record: %v", n, srv.RequestCounts())
			}
		})
	}
}

// A refund whose buyer the transforms found in the order ledger sends
// order_refunded with the refunded amount, and the contact's figures as
// the chain recomputed them reach the contact; one without is skipped.
func TestRefundWithKnownBuyer(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	known := refund(t, 4200, "25.50", func(e *schemas.Event) {
		e.Identifiers = &schemas.Identifiers{Email: "buyer@example.com", ExtID: "9001"}
		e.Attributes = json.RawMessage(`{"TOTAL_SPENT":74.5,"AOV":37.25}`)
	})
	unknown := refund(t, 4300, "5.00", func(*schemas.Event) {})
	errs := outcomes(t, s.Write(context.Background(), []*pipeline.Record{known, unknown}), 2)
	if errs[0] != nil {
		t.Fatalf("refund with a buyer: %v", errs[0])
	}
	if got := skipReason(errs[1]); got != "refund of an order without a known buyer" {
		t.Fatalf("refund without a buyer: %v", errs[1])
	}
	var got []brevotest.Event
	for _, e := range srv.Events() {
		if e.Name == "order_refunded" {
			got = append(got, e)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d order_refunded events, want 1: %+v", len(got), srv.Events())
	}
	e := got[0]
	if e.Identifiers["email_id"] != "buyer@example.com" || fmt.Sprint(e.EventProperties["amount"]) != "25.5" ||
		e.EventProperties["order_id"] != "4200" || e.EventProperties["currency"] != "EUR" {
		t.Fatalf("order_refunded = %+v", e)
	}
	if fmt.Sprint(e.ContactProperties["TOTAL_SPENT"]) != "74.5" || fmt.Sprint(e.ContactProperties["AOV"]) != "37.25" {
		t.Fatalf("contact_properties = %v, want TOTAL_SPENT 74.5, AOV 37.25", e.ContactProperties)
	}
	c := srv.Contact("buyer@example.com")
	if c == nil || fmt.Sprint(c.Attributes["TOTAL_SPENT"]) != "74.5" || fmt.Sprint(c.Attributes["AOV"]) != "37.25" || c.ExtID != "9001" {
		t.Fatalf("contact = %+v", c)
	}
}

// orders/paid sets the paid status, even on an order fulfilled before it
// was paid (cash on delivery).
func TestOrderPaidSetsPaid(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	rec := envelope(t, schemas.TypeOrderPaid, schemas.KindOrder, "5100", map[string]any{
		"id": 5100, "email": "cod@example.com", "financial_status": "paid", "fulfillment_status": "fulfilled", "total_price": "30.00",
		"line_items": []map[string]any{{"id": 1, "product_id": 7, "quantity": 1, "price": "30.00"}},
	}, func(e *schemas.Event) { e.Identifiers = &schemas.Identifiers{Email: "cod@example.com"} })
	if err := s.Write(context.Background(), []*pipeline.Record{rec}); err != nil {
		t.Fatal(err)
	}
	orders := srv.Orders()
	if len(orders) != 1 || orders[0].Status != "paid" {
		t.Fatalf("orders = %+v, want one with status paid", orders)
	}
}

// Each store's contacts go to its own lists: lists_by_shop by shop
// domain, "*" for the others, sinks.brevo.lists winning where set.
func TestListsPerShop(t *testing.T) {
	for _, threshold := range []int{0, 2} { // single upserts, and imports
		t.Run(fmt.Sprintf("import_threshold=%d", threshold), func(t *testing.T) {
			srv := newSim(t, brevotest.Options{Lists: map[int64]string{5: "A all", 6: "A buyers", 7: "A carts", 15: "B all", 16: "B buyers", 17: "B carts", 25: "other all"}})
			s := newSink(t, srv, func(c *brevo.SinkConfig) {
				c.ImportThreshold = threshold
				c.Lists = brevo.ListIDs{}
				c.ListsByShop = map[string]brevo.ListIDs{
					"store-a.myshopify.com": {AllCustomers: 5, Buyers: 6, AbandonedCart: 7},
					"Store-B.myshopify.com": {AllCustomers: 15, Buyers: 16, AbandonedCart: 17},
					brevo.AnyShop:           {AllCustomers: 25},
				}
			})
			shop := func(name string) func(*schemas.Event) {
				return func(e *schemas.Event) { e.Shop = name }
			}
			order := func(id int, email, shopName string) *pipeline.Record {
				return envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, fmt.Sprint(id), map[string]any{
					"id": id, "email": email, "total_price": "10.00",
					"line_items": []map[string]any{{"id": 1, "product_id": 7, "quantity": 1, "price": "10.00"}},
				}, func(e *schemas.Event) { e.Shop = shopName; e.Identifiers = &schemas.Identifiers{Email: email} })
			}
			batch := []*pipeline.Record{
				customer(t, 1, "a1@example.com", "A1", shop("store-a.myshopify.com")),
				customer(t, 2, "a2@example.com", "A2", shop("store-a.myshopify.com")),
				customer(t, 3, "b1@example.com", "B1", shop("store-b.myshopify.com")),
				customer(t, 4, "b2@example.com", "B2", shop("store-b.myshopify.com")),
				customer(t, 5, "c1@example.com", "C1", shop("store-c.myshopify.com")),
				order(71, "a1@example.com", "store-a.myshopify.com"),
				order(72, "b1@example.com", "store-b.myshopify.com"),
			}
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			want := map[int64][]string{
				5: {"a1@example.com", "a2@example.com"}, 6: {"a1@example.com"},
				15: {"b1@example.com", "b2@example.com"}, 16: {"b1@example.com"},
				25: {"c1@example.com"},
			}
			for id, emails := range want {
				if got := srv.ListMembers(id); !slices.Equal(got, emails) {
					t.Errorf("list %d = %v, want %v", id, got, emails)
				}
			}
			if threshold > 0 && len(srv.ProcessIDs()) != 2 {
				t.Errorf("%d imports, want one per store with enough contacts (2)", len(srv.ProcessIDs()))
			}
		})
	}
}

// sinks.brevo.lists, where non-zero, is the list of every shop.
func TestExplicitListsOverride(t *testing.T) {
	srv := newSim(t, brevotest.Options{Lists: map[int64]string{5: "all", 6: "buyers", 9: "override"}})
	s := newSink(t, srv, func(c *brevo.SinkConfig) {
		c.Lists = brevo.ListIDs{AllCustomers: 9}
		c.ListsByShop = map[string]brevo.ListIDs{"demo.myshopify.com": {AllCustomers: 5, Buyers: 6}}
	})
	if err := s.Write(context.Background(), []*pipeline.Record{customer(t, 1, "x@example.com", "X", nil)}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Contact("x@example.com").ListIDs; !slices.Equal(got, []int64{9}) {
		t.Fatalf("lists = %v, want [9] (the explicit sinks.brevo.lists.all_customers)", got)
	}
}

// A configured list the account does not have stops the start with the
// fix, instead of every contact being refused one by one.
func TestMissingListStopsAtOpen(t *testing.T) {
	srv := newSim(t, brevotest.Options{Lists: map[int64]string{5: "all"}})
	cfg := *brevo.NewSinkConfig().(*brevo.SinkConfig)
	cfg.APIKey, cfg.BaseURL = config.Secret(srv.APIKey()), srv.URL()
	cfg.ListsByShop = map[string]brevo.ListIDs{brevo.AnyShop: {AllCustomers: 5, Buyers: 6}}
	s, err := brevo.NewSink(cfg, pipeline.Env{Name: "brevo"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Open(context.Background())
	if pipeline.ClassOf(err) != pipeline.Fatal || !strings.Contains(fmt.Sprint(err), "brevo list 6 does not exist") {
		t.Fatalf("Open = %v, want Fatal naming list 6", err)
	}
}

func product(t testing.TB, mod func(*schemas.Event)) *pipeline.Record {
	return envelope(t, schemas.TypeProductUpdated, schemas.KindProduct, "632910392", map[string]any{
		"id": 632910392, "title": "IPod Nano", "handle": "ipod-nano", "product_type": "Cult Products", "status": "active",
		"tags":  "Emotive, Flash Memory",
		"image": map[string]any{"id": 850703190, "src": "https://cdn.example.com/cover.png"},
		"images": []map[string]any{
			{"id": 850703190, "position": 1, "src": "https://cdn.example.com/cover.png"},
			{"id": 562641783, "position": 2, "src": "https://cdn.example.com/black.png", "variant_ids": []int{808950810}},
		},
		"variants": []map[string]any{
			{"id": 808950810, "title": "Pink", "sku": "IPOD2008PINK", "price": "199.00", "option1": "Pink", "image_id": 562641783},
			{"id": 49148385, "title": "Red", "sku": "IPOD2008RED", "price": "199.00", "option1": "Red"},
		},
	}, mod)
}

// categories_as_tags: the tags the product_filter stage wrote into
// attributes.categories become Brevo categories, linked from the product.
func TestProductTagsAsCategories(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	rec := product(t, func(e *schemas.Event) { e.Attributes = json.RawMessage(`{"categories":["Emotive","Flash Memory"]}`) })
	if err := s.Write(context.Background(), []*pipeline.Record{rec}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range srv.Categories() {
		names = append(names, c.ID+"="+c.Name)
	}
	if want := []string{"tag-emotive=Emotive", "tag-flash-memory=Flash Memory"}; !slices.Equal(names, want) {
		t.Fatalf("categories = %v, want %v", names, want)
	}
	ps := srv.Products()
	if len(ps) != 1 || !slices.Equal(ps[0].Categories, []string{"tag-emotive", "tag-flash-memory"}) {
		t.Fatalf("products = %+v, want one in the tag categories", ps)
	}

	// Without the stage's categories, the product type is the category.
	srv2 := newSim(t, brevotest.Options{})
	if err := newSink(t, srv2).Write(context.Background(), []*pipeline.Record{product(t, nil)}); err != nil {
		t.Fatal(err)
	}
	if cs := srv2.Categories(); len(cs) != 1 || cs[0].ID != "type-cult-products" || !slices.Equal(srv2.Products()[0].Categories, []string{"type-cult-products"}) {
		t.Fatalf("categories = %+v, products = %+v", cs, srv2.Products())
	}
}

// include_variants: each variant is a Brevo product with parentId = the
// product, its own SKU, price and image; include_images: false sends no
// image URL.
func TestProductVariantsAndImages(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv, func(c *brevo.SinkConfig) {
		c.Products = brevo.ProductOptions{IncludeVariants: true, IncludeImages: true}
	})
	if err := s.Write(context.Background(), []*pipeline.Record{product(t, nil)}); err != nil {
		t.Fatal(err)
	}
	byID := map[string]brevotest.Product{}
	for _, p := range srv.Products() {
		byID[p.ID] = p
	}
	if len(byID) != 3 {
		t.Fatalf("%d products, want the product and its 2 variants: %+v", len(byID), byID)
	}
	parent, pink, red := byID["632910392"], byID["808950810"], byID["49148385"]
	if parent.ParentID != "" || parent.ImageURL != "https://cdn.example.com/cover.png" {
		t.Fatalf("product = %+v", parent)
	}
	if pink.ParentID != "632910392" || pink.SKU != "IPOD2008PINK" || pink.Name != "IPod Nano - Pink" ||
		pink.ImageURL != "https://cdn.example.com/black.png" || pink.Price == nil || *pink.Price != 199 ||
		pink.URL != "https://demo.myshopify.com/products/ipod-nano?variant=808950810" {
		t.Fatalf("pink variant = %+v", pink)
	}
	if red.ParentID != "632910392" || red.ImageURL != "https://cdn.example.com/cover.png" {
		t.Fatalf("red variant = %+v (a variant without its own image shows the cover)", red)
	}

	srv2 := newSim(t, brevotest.Options{})
	s2 := newSink(t, srv2, func(c *brevo.SinkConfig) {
		c.Products = brevo.ProductOptions{IncludeVariants: false, IncludeImages: false}
	})
	if err := s2.Write(context.Background(), []*pipeline.Record{product(t, nil)}); err != nil {
		t.Fatal(err)
	}
	if ps := srv2.Products(); len(ps) != 1 || ps[0].ImageURL != "" {
		t.Fatalf("products = %+v, want one, without image", ps)
	}
}

// customer_created (a customer tajo did not know) sends the event that
// starts a welcome series; a backfilled one does not.
func TestCustomerCreatedStartsWelcome(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv)
	created := func(id int, email string, mod func(*schemas.Event)) *pipeline.Record {
		return envelope(t, schemas.TypeCustomerCreated, schemas.KindCustomer, fmt.Sprint(id), map[string]any{"id": id, "email": email},
			func(e *schemas.Event) {
				e.Identifiers = &schemas.Identifiers{Email: email, ExtID: fmt.Sprint(id)}
				if mod != nil {
					mod(e)
				}
			})
	}
	batch := []*pipeline.Record{
		created(11, "new@example.com", nil),
		created(12, "old@example.com", func(e *schemas.Event) { e.Source = "shopify.backfill" }),
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range srv.Events() {
		got = append(got, e.Name+":"+fmt.Sprint(e.Identifiers["email_id"]))
	}
	if want := []string{"customer_created:new@example.com"}; !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	if srv.Contact("old@example.com") == nil {
		t.Fatal("the backfilled customer was not upserted")
	}
}
