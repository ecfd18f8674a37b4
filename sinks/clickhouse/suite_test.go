package clickhouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// runSuite is the acceptance suite: it runs unchanged on every backend.
func runSuite(t *testing.T, h *backendHarness) {
	t.Run("migrations", func(t *testing.T) { testMigrations(t, h) })
	t.Run("round_trip", func(t *testing.T) { testRoundTrip(t, h) })
	t.Run("dead_letters", func(t *testing.T) { testDeadLetters(t, h) })
	t.Run("bad_records", func(t *testing.T) { testBadRecords(t, h) })
	t.Run("dedupe", func(t *testing.T) { testDedupe(t, h) })
	t.Run("figures", func(t *testing.T) { testFigures(t, h) })
	t.Run("status_figures", func(t *testing.T) { testStatusFigures(t, h) })
	t.Run("connection_checks", func(t *testing.T) { testConnectionChecks(t, h) })
	t.Run("retention", func(t *testing.T) { testRetention(t, h) })
	t.Run("retention_by_ingestion", func(t *testing.T) { testRetentionByIngestion(t, h) })
	t.Run("backfill_survives_restarts", func(t *testing.T) { testBackfillSurvivesRestarts(t, h) })
	t.Run("relayout", func(t *testing.T) { testRelayout(t, h) })
	t.Run("relayout_resumes", func(t *testing.T) { testRelayoutResumes(t, h) })
	t.Run("concurrent_migrators", func(t *testing.T) { testConcurrentMigrators(t, h) })
	t.Run("concurrent_fresh_start", func(t *testing.T) { testConcurrentFreshStart(t, h) })
	t.Run("migration_lock", func(t *testing.T) { testMigrationLock(t, h) })
	t.Run("open_existing", func(t *testing.T) { testOpenExisting(t, h) })
	t.Run("replay_selection", func(t *testing.T) { testReplaySelection(t, h) })
	t.Run("outage", func(t *testing.T) { testOutage(t, h) })
}

var t0 = time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)

func newEvent(shop, typ, kind, id string, at time.Time, data string) *schemas.Event {
	ev := &schemas.Event{
		Schema: schemas.EventSchema, Source: "shopify", Shop: shop, Topic: strings.ReplaceAll(typ, ".", "/"),
		Type: typ, OccurredAt: at, ReceivedAt: at, Entity: schemas.Entity{Kind: kind, ID: id},
	}
	if data != "" {
		ev.Data = json.RawMessage(data)
	}
	ev.ID = schemas.NewID(shop, typ, id, at.Format(time.RFC3339Nano))
	return ev
}

func records(t testing.TB, evs ...*schemas.Event) []*pipeline.Record {
	t.Helper()
	out := make([]*pipeline.Record, len(evs))
	for i, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = &pipeline.Record{Key: []byte(ev.Shop), Value: b}
	}
	return out
}

// openSink opens the clickhouse sink on a fresh store with a fixed clock.
func openSink(t testing.TB, h *backendHarness, now time.Time) (*Sink, *DB) {
	t.Helper()
	dsn, dataDir := h.fresh(t)
	cfg := DefaultConfig()
	cfg.DSN = dsn
	cfg.RetentionDays = 0
	cfg.FlushInterval = 50 * time.Millisecond
	s := NewSink(cfg, pipeline.Env{Name: SinkName, DataDir: dataDir})
	if err := s.Open(context.Background()); err != nil {
		t.Fatalf("open sink: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	db := s.DB()
	db.now = func() time.Time { return now }
	return s, db
}

func query(t testing.TB, db *DB, q string) *Result {
	t.Helper()
	res, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

func scalar(t testing.TB, db *DB, q string) any {
	t.Helper()
	res := query(t, db, q)
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("%s: want one value, got %v", q, res.Rows)
	}
	return res.Rows[0][0]
}

func testMigrations(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	dsn, dataDir := h.fresh(t)
	want := []uint32{1, 2, 3, 4, 5, 6}
	for round := 0; round < 3; round++ {
		db, err := Open(ctx, dsn, dataDir)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("round %d: migrate again: %v", round, err)
		}
		got, err := db.Applied(ctx)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: applied %v, %v; want %v", round, got, err, want)
		}
		// Applying again must not record a migration twice.
		if n := scalar(t, db, "SELECT count() FROM schema_migrations"); n != uint64(len(want)) {
			t.Fatalf("round %d: schema_migrations has %v rows, want %d", round, n, len(want))
		}
		for _, table := range historyTables {
			if n := scalar(t, db, "SELECT count() FROM "+table); n != uint64(0) {
				t.Fatalf("%s: %v rows in a fresh store", table, n)
			}
		}
		db.Close()
	}
}

