//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/clickhouse"
	"github.com/tajo/tajo/sinks/clickhouse/chtest"
)

// TestReplayThroughTheRealIngress: an order the clickhouse sink rejects
// (an amount beyond its Decimal(18, 4) columns) is in the error history
// with its raw body; tajo replay sends it to the running tajo's webhook
// listener, which accepts the new signature (a 401 would fail the replay)
// and, under the new webhook id, processes it again instead of dropping
// it as a duplicate: a second error_history row, of a new event id.
func TestReplayThroughTheRealIngress(t *testing.T) {
	if err := clickhouse.CheckLibrary(); err != nil {
		if chtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	r := &shopifyRun{t: t, dir: dir, http: freeAddr(t), kafka: freeAddr(t), logPath: filepath.Join(dir, "tajo.log")}
	cfgPath := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: %q}
log: {level: info}
broker: {embedded: {listen: %q}}
pipeline: {commit_interval: 100ms}
dead_letter: {sink: clickhouse}
connectors:
  shopify:
%s
sinks:
  clickhouse: {dsn: "chdb://history", flush_interval: 100ms}
`, dir, r.http, r.kafka, indentBy(webhookOnlyConnector(""), "    "))), 0o600)
	r.start(cfgPath)

	body := []byte(`{"id": 820982911946154508, "email": "jon@example.com", "updated_at": "2026-11-20T10:00:00Z",
		"created_at": "2026-11-20T10:00:00Z", "currency": "EUR", "total_price": "100000000000000000000.00", "line_items": []}`)
	if code, err := postWebhook(r.webhookURL(), body, signedHeaders(fixtureShop, "orders/create", "orig-1", fixtureSecret, body)); err != nil || code != 200 {
		t.Fatalf("first delivery: %d %v\n%s", code, err, r.logTail())
	}
	count := func(sql string) int {
		t.Helper()
		out, errOut, code := tajoCLI(t, "query", "-c", cfgPath, "--json", sql)
		if code != 0 {
			t.Fatalf("%s: %s", sql, errOut)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("%s: %v\n%s", sql, err, out)
		}
		return len(rows)
	}
	waitFor := func(what, sql string, n int) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); count(sql) < n; time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: fewer than %d rows of %s\n%s", what, n, sql, r.logTail())
			}
		}
	}
	rejected := "SELECT event_id FROM error_history FINAL WHERE positionCaseInsensitive(message, 'Decimal(18, 4)') > 0"
	waitFor("the rejection", rejected, 1)

	out, errOut, code := tajoCLI(t, "replay", "-c", cfgPath, "--reason", "decimal(18, 4)", "--dry-run")
	if code != 0 || !strings.Contains(out, "would replay 1, would skip 0") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = tajoCLI(t, "replay", "-c", cfgPath, "--reason", "decimal(18, 4)")
	if code != 0 || !strings.Contains(out, "replayed 1, skipped 0, failed 0") {
		t.Fatalf("replay: exit %d\n%s%s\n%s", code, out, errOut, r.logTail())
	}
	waitFor("the replayed delivery processed again", rejected, 2)
	r.stop()
}
