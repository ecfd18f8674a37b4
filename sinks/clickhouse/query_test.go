package clickhouse

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServerReadOnlyQuery(t *testing.T) { testReadOnlyQuery(t, serverHarness(t)) }

func TestChdbReadOnlyQuery(t *testing.T) { testReadOnlyQuery(t, chdbHarness(t)) }

// testReadOnlyQuery: the history query path reads tajo's tables, refuses
// what reads or writes anything else, and bounds its results, on a real
// backend.
func testReadOnlyQuery(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	s, db := openSink(t, h, t0)
	batch := records(t,
		newEvent("a.myshopify.com", "order.placed", "order", "1", t0, `{"id":"1"}`),
		newEvent("a.myshopify.com", "order.placed", "order", "2", t0, `{"id":"2"}`),
		newEvent("a.myshopify.com", "order.placed", "order", "3", t0, `{"id":"3"}`),
		newEvent("b.myshopify.com", "order.placed", "order", "4", t0, `{"id":"4"}`),
		newEvent("b.myshopify.com", "order.placed", "order", "5", t0, `{"id":"5"}`),
	)
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	res, err := db.ReadOnlyQuery(ctx, "SELECT shop, count() AS n FROM sync_history FINAL GROUP BY shop ORDER BY shop;", Limits{})
	if err != nil || len(res.Rows) != 2 || asUint(res.Rows[0][1]) != 3 || asUint(res.Rows[1][1]) != 2 {
		t.Fatalf("a plain SELECT on sync_history: %v %v", res, err)
	}
	for _, q := range []string{"SHOW TABLES", "DESCRIBE sync_history", "SELECT * FROM webhook_log"} {
		if _, err := db.ReadOnlyQuery(ctx, q, Limits{}); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}

	for _, q := range []string{
		"SELECT * FROM file('/etc/passwd', 'LineAsString')",
		"SELECT * FROM file('/proc/self/environ', 'LineAsString')",
		"SELECT file('/proc/self/environ')",
		"SELECT * FROM url('http://127.0.0.1:1/', 'TSV', 'a String')",
		"SELECT name FROM system.tables",
		"WITH 1 AS y INSERT INTO sync_history SELECT * FROM sync_history",
		"SELECT * FROM sync_history INTO OUTFILE 'out.tsv' APPEND",
		"SELECT 1; DROP TABLE sync_history",
	} {
		_, err := db.ReadOnlyQuery(ctx, q, Limits{})
		var se *SQLError
		if !errors.As(err, &se) {
			t.Errorf("%s: %v, want a refusal", q, err)
		}
	}

	// Beneath the statement checks, ClickHouse itself runs the statement
	// read-only: what got past them could still not write or read files.
	for _, q := range []string{
		"INSERT INTO webhook_log (shop) SELECT shop FROM sync_history",
		"SELECT * FROM file('/etc/passwd', 'TSV', 'line String')",
	} {
		_, err := db.b.queryLimited(ctx, q, []setting{{"readonly", 1}})
		if code, _ := exceptionCode(err); code != 164 {
			t.Errorf("%s with readonly = 1: %v, want READONLY (164)", q, err)
		}
	}

	// Result bounds: rows, bytes, then time; each says what to do.
	_, err = db.ReadOnlyQuery(ctx, "SELECT * FROM sync_history", Limits{MaxRows: 2})
	if err == nil || !strings.Contains(err.Error(), "over the limit of 2 rows") {
		t.Errorf("5 rows with a 2-row limit: %v", err)
	}
	_, err = db.ReadOnlyQuery(ctx, "SELECT * FROM sync_history", Limits{MaxBytes: 100})
	if err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("5 rows with a 100-byte limit: %v", err)
	}
	slow := "SELECT sleep(3)"
	_, err = db.ReadOnlyQuery(ctx, slow, Limits{Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "ran longer than 1s") {
		t.Errorf("a 3 s query with a 1 s timeout: %v", err)
	}
	// Memory while it runs, whatever the size of the result: 50 rows
	// aggregated into one (arrays of ~200 MB) with a 32 MiB bound.
	hungry := "SELECT length(groupArray(range(1000000))) FROM sync_history ARRAY JOIN range(10) AS k"
	_, err = db.ReadOnlyQuery(ctx, hungry, Limits{maxMemory: 32 << 20})
	if err == nil || !strings.Contains(err.Error(), "more than 32 MiB of memory") {
		t.Errorf("a query that needs ~200 MB with a 32 MiB bound: %v", err)
	}
	if _, err := db.ReadOnlyQuery(ctx, "SELECT 1", Limits{MaxRows: CapMaxRows + 1}); err == nil || !strings.Contains(err.Error(), "at most") && !strings.Contains(err.Error(), "between") {
		t.Errorf("a limit over the cap: %v", err)
	}
	// A query stopped by a bound leaves nothing behind for the next one
	// (chDB keeps a failed query's partial output in the session).
	hist, err := db.History(ctx, "", 10)
	if err != nil || len(hist.Rows) != 5 {
		t.Fatalf("history after bounded queries: %v %v", hist, err)
	}

	// Slow queries do not hold the history writes back beyond one of them:
	// four at once, each about 1 s, and a write in the middle goes before
	// the ones still waiting (timed by order, not by the clock, which a
	// loaded machine stretches).
	one := "SELECT sleep(1)"
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		finished []time.Time
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.ReadOnlyQuery(ctx, one, Limits{}); err != nil {
				t.Errorf("slow query: %v", err)
			}
			mu.Lock()
			finished = append(finished, time.Now())
			mu.Unlock()
		}()
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	err = db.RecordWebhooks(ctx, []WebhookLogRow{{Time: t0, Shop: "a.myshopify.com", Topic: "orders/create", HMAC: "valid", Status: 200}})
	written := time.Now()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	after := 0
	for _, f := range finished {
		if f.After(written) {
			after++
		}
	}
	if after < 2 {
		t.Errorf("the webhook-log write ended after %d of four slow queries; want it queued behind at most the running one", 4-after)
	}
	t.Logf("%s: write latency behind four 1 s queries: %s (%d still to run after it)", h.name, written.Sub(start), after)
}
