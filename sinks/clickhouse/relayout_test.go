package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tajo/tajo/pipeline"
	chschema "github.com/tajo/tajo/schemas/clickhouse"
)

// testRetentionByIngestion: retention counts from the time tajo wrote a
// row, not from the event's own time. Rows written two years ago about
// yesterday's events go; rows written now about events of 2023 stay.
func testRetentionByIngestion(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.FlushInterval = 10 * time.Millisecond
	db, _, _ := h.open(t, cfg)
	now := time.Now().UTC().Truncate(time.Second)
	longAgo := now.AddDate(-2, 0, 0)
	recent, old := now.AddDate(0, 0, -1), now.AddDate(-3, 0, 0)
	write := func(at, event time.Time, id string) {
		t.Helper()
		db.now = func() time.Time { return at }
		ev := newEvent("ingest.myshopify.com", "order.placed", "order", id, event, `{"total_price":"1"}`)
		env, _ := json.Marshal(ev)
		if err := db.RecordOutcomes(ctx, []Outcome{OutcomeFor(ev, "brevo", OutcomeDelivered, "", 1, 0)}); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordCommerce(ctx, []CommerceEvent{{Time: event, Shop: ev.Shop, EventID: ev.ID, TotalPrice: decimal.NewFromInt(1)}}); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordDeadLetters(ctx, []pipeline.DeadLetter{{Time: event, Stage: "sink:brevo", Class: pipeline.Rejected, Reason: "x", Key: []byte(ev.Shop), Payload: env}}); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordWebhooks(ctx, []WebhookLogRow{{Time: event, Shop: ev.Shop, WebhookID: id, HMAC: "valid", Status: 200}}); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordChecks(ctx, []pipeline.ConnectionCheck{{Time: event, Service: "shopify", Shop: ev.Shop, OK: true}}); err != nil {
			t.Fatal(err)
		}
	}
	write(longAgo, recent, "written-long-ago")
	write(now, old, "backfilled-now")
	db.now = func() time.Time { return now }

	dropped, err := db.Retain(ctx, 400, now)
	if err != nil {
		t.Fatal(err)
	}
	month := longAgo.Format("200601")
	var want []string
	for _, table := range []string{"commerce_events", "connection_checks", "error_history", "sync_history", "webhook_log"} {
		want = append(want, table+"/"+month)
	}
	if !reflect.DeepEqual(dropped, want) {
		t.Errorf("dropped %v, want %v", dropped, want)
	}
	for _, table := range historyTables {
		res := query(t, db, "SELECT ts, ingested_at FROM "+table)
		if len(res.Rows) != 1 {
			t.Errorf("%s: %d rows left, want the one written now: %v", table, len(res.Rows), res.Rows)
			continue
		}
		if got := res.Rows[0]; got[1] != now || (table == "sync_history" && got[0] != old) {
			t.Errorf("%s: kept %v, want ts %s ingested %s", table, got, old, now)
		}
	}
}

// testBackfillSurvivesRestarts is issue 9's scenario: a backfilled order of
// three years ago, written a minute ago, keeps its history across restarts
// (open, write, close, open, open) with the default retention_days.
func testBackfillSurvivesRestarts(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	dsn, dataDir := h.fresh(t)
	cfg := DefaultConfig()
	cfg.DSN = dsn
	cfg.FlushInterval = 20 * time.Millisecond
	open := func() *Sink {
		t.Helper()
		s := NewSink(cfg, pipeline.Env{Name: SinkName, DataDir: dataDir})
		if err := s.Open(ctx); err != nil {
			t.Fatal(err)
		}
		// The pass the sink's retention loop makes at start, made here so
		// the test does not race it.
		if dropped, err := s.DB().Retain(ctx, cfg.RetentionDays, time.Now()); err != nil || len(dropped) > 0 {
			t.Errorf("retention at start dropped %v (%v)", dropped, err)
		}
		return s
	}
	placed := time.Now().UTC().AddDate(-3, 0, 0).Truncate(time.Second)
	order := newEvent("backfill.myshopify.com", "order_placed", "order", "4501", placed, `{"total_price":"25.00","currency":"EUR"}`)
	order.Source = "shopify.backfill"

	s := open()
	if err := s.Write(ctx, records(t, order)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSinkOutcomes(ctx, []pipeline.Outcome{{Record: records(t, order)[0], Stage: "brevo", Result: OutcomeDelivered, Attempt: 1}}); err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)
	for i := 0; i < 2; i++ {
		open().Close(ctx)
	}

	db, _, _ := reopen(t, cfg, dataDir)
	res := query(t, db, "SELECT sink, ts FROM sync_history FINAL ORDER BY sink")
	want := [][]any{{"brevo", placed}, {SinkName, placed}}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("sync_history after two restarts: %v, want %v", res.Rows, want)
	}
	if n := scalar(t, db, "SELECT count() FROM commerce_events FINAL WHERE event_id = "+quote(order.ID)); n != uint64(1) {
		t.Errorf("commerce_events after two restarts: %v rows, want 1", n)
	}
}

