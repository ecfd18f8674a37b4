//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/clickhouse"
	"github.com/tajo/tajo/sinks/clickhouse/chtest"
)

// A ClickHouse server that stops for 30 s in the middle of a run loses no
// history row: the pipeline holds, Kafka keeps the backlog, and no offset
// is committed past an unwritten row — checked by killing tajo with
// SIGKILL in the middle of the outage: whatever it had taken in but not
// written must come back from Kafka after the restart.
func TestClickHouseOutageLosesNoHistory(t *testing.T) {
	_, _, err := chtest.Binary()
	if err != nil {
		if chtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	srv, err := chtest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	outage := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("TAJO_CLICKHOUSE_OUTAGE")); err == nil {
		outage = d
	}
	const count = 6000
	dir := t.TempDir()
	cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
pipeline: {progress_interval: 1s, commit_interval: 200ms, retry: {initial: 100ms, max: 2s}}
dead_letter: {sink: clickhouse}
sources:
  generator: {count: %d, rate: 300, customers: 500, shops: [a.myshopify.com, b.myshopify.com]}
sinks:
  clickhouse: {dsn: %q, flush_interval: 100ms, timeout: 5s}
`, dir, count, srv.DSN("tajo_outage"))
	cfgPath := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	logPath := filepath.Join(dir, "tajo.log")
	cmd := startTajo(t, cfgPath, logPath)

	ctx := context.Background()
	chCfg := clickhouse.DefaultConfig()
	chCfg.DSN = srv.DSN("tajo_outage")
	rows := func() uint64 {
		// As the CLI reads: never migrating, so polling while tajo run
		// starts cannot collide with its migration.
		db, err := clickhouse.OpenExisting(ctx, chCfg, dir)
		if err != nil {
			return 0
		}
		defer db.Close()
		// One delivered row per event at the clickhouse sink; events the
		// generator produced again after the kill reach the guard as
		// duplicates and are recorded there as skipped, not here.
		res, err := db.Query(ctx, "SELECT count() FROM sync_history FINAL WHERE sink = 'clickhouse'")
		if err != nil || len(res.Rows) != 1 {
			return 0
		}
		return asCount(res.Rows[0][0])
	}
	waitFor(t, "the first rows", logPath, time.Minute, func() bool { return rows() > 500 })
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(outage / 2)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	time.Sleep(outage / 2)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	cmd = startTajo(t, cfgPath, logPath)
	waitFor(t, "every event in the history", logPath, 3*time.Minute, func() bool { return rows() >= count })
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tajo did not stop cleanly: %v", err)
	}
	if n := rows(); n != count {
		t.Fatalf("%d delivered history rows, want exactly %d (one per event)", n, count)
	}
	logs, _ := os.ReadFile(logPath)
	if !strings.Contains(string(logs), "retrying") {
		t.Fatalf("the outage was never noticed (no retries logged):\n%s", tail(string(logs), 20))
	}
}

func asCount(v any) uint64 {
	switch n := v.(type) {
	case uint64:
		return n
	case int64:
		return uint64(n)
	case float64:
		return uint64(n)
	case string:
		var u uint64
		fmt.Sscan(n, &u)
		return u
	}
	var u uint64
	fmt.Sscan(fmt.Sprint(v), &u)
	return u
}
