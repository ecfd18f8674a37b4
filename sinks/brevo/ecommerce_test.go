package brevo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

func mkProducts(n int) []brevo.Product {
	out := make([]brevo.Product, n)
	for i := range out {
		price := 10.5 + float64(i)
		out[i] = brevo.Product{ID: fmt.Sprint(1000 + i), Name: fmt.Sprintf("Café crème %d", i), Price: &price,
			Categories: []string{"c1"}, MetaInfo: map[string]string{"vendor": "Ōkami"}}
	}
	return out
}

func TestUpsertProductsChunksBy100AndIsIdempotent(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	counts, err := c.UpsertProducts(ctx, mkProducts(250))
	if err != nil {
		t.Fatal(err)
	}
	if counts.Created != 250 || counts.Calls != 3 || srv.RequestCount("POST /products/batch") != 3 {
		t.Fatalf("counts = %+v, calls = %d", counts, srv.RequestCount("POST /products/batch"))
	}
	counts, err = c.UpsertProducts(ctx, mkProducts(250))
	if err != nil || counts.Updated != 250 {
		t.Fatalf("replay: %+v %v", counts, err)
	}
	if p := srv.Products(); len(p) != 250 || p[0].Name != "Café crème 0" || *p[0].Price != 10.5 {
		t.Fatalf("stored %d, first %+v", len(p), p[0])
	}
}

func TestUpsertProductsDedupesAndPreRejects(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ps := mkProducts(3)
	ps[2].ID = ps[0].ID // same product twice: only the last is sent
	ps[1].MetaInfo = map[string]string{}
	for i := 0; i < 11; i++ {
		ps[1].MetaInfo[fmt.Sprint("k", i)] = "v"
	}
	errs := batchErrs(t, func() error { _, err := c.UpsertProducts(context.Background(), ps); return err }(), 3)
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("dedup outcome: %v %v", errs[0], errs[2])
	}
	wantClass(t, errs[1], pipeline.Rejected, "invalid_parameter")
	if p := srv.Products(); len(p) != 1 || p[0].Name != ps[2].Name {
		t.Fatalf("stored = %+v", p)
	}
}

func TestProductWithoutNameIsRejectedByBrevo(t *testing.T) {
	_, c := newPair(t, brevotest.Options{})
	_, err := c.UpsertProducts(context.Background(), []brevo.Product{{ID: "x"}})
	wantClass(t, err, pipeline.Rejected, "invalid_parameter")
}

func TestUpsertCategories(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	counts, err := c.UpsertCategories(context.Background(), []brevo.Category{{ID: "c1", Name: "Thé & café", URL: "https://s.example/c1"}, {ID: "c2", Name: "Ümlaut"}})
	if err != nil || counts.Created != 2 {
		t.Fatalf("%+v %v", counts, err)
	}
	if cs := srv.Categories(); len(cs) != 2 || cs[0].Name != "Thé & café" {
		t.Fatalf("stored = %+v", cs)
	}
	_, err = c.UpsertCategories(context.Background(), []brevo.Category{{Name: "no id"}})
	wantClass(t, err, pipeline.Rejected, "missing_parameter")
}

func mkOrder(id string) brevo.Order {
	ts := brevo.FormatTime(time.Date(2026, 11, 27, 9, 0, 0, 0, time.FixedZone("CET", 3600)))
	return brevo.Order{ID: id, CreatedAt: ts, UpdatedAt: ts, Status: "paid", Amount: 42.1,
		Email: "buyer@example.com", Products: []brevo.OrderProduct{{ProductID: "1000", Quantity: 2, Price: 21.05}},
		Billing: &brevo.Billing{City: "Zürich", CountryCode: "CH"}}
}

func TestSendOrder(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	if err := c.SendOrder(ctx, mkOrder("o1")); err != nil {
		t.Fatal(err)
	}
	o := srv.Orders()
	if len(o) != 1 || o[0].CreatedAt != "2026-11-27T08:00:00Z" || o[0].Historical || o[0].Billing["city"] != "Zürich" {
		t.Fatalf("stored = %+v", o)
	}
	bad := mkOrder("o2")
	bad.Email = ""
	wantClass(t, c.SendOrder(ctx, bad), pipeline.Rejected, "missing_parameter")
	bad = mkOrder("o3")
	bad.Email = "nope"
	wantClass(t, c.SendOrder(ctx, bad), pipeline.Rejected, "invalid_parameter")
	ok := mkOrder("o4")
	ok.Email, ok.Identifiers = "", &brevo.OrderIdentifiers{ExtID: "cust-9"}
	if err := c.SendOrder(ctx, ok); err != nil {
		t.Fatal(err)
	}
}

func TestSendOrdersChunksBy1000(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	orders := make([]brevo.Order, 1001)
	for i := range orders {
		orders[i] = mkOrder(fmt.Sprint("o", i))
	}
	ids, err := c.SendOrders(context.Background(), orders, true)
	if err != nil || len(ids) != 2 {
		t.Fatalf("ids %v, err %v", ids, err)
	}
	got := srv.Orders()
	if len(got) != 1001 || !got[0].Historical || got[1000].BatchID != 2 {
		t.Fatalf("stored %d, first %+v", len(got), got[0])
	}
}