func reopen(t *testing.T, cfg *Config, dataDir string) (*DB, *Config, string) {
	t.Helper()
	db, err := OpenConfig(context.Background(), cfg, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, cfg, dataDir
}

// Column lists of the layout of migrations 1 to 4, partitioned by ts.
var (
	oldSyncCols     = syncCols[:len(syncCols)-1]
	oldErrorCols    = errorCols[:len(errorCols)-1]
	oldWebhookCols  = webhookCols[:len(webhookCols)-1]
	oldCommerceCols = commerceCols[:len(commerceCols)-1]
)

// oldLayout replaces db's tables by those of migrations 1 to 4 (partitioned
// by the event's time), recorded as applied, as a store written by an
// earlier tajo.
func oldLayout(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	for _, table := range append(slices.Clone(historyTables), chschema.MigrationsTable) {
		if err := db.b.exec(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.b.exec(ctx, chschema.MigrationsDDL); err != nil {
		t.Fatal(err)
	}
	ms, err := chschema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:4] {
		for _, st := range m.Statements {
			if err := db.b.exec(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.b.insert(ctx, chschema.MigrationsTable, []string{"version", "name", "applied_at"}, [][]any{{m.Version, m.Name, t0}}); err != nil {
			t.Fatal(err)
		}
	}
}

// oldRows fills an old-layout store: n sync rows of January 2022 events
// synced on a recent day, and one row in each other table.
func oldRows(t *testing.T, db *DB, n int, synced time.Time) {
	t.Helper()
	ctx := context.Background()
	event := time.Date(2022, 1, 10, 8, 0, 0, 0, time.UTC)
	var sync [][]any
	for i := 0; i < n; i++ {
		sync = append(sync, []any{event, synced, "old.myshopify.com", fmt.Sprintf("ev-%05d", i), "order_placed", "order", fmt.Sprint(1000 + i), "brevo", "delivered", nasty[2], uint32(1), uint32(i)})
	}
	inserts := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"sync_history", oldSyncCols, sync},
		{"error_history", oldErrorCols, [][]any{{synced, "old.myshopify.com", "sink:brevo", "rejected", "invalid_parameter", "bad email", "ev-00000", `{"big":"` + nasty[1] + `"}`}}},
		{"webhook_log", oldWebhookCols, [][]any{{synced, "old.myshopify.com", "orders/create", "w-1", "2025-07", "valid", uint16(200), uint32(512), uint32(3)}}},
		{"commerce_events", oldCommerceCols, [][]any{{event, "old.myshopify.com", "ev-00000", "order_placed", "order", "1000", "9", "a@example.com", "EUR",
			decimal.RequireFromString("12.5"), decimal.RequireFromString("10"), decimal.Zero, decimal.Zero, uint32(1), uint32(2)}}},
	}
	for _, in := range inserts {
		if err := db.b.insert(ctx, in.table, in.cols, in.rows); err != nil {
			t.Fatalf("%s: %v", in.table, err)
		}
	}
}

// snapshot reads a table's rows in the old layout's columns, in key order.
func snapshot(t *testing.T, db *DB, table string, cols []string) [][]any {
	t.Helper()
	sel := strings.Join(cols, ", ")
	return query(t, db, "SELECT "+sel+" FROM "+table+" ORDER BY "+sel).Rows
}

func oldSnapshots(t *testing.T, db *DB) map[string][][]any {
	return map[string][][]any{
		"sync_history":    snapshot(t, db, "sync_history", oldSyncCols),
		"error_history":   snapshot(t, db, "error_history", oldErrorCols),
		"webhook_log":     snapshot(t, db, "webhook_log", oldWebhookCols),
		"commerce_events": snapshot(t, db, "commerce_events", oldCommerceCols),
	}
}

// checkMigrated: every row is still there, once, with every old column
// unchanged, ingested_at set, the tables partitioned by it, no leftovers,
// and migration 5 recorded.
func checkMigrated(t *testing.T, db *DB, before map[string][][]any, synced, migratedAt time.Time) {
	t.Helper()
	for table, rows := range before {
		after := snapshot(t, db, table, map[string][]string{
			"sync_history": oldSyncCols, "error_history": oldErrorCols, "webhook_log": oldWebhookCols, "commerce_events": oldCommerceCols}[table])
		if len(after) != len(rows) {
			t.Errorf("%s: %d rows after the migration, %d before", table, len(after), len(rows))
			continue
		}
		for i := range rows {
			if !rowEqual(after[i], rows[i]) {
				t.Errorf("%s row %d:\n got %v\nwant %v", table, i, after[i], rows[i])
				break
			}
		}
	}
	for table, want := range map[string]time.Time{"sync_history": synced, "error_history": synced, "webhook_log": synced} {
		if got := scalar(t, db, "SELECT min(ingested_at) FROM "+table); got != want {
			t.Errorf("%s: ingested_at %v, want the time the row was written, %v", table, got, want)
		}
	}
	if got, ok := scalar(t, db, "SELECT min(ingested_at) FROM commerce_events").(time.Time); !ok || got.Before(migratedAt.Add(-time.Minute)) {
		t.Errorf("commerce_events: ingested_at %v, want the migration's time (%v): its old rows have no write time", got, migratedAt)
	}
	parts := query(t, db, fmt.Sprintf("SELECT DISTINCT table, partition FROM system.parts WHERE database = currentDatabase() AND active AND table IN (%s) ORDER BY table", quoteList(historyTables))).Rows
	for _, p := range parts {
		if p[1] == "202201" || p[1] == "'202201'" {
			t.Errorf("%s still has a partition of the events' month: %v", p[0], parts)
		}
	}
	left := query(t, db, "SELECT name FROM system.tables WHERE database = currentDatabase() AND (name LIKE '%\\_new' OR name LIKE '%\\_old')").Rows
	if len(left) > 0 {
		t.Errorf("leftover tables: %v", left)
	}
	got, err := db.Applied(context.Background())
	if err != nil || !reflect.DeepEqual(got, []uint32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("applied %v %v", got, err)
	}
}

// testRelayout: a store in the old layout, with rows, is migrated without
// loss, and the migrated rows of a January 2022 order survive retention.
func testRelayout(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	db, cfg, dataDir := h.open(t, nil)
	synced := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	oldLayout(t, db)
	oldRows(t, db, 2500, synced)
	before := oldSnapshots(t, db)
	db.Close()

	start := time.Now()
	db2, _, _ := reopen(t, cfg, dataDir)
	t.Logf("%s: migrated %d rows in %s", h.name, len(before["sync_history"])+3, time.Since(start).Round(time.Millisecond))
	checkMigrated(t, db2, before, synced, start)
	if dropped, err := db2.Retain(ctx, 30, time.Now()); err != nil || len(dropped) > 0 {
		t.Errorf("retention after the migration dropped %v (%v)", dropped, err)
	}
	if err := db2.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	checkMigrated(t, db2, before, synced, start)
}

// testRelayoutResumes: a migration killed at any step is finished by the
// next start, without loss and without a row twice.
func testRelayoutResumes(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	ms, err := chschema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	createNew := ms[4].Statements[0] // sync_history_new
	if tb, _ := chschema.RelayoutTarget(createNew); tb != "sync_history" {
		t.Fatalf("migration 5 starts with %q", createNew)
	}
	copyAll := "INSERT INTO sync_history_new (" + strings.Join(oldSyncCols, ", ") + ", ingested_at) SELECT " + strings.Join(oldSyncCols, ", ") + ", synced_at FROM sync_history"
	for _, tc := range []struct {
		name  string
		steps []string
	}{
		{"killed during the copy", []string{createNew, "INSERT INTO sync_history_new (" + strings.Join(oldSyncCols, ", ") + ") SELECT " + strings.Join(oldSyncCols, ", ") + " FROM sync_history WHERE event_id < 'ev-00100'"}},
		{"killed between the renames", []string{createNew, copyAll, "RENAME TABLE sync_history TO sync_history_old"}},
		{"killed before dropping the old table", []string{createNew, copyAll, "RENAME TABLE sync_history TO sync_history_old, sync_history_new TO sync_history"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, cfg, dataDir := h.open(t, nil)
			synced := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			oldLayout(t, db)
			oldRows(t, db, 300, synced)
			before := oldSnapshots(t, db)
			for _, st := range tc.steps {
				if err := db.b.exec(ctx, st); err != nil {
					t.Fatalf("%s: %v", st, err)
				}
			}
			db.Close()
			start := time.Now()
			db2, _, _ := reopen(t, cfg, dataDir)
			checkMigrated(t, db2, before, synced, start)
		})
	}
}