// nasty strings: unicode, escapes TabSeparated must carry, quotes, NUL.
var nasty = []string{
	"tienda-ñandú.myshopify.com",
	"店舗 🛒 ストア",
	"tab\there\nnewline\r\\back\\slash 'single' \"double\" `tick`",
	"nul\x00byte",
	"",
}

func testRoundTrip(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	now := t0.Add(time.Hour)
	s, db := openSink(t, h, now)

	// 64-bit values travel exactly through both insert and read paths.
	if err := db.b.exec(ctx, "CREATE TABLE rt (id UInt64, sid Int64, s String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	ids := [][]any{
		{uint64(18446744073709551615), int64(-9223372036854775808), "max"},
		{uint64(9007199254740993), int64(9007199254740993), "2^53+1"},
		{uint64(0), int64(9223372036854775807), nasty[2]},
	}
	if err := db.b.insert(ctx, "rt", []string{"id", "sid", "s"}, ids); err != nil {
		t.Fatal(err)
	}
	got := query(t, db, "SELECT id, sid, s FROM rt ORDER BY id DESC").Rows
	want := [][]any{ids[0], ids[1], ids[2]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("UInt64/Int64 round trip:\n got %#v\nwant %#v", got, want)
	}

	// Outcomes with every nasty string and 64-bit entity ids.
	var outs []Outcome
	for i, str := range nasty {
		outs = append(outs, Outcome{
			Time: t0.Add(time.Duration(i) * time.Second), SyncedAt: now, Shop: "shop-" + str, EventID: fmt.Sprintf("ev-%d", i),
			EventType: "customer.updated", EntityKind: "customer", EntityID: []string{"9007199254740993", "18446744073709551615"}[i%2],
			Sink: "brevo", Result: OutcomeRejected, Reason: str, Attempt: uint32(i + 1), Latency: time.Duration(i) * time.Millisecond,
		})
	}
	if err := db.RecordOutcomes(ctx, outs); err != nil {
		t.Fatal(err)
	}
	res := query(t, db, "SELECT ts, synced_at, shop, event_id, event_type, entity_kind, entity_id, sink, outcome, reason, attempt, latency_ms FROM sync_history ORDER BY event_id")
	if len(res.Rows) != len(outs) {
		t.Fatalf("read %d outcome rows, want %d", len(res.Rows), len(outs))
	}
	for i, r := range res.Rows {
		o := outs[i]
		w := []any{o.Time, o.SyncedAt, o.Shop, o.EventID, o.EventType, o.EntityKind, o.EntityID, o.Sink, o.Result, o.Reason, uint64(o.Attempt), uint64(o.Latency.Milliseconds())}
		if !reflect.DeepEqual(r, w) {
			t.Errorf("outcome %d:\n got %#v\nwant %#v", i, r, w)
		}
	}

	// Webhooks, read back through Logs.
	hooks := []WebhookLogRow{
		{Time: now.Add(-time.Minute), Shop: nasty[1], Topic: "orders/create", WebhookID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", APIVersion: "2025-07", HMAC: "valid", Status: 200, Bytes: 4_000_000_000, Latency: 1500 * time.Millisecond},
		{Time: now.Add(-2 * time.Minute), Shop: nasty[2], Topic: "customers/update", WebhookID: "w2", APIVersion: "2025-07", HMAC: "invalid", Status: 401, Bytes: 12},
	}
	if err := db.RecordWebhooks(ctx, hooks); err != nil {
		t.Fatal(err)
	}
	logs, err := db.Logs(ctx, LogFilter{Type: "webhook", Last: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []string{"ts", "shop", "topic", "webhook_id", "api_version", "hmac", "status", "bytes", "latency_ms"}
	if !reflect.DeepEqual(logs.Columns, wantCols) || len(logs.Rows) != 2 {
		t.Fatalf("webhook logs: %v %v", logs.Columns, logs.Rows)
	}
	for i, r := range logs.Rows {
		w := hooks[i]
		want := []any{w.Time, w.Shop, w.Topic, w.WebhookID, w.APIVersion, w.HMAC, uint64(w.Status), uint64(w.Bytes), uint64(w.Latency.Milliseconds())}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("webhook %d:\n got %#v\nwant %#v", i, r, want)
		}
	}

	// An order through the sink: its commerce row keeps every digit.
	order := newEvent("shop.myshopify.com", "order.placed", "order", "18446744073709551615", t0, `{
		"id": 18446744073709551615, "email": "zoë@example.com", "currency": "EUR",
		"total_price": "1234567890.1234", "subtotal_price": "1000.10", "total_tax": 19.99, "total_discounts": "0.00",
		"customer": {"id": 9007199254740993},
		"line_items": [{"quantity": 2}, {"quantity": 3}]}`)
	if err := s.Write(ctx, records(t, order)); err != nil {
		t.Fatal(err)
	}
	res = query(t, db, "SELECT event_id, entity_id, customer_id, email, currency, total_price, subtotal_price, total_tax, total_discounts, line_items, quantity FROM commerce_events")
	wantRow := []any{order.ID, "18446744073709551615", "9007199254740993", "zoë@example.com", "EUR",
		decimal.RequireFromString("1234567890.1234"), decimal.RequireFromString("1000.1"), decimal.RequireFromString("19.99"), decimal.Zero, uint64(2), uint64(5)}
	if len(res.Rows) != 1 || !rowEqual(res.Rows[0], wantRow) {
		t.Fatalf("commerce row:\n got %v\nwant %v", res.Rows, wantRow)
	}
}

// rowEqual compares rows, decimals by value (18.16 and chDB print 1000.1000
// and 1000.1, both the same number).
func rowEqual(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		da, ok1 := a[i].(decimal.Decimal)
		db, ok2 := b[i].(decimal.Decimal)
		if ok1 && ok2 {
			if !da.Equal(db) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func testDeadLetters(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	s, db := openSink(t, h, t0)
	big := strings.Repeat("ü€😀\t\\x", 100*1024/12) + "\xff\xfe not UTF-8 \x00 end"
	ev := newEvent("dl.myshopify.com", "customer.created", "customer", "42", t0, `{"email":"nobody"}`)
	env, _ := json.Marshal(ev)
	dls := []pipeline.DeadLetter{
		{Time: t0, Stage: "sink:brevo", Class: pipeline.Rejected, Code: "invalid_parameter", Reason: "email is not valid: «nobody»", Key: []byte(ev.Shop), Payload: env},
		{Time: t0.Add(time.Second), Stage: "transform:decode", Class: pipeline.Rejected, Code: "bad_json", Reason: nasty[2], Key: []byte("raw.myshopify.com"), Payload: []byte(big)},
	}
	if len(big) < 100*1024 {
		t.Fatalf("payload is only %d bytes", len(big))
	}
	// Written twice, as after a redelivery: still one row each.
	for i := 0; i < 2; i++ {
		if err := s.WriteDeadLetters(ctx, dls); err != nil {
			t.Fatal(err)
		}
	}
	res := query(t, db, "SELECT ts, shop, stage, error_class, code, message, event_id, payload FROM error_history FINAL ORDER BY ts")
	if len(res.Rows) != 2 {
		t.Fatalf("%d error rows, want 2", len(res.Rows))
	}
	want0 := []any{t0, ev.Shop, "sink:brevo", "rejected", "invalid_parameter", dls[0].Reason, ev.ID, string(env)}
	if !reflect.DeepEqual(res.Rows[0], want0) {
		t.Errorf("envelope dead letter:\n got %#v\nwant %#v", res.Rows[0], want0)
	}
	r := res.Rows[1]
	if r[1] != "raw.myshopify.com" || r[5] != nasty[2] || !strings.HasPrefix(r[6].(string), "payload:") {
		t.Errorf("raw dead letter: %#v", r[:7])
	}
	if got := r[7].(string); got != big {
		t.Errorf("100 KB payload: got %d bytes, want %d (first difference at %d)", len(got), len(big), firstDiff(got, big))
	}
	logs, err := db.Logs(ctx, LogFilter{Type: "error", Shop: ev.Shop})
	if err != nil || len(logs.Rows) != 1 {
		t.Fatalf("error logs for one shop: %v %v", logs, err)
	}
}

// testBadRecords: records the sink cannot store are rejected one by one and
// the rest of the batch is written.
func testBadRecords(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	s, db := openSink(t, h, t0)
	good := newEvent("bad.myshopify.com", schemas.TypeCustomerCreated, schemas.KindCustomer, "1", t0, `{}`)
	huge := newEvent("bad.myshopify.com", schemas.TypeOrderPlaced, schemas.KindOrder, "2", t0, `{"total_price":"1e20"}`)
	recs := records(t, good, huge)
	recs = append(recs, &pipeline.Record{Value: []byte("not json")})
	err := s.Write(ctx, recs)
	var be *pipeline.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 3 || be.Errs[0] != nil ||
		pipeline.ClassOf(be.Errs[1]) != pipeline.Rejected || pipeline.ClassOf(be.Errs[2]) != pipeline.Rejected {
		t.Fatalf("write: %v", err)
	}
	if n := scalar(t, db, "SELECT count() FROM sync_history"); n != uint64(1) {
		t.Errorf("%v rows stored, want the one good record", n)
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// shopEvents is a known sequence for one shop: 3 customers (one updated
// twice), 2 orders, 1 product, 1 checkout.
func shopEvents(shop string) []*schemas.Event {
	return []*schemas.Event{
		newEvent(shop, "customer.created", "customer", "1", t0, `{"email":"a@example.com"}`),
		newEvent(shop, "customer.updated", "customer", "1", t0.Add(time.Minute), `{"email":"a@example.com"}`),
		newEvent(shop, "customer.created", "customer", "2", t0.Add(2*time.Minute), `{}`),
		newEvent(shop, "customer.created", "customer", "9007199254740993", t0.Add(3*time.Minute), `{}`),
		newEvent(shop, "order.placed", "order", "5001", t0.Add(4*time.Minute), `{"total_price":"10.50","currency":"EUR"}`),
		newEvent(shop, "order.placed", "order", "5002", t0.Add(5*time.Minute), `{"total_price":"20.25","currency":"EUR"}`),
		newEvent(shop, "product.updated", "product", "777", t0.Add(6*time.Minute), `{}`),
		newEvent(shop, "checkout.updated", "checkout", "c-1", t0.Add(7*time.Minute), `{"total_price":"5"}`),
	}
}

func testDedupe(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	now := t0.Add(time.Hour)
	s, db := openSink(t, h, now)
	evs := shopEvents("dedupe.myshopify.com")
	recs := records(t, evs...)
	// Delivered three times, in separate inserts (separate parts), as
	// redelivery after a crash would.
	for i := 0; i < 3; i++ {
		if err := s.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	// Another sink reports its outcomes twice.
	var outs []Outcome
	for _, ev := range evs {
		o := OutcomeFor(ev, "brevo", OutcomeDelivered, "", 1, 80*time.Millisecond)
		o.SyncedAt = now
		outs = append(outs, o)
	}
	for i := 0; i < 2; i++ {
		if err := db.RecordOutcomes(ctx, outs); err != nil {
			t.Fatal(err)
		}
	}
	st, err := db.Status(ctx, "dedupe.myshopify.com")
	if err != nil {
		t.Fatal(err)
	}
	// The history's own rows are not steps: 8 events, one brevo step each.
	want := Figures{Shop: "dedupe.myshopify.com", LastSync: &now, CustomersCount: 3, OrdersCount: 2, ProductsCount: 1,
		Events: uint64(len(evs)), Delivered: uint64(len(evs))}
	if !reflect.DeepEqual(st.Figures, want) || len(st.Shops) != 1 || !reflect.DeepEqual(st.Shops[0], want) {
		t.Fatalf("status after redelivery:\n got %+v\nwant %+v", st, want)
	}
	if n := scalar(t, db, "SELECT count() FROM commerce_events FINAL"); n != uint64(3) {
		t.Errorf("commerce_events FINAL: %v rows, want 3 (2 orders, 1 checkout)", n)
	}
	hist, err := db.History(ctx, "dedupe.myshopify.com", 100)
	if err != nil || len(hist.Rows) != 2*len(evs) {
		t.Fatalf("history: %d rows, want %d (%v)", len(hist.Rows), 2*len(evs), err)
	}
	// Argmax-style aggregation agrees with FINAL, on 18.16 too.
	n := scalar(t, db, "SELECT count() FROM (SELECT sink, event_id, argMax(outcome, synced_at) AS o FROM sync_history GROUP BY sink, event_id)")
	if n != uint64(2*len(evs)) {
		t.Errorf("argMax dedupe: %v, want %d", n, 2*len(evs))
	}
}

func testFigures(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	now := t0.Add(2 * time.Hour)
	s, db := openSink(t, h, now)
	shop := "figures.myshopify.com"
	evs := shopEvents(shop)
	if err := s.Write(ctx, records(t, evs...)); err != nil {
		t.Fatal(err)
	}
	// Another shop must not leak into this shop's figures.
	if err := s.Write(ctx, records(t, newEvent("other.myshopify.com", "customer.created", "customer", "1", t0, `{}`))); err != nil {
		t.Fatal(err)
	}
	// Brevo: customer 2 rejected, then order 5002 fails and later succeeds
	// (the later outcome replaces the failure), product skipped.
	brevo := func(ev *schemas.Event, res, reason string, attempt uint32, at time.Time) Outcome {
		return Outcome{Time: ev.OccurredAt, SyncedAt: at, Shop: shop, EventID: ev.ID, EventType: ev.Type, EntityKind: ev.Entity.Kind,
			EntityID: ev.Entity.ID, Sink: "brevo", Result: res, Reason: reason, Attempt: attempt, Latency: 120 * time.Millisecond}
	}
	first := []Outcome{
		brevo(evs[0], OutcomeDelivered, "", 1, now.Add(-50*time.Minute)),
		brevo(evs[2], OutcomeRejected, "invalid email", 1, now.Add(-40*time.Minute)),
		brevo(evs[5], OutcomeFailed, "http_503", 1, now.Add(-30*time.Minute)),
		brevo(evs[6], OutcomeSkipped, "stale update", 1, now.Add(-20*time.Minute)),
	}
	if err := db.RecordOutcomes(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordOutcomes(ctx, []Outcome{brevo(evs[5], OutcomeDelivered, "", 2, now.Add(-10*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	st, err := db.Status(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	// 4 events have a brevo step (the 8 clickhouse rows are the history's
	// own); only the rejection still fails. Delivered: customer 1 and
	// order 5002; the product was skipped.
	want := Figures{Shop: shop, LastSync: ptr(now.Add(-10 * time.Minute)), CustomersCount: 1, OrdersCount: 1, ProductsCount: 0,
		Events: 4, Failures: 1, ErrorRate: 0.25, Delivered: 2, Skipped: 1, Rejected: 1}
	if !reflect.DeepEqual(st.Figures, want) {
		t.Fatalf("status:\n got %+v\nwant %+v", st.Figures, want)
	}
	all, err := db.Status(ctx, "")
	if err != nil || all.Events != 4 || all.CustomersCount != 1 || len(all.Shops) != 1 {
		t.Fatalf("status of every shop: %+v %v (the other shop has no step)", all, err)
	}

	hist, err := db.History(ctx, shop, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Rows) != 3 {
		t.Fatalf("history --limit 3: %d rows", len(hist.Rows))
	}
	// Newest first: the 8 clickhouse rows at now (newest event first), so
	// the first three are the checkout, product and order 5002.
	for i, wantID := range []string{evs[7].ID, evs[6].ID, evs[5].ID} {
		if got := hist.Rows[i][10]; got != wantID || hist.Rows[i][5] != SinkName {
			t.Errorf("history row %d: %v", i, hist.Rows[i])
		}
	}
	brevoRows, err := db.Logs(ctx, LogFilter{Type: "sync", Shop: shop, Last: 45 * time.Minute, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	// Within 45 minutes: 8 clickhouse rows (at now) + rejected, retried
	// order and skipped product.
	if len(brevoRows.Rows) != 11 {
		t.Fatalf("sync log --last 45m: %d rows", len(brevoRows.Rows))
	}

	hooks := []WebhookLogRow{
		{Time: now.Add(-time.Hour), Shop: shop, Topic: "orders/create", WebhookID: "h1", HMAC: "valid", Status: 200},
		{Time: now.Add(-23 * time.Hour), Shop: shop, Topic: "customers/create", WebhookID: "h2", HMAC: "invalid", Status: 401},
		{Time: now.Add(-25 * time.Hour), Shop: shop, Topic: "customers/update", WebhookID: "h3", HMAC: "valid", Status: 200},
	}
	if err := db.RecordWebhooks(ctx, hooks); err != nil {
		t.Fatal(err)
	}
	logs, err := db.Logs(ctx, LogFilter{Type: "webhook", Shop: shop, Last: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.Rows) != 2 || logs.Rows[0][3] != "h1" || logs.Rows[1][3] != "h2" {
		t.Fatalf("logs --type webhook --last 24h: %v", logs.Rows)
	}
}

func testRetention(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.FlushInterval = 10 * time.Millisecond
	db, _, _ := h.open(t, cfg)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	months := []time.Time{
		time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC),    // far past
		time.Date(2026, 7, 31, 23, 59, 59, 0, time.UTC), // whole month older than 90 days
		time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC),     // the cutoff's month (cutoff 2026-08-29): kept
		time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	}
	// Each month's rows are written in that month (ingested_at).
	for i, m := range months {
		db.now = func() time.Time { return m }
		if err := db.RecordOutcomes(ctx, []Outcome{{Time: m, SyncedAt: m, Shop: "r", EventID: fmt.Sprint(i), Sink: "brevo"}}); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordWebhooks(ctx, []WebhookLogRow{{Time: m, Shop: "r", WebhookID: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	dropped, err := db.Retain(ctx, 90, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sync_history/202501", "sync_history/202607", "webhook_log/202501", "webhook_log/202607"}
	if !reflect.DeepEqual(dropped, want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	for _, table := range []string{"sync_history", "webhook_log"} {
		if n := scalar(t, db, "SELECT count() FROM "+table); n != uint64(2) {
			t.Errorf("%s: %v rows left, want 2", table, n)
		}
	}
	if again, err := db.Retain(ctx, 90, now); err != nil || len(again) != 0 {
		t.Errorf("second retention pass: %v %v", again, err)
	}
}

func ptr[T any](v T) *T { return &v }
