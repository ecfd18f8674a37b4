package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// statusJSON is what `tajo connectors status --json` prints.
func statusJSON(t *testing.T, db *DB, req ReportRequest) map[string]any {
	t.Helper()
	req.Kind, req.JSON = "status", true
	var b bytes.Buffer
	if err := db.Report(context.Background(), req, &b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("status --json: %v\n%s", err, b.String())
	}
	return m
}

func statusTable(t *testing.T, db *DB, req ReportRequest) string {
	t.Helper()
	req.Kind = "status"
	var b bytes.Buffer
	if err := db.Report(context.Background(), req, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// testStatusFigures: the figures a merchant reads count what happened,
// against a hand count. Compliance requests are not customers; the error
// rate is events with a rejection over events, per shop, the history's own
// rows left out; skipped steps are counted apart from delivered ones.
func testStatusFigures(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	now := t0.Add(3 * time.Hour)
	s, db := openSink(t, h, now)
	a, b := "honest-a.myshopify.com", "honest-b.myshopify.com"
	ev := func(shop, typ, kind, id string, min int) *schemas.Event {
		return newEvent(shop, typ, kind, id, t0.Add(time.Duration(min)*time.Minute), `{}`)
	}
	evs := []*schemas.Event{
		ev(a, schemas.TypeCustomerCreated, "customer", "1", 0),                 // 0: brevo delivered
		ev(a, schemas.TypeCustomerRedact, "customer", "2", 1),                  // 1: brevo delivered (contact deleted)
		ev(a, schemas.TypeCustomerDataRequest, "customer", "3", 2),             // 2: brevo skipped
		ev(a, schemas.TypeShopRedact, "shop", a, 3),                            // 3: brevo delivered
		ev(a, schemas.TypeOrderPlaced, "order", "10", 4),                       // 4: brevo rejected, file delivered
		ev(a, schemas.TypeOrderPlaced, "order", "11", 5),                       // 5: brevo delivered, file delivered
		ev(a, schemas.TypeProductUpdated, "product", "20", 6),                  // 6: transform skipped
		ev(a, schemas.TypeInventoryLevelUpdated, "inventory_level", "30:1", 7), // 7: brevo skipped
		ev(b, schemas.TypeCustomerCreated, "customer", "1", 8),                 // 8: transform rejected
		ev(b, schemas.TypeCustomerUpdated, "customer", "1", 9),                 // 9: brevo delivered
		ev(b, schemas.TypeOrderPlaced, "order", "12", 10),                      // 10: brevo failed, then rejected
	}
	// The history's own copy of every event.
	if err := s.Write(ctx, records(t, evs...)); err != nil {
		t.Fatal(err)
	}
	step := func(i int, sink, result, reason string) Outcome {
		o := OutcomeFor(evs[i], sink, result, reason, 1, 10*time.Millisecond)
		o.SyncedAt = now.Add(-time.Duration(len(evs)-i) * time.Minute)
		return o
	}
	outs := []Outcome{
		step(0, "brevo", OutcomeDelivered, ""),
		step(1, "brevo", OutcomeDelivered, ""),
		step(2, "brevo", OutcomeSkipped, "no Brevo rule for customers/data_request"),
		step(3, "brevo", OutcomeDelivered, ""),
		step(4, "brevo", OutcomeRejected, "invalid email"),
		step(4, "file", OutcomeDelivered, ""),
		step(5, "brevo", OutcomeDelivered, ""),
		step(5, "file", OutcomeDelivered, ""),
		step(6, "transform:product_filter", OutcomeSkipped, "product status draft"),
		step(7, "brevo", OutcomeSkipped, "no Brevo rule for inventory_levels/update"),
		step(8, "transform:map", OutcomeRejected, "mapping failed"),
		step(9, "brevo", OutcomeDelivered, ""),
		step(10, "brevo", OutcomeFailed, "http_503"),
	}
	if err := db.RecordOutcomes(ctx, outs); err != nil {
		t.Fatal(err)
	}
	later := step(10, "brevo", OutcomeRejected, "invalid email")
	later.SyncedAt = now
	if err := db.RecordOutcomes(ctx, []Outcome{later}); err != nil {
		t.Fatal(err)
	}

	// Hand count.
	// Shop a: 8 events with a step; event 4 has a rejection: 1/8.
	//   customers delivered: 1 (2 is a redaction, 3 a data request);
	//   orders delivered: 10 (at file) and 11; products: none (skipped).
	//   steps: delivered 0,1,3,4f,5,5f = 6; skipped 2,6,7 = 3; rejected 4 = 1.
	// Shop b: 3 events; 8 and 10 have a rejection: 2/3.
	//   customers: 1 (once, though two events); orders: none.
	//   steps: delivered 1, rejected 2 (10's failure was replaced).
	m := statusJSON(t, db, ReportRequest{})
	want := map[string]float64{
		"customersCount": 2, "ordersCount": 2, "productsCount": 0,
		"events": 11, "failures": 3, "errorRate": 3.0 / 11,
		"delivered": 7, "skipped": 3, "rejected": 3, "failed": 0,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("status --json %s = %v, want %v", k, m[k], v)
		}
	}
	shops, _ := m["shops"].([]any)
	if len(shops) != 2 {
		t.Fatalf("status --json shops: %v", m["shops"])
	}
	for i, w := range []map[string]any{
		{"shop": a, "customersCount": 1.0, "ordersCount": 2.0, "events": 8.0, "failures": 1.0, "errorRate": 1.0 / 8, "delivered": 6.0, "skipped": 3.0, "rejected": 1.0},
		{"shop": b, "customersCount": 1.0, "ordersCount": 0.0, "events": 3.0, "failures": 2.0, "errorRate": 2.0 / 3, "delivered": 1.0, "skipped": 0.0, "rejected": 2.0},
	} {
		got, _ := shops[i].(map[string]any)
		for k, v := range w {
			if got[k] != v {
				t.Errorf("status --json shops[%d].%s = %v, want %v", i, k, got[k], v)
			}
		}
	}
	one := statusJSON(t, db, ReportRequest{Shop: a})
	if one["customersCount"] != 1.0 || one["errorRate"] != 1.0/8 || one["events"] != 8.0 {
		t.Errorf("status --shop %s: %v", a, one)
	}

	table := statusTable(t, db, ReportRequest{Shop: a})
	for _, line := range []string{
		"customers   1",
		"steps       6 delivered, 3 skipped, 1 rejected, 0 failed",
		"error rate  12.50% (1 of 8 events rejected or failed somewhere)",
	} {
		if !strings.Contains(table, line) {
			t.Errorf("status table lacks %q:\n%s", line, table)
		}
	}
	if all := statusTable(t, db, ReportRequest{}); !strings.Contains(all, "by shop:") || !strings.Contains(all, "66.67%") {
		t.Errorf("status table of two shops has no per-shop rate:\n%s", all)
	}

	// The history shows what was skipped, and why.
	hist, err := db.History(ctx, a, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range hist.Rows {
		if r[10] == evs[7].ID && r[5] == "brevo" {
			found = r[6] == OutcomeSkipped && r[7] == "no Brevo rule for inventory_levels/update"
		}
	}
	if !found {
		t.Errorf("history has no skipped inventory step with its reason: %v", hist.Rows)
	}
}

// testConnectionChecks: connected is what the latest checks say, with
// their times; no check is unknown, never true.
func testConnectionChecks(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	s, db := openSink(t, h, t0)
	shop := "checks.myshopify.com"
	expect := []ExpectedCheck{{Service: "shopify", Shop: shop}, {Service: "brevo"}}

	// The history answers, but no service was heard from.
	m := statusJSON(t, db, ReportRequest{Expect: expect})
	if m["connected"] != "unknown" || !strings.Contains(m["reason"].(string), "not checked yet") {
		t.Fatalf("no check yet: connected %v (%v), want unknown", m["connected"], m["reason"])
	}

	// Brevo accepted the key; Shopify not yet checked: still unknown.
	var rec pipeline.CheckRecorder = s
	at := t0.Add(-time.Hour)
	if err := rec.RecordChecks(ctx, []pipeline.ConnectionCheck{{Time: at, Service: "brevo", OK: true, Detail: "API key accepted"}}); err != nil {
		t.Fatal(err)
	}
	if m := statusJSON(t, db, ReportRequest{Expect: expect}); m["connected"] != "unknown" || !strings.Contains(m["reason"].(string), "shopify "+shop+" not checked yet") {
		t.Fatalf("brevo only: %v (%v)", m["connected"], m["reason"])
	}

	// Shopify answered with the token: connected, both checks with times.
	ok := pipeline.ConnectionCheck{Time: at.Add(time.Minute), Service: "shopify", Shop: shop, OK: true, Detail: "Admin API backfill answered"}
	if err := rec.RecordChecks(ctx, []pipeline.ConnectionCheck{ok, ok}); err != nil { // a retried insert
		t.Fatal(err)
	}
	m = statusJSON(t, db, ReportRequest{Expect: expect})
	checks, _ := m["checks"].([]any)
	if m["connected"] != true || len(checks) != 2 {
		t.Fatalf("both ok: connected %v, checks %v", m["connected"], m["checks"])
	}
	if c := checks[1].(map[string]any); c["service"] != "shopify" || c["ok"] != true || c["time"] != at.Add(time.Minute).Format(time.RFC3339) {
		t.Errorf("shopify check: %v", c)
	}

	// The token is revoked: the latest check, a second later, fails.
	bad := pipeline.ConnectionCheck{Time: at.Add(time.Minute + 500*time.Millisecond), Service: "shopify", Shop: shop,
		Detail: "shopify admin: 401 Unauthorized: [API] Invalid API key or access token"}
	if err := rec.RecordChecks(ctx, []pipeline.ConnectionCheck{bad}); err != nil {
		t.Fatal(err)
	}
	m = statusJSON(t, db, ReportRequest{Expect: expect, Shop: shop})
	if m["connected"] != false || !strings.Contains(m["reason"].(string), "401 Unauthorized") {
		t.Fatalf("revoked token: connected %v (%v), want false with the 401", m["connected"], m["reason"])
	}
	table := statusTable(t, db, ReportRequest{Expect: expect, Shop: shop})
	if !strings.Contains(table, "connected   false (shopify "+shop+" failed at") || !strings.Contains(table, "✗ shopify "+shop) || !strings.Contains(table, "✓ brevo") {
		t.Errorf("status table:\n%s", table)
	}
	// Another shop's status has the account-wide check but not this shop's.
	if m := statusJSON(t, db, ReportRequest{Shop: "other.myshopify.com"}); m["connected"] != true || len(m["checks"].([]any)) != 1 {
		t.Errorf("other shop: %v %v", m["connected"], m["checks"])
	}
	if n := scalar(t, db, "SELECT count() FROM connection_checks FINAL"); n != uint64(3) {
		t.Errorf("connection_checks: %v rows, want 3 (a retried insert folds)", n)
	}
}
