//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	chschema "github.com/tajo/tajo/schemas/clickhouse"
	"github.com/tajo/tajo/sinks/clickhouse/chtest"
)

// The CLI never migrates the history store: on a store an older tajo wrote
// (migrations 1 to 4) `tajo query` says what to do and leaves it as it is,
// and on a server where tajo run never ran it creates no database.
func TestCLIDoesNotMigrate(t *testing.T) {
	if _, _, err := chtest.Binary(); err != nil {
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
	ctx := context.Background()
	conn := func(db string) ch.Conn {
		t.Helper()
		opts, err := ch.ParseDSN(srv.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		c, err := ch.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	admin := conn("default")
	if err := admin.Exec(ctx, "CREATE DATABASE tajo_old"); err != nil {
		t.Fatal(err)
	}
	old := conn("tajo_old")
	ms, err := chschema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{chschema.MigrationsDDL}
	for _, m := range ms[:4] {
		stmts = append(stmts, m.Statements...)
		stmts = append(stmts, fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) SELECT %d, '%s', now()", m.Version, m.Name))
	}
	for _, s := range stmts {
		if err := old.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}

	query := func(db string) (string, string, int) {
		dir := t.TempDir()
		cfgPath := filepath.Join(dir, "pipeline.yaml")
		os.WriteFile(cfgPath, []byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
sources:
  generator: {count: 1}
sinks:
  clickhouse: {dsn: %q}
`, dir, srv.DSN(db))), 0o600)
		var out, errb bytes.Buffer
		code := run([]string{"query", "-c", cfgPath, "SELECT count() FROM sync_history"}, &out, &errb)
		return out.String(), errb.String(), code
	}
	count := func(sql string) uint64 {
		t.Helper()
		var n uint64
		if err := admin.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}

	out, errOut, code := query("tajo_old")
	t.Logf("tajo query on a store at migration 4: exit %d: %s", code, strings.TrimSpace(errOut))
	want := fmt.Sprintf("the history store is at migration 4, this tajo needs %d: start tajo run once to migrate", ms[len(ms)-1].Version)
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("tajo query on a store at migration 4: exit %d\nstdout: %s\nstderr: %s\nwant %q", code, out, errOut, want)
	}
	if n := count("SELECT count() FROM system.columns WHERE database = 'tajo_old' AND name = 'ingested_at'"); n != 0 {
		t.Errorf("the CLI migrated: %d tables have ingested_at", n)
	}
	if n := count("SELECT count() FROM system.tables WHERE database = 'tajo_old' AND name LIKE 'schema_migrations_lock%'"); n != 0 {
		t.Errorf("the CLI took the migration lock")
	}

	out, errOut, code = query("tajo_never")
	if code != 1 || !strings.Contains(errOut, "the history store has no tajo tables yet") || !strings.Contains(errOut, "start tajo run once") {
		t.Errorf("tajo query where tajo run never ran: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if n := count("SELECT count() FROM system.databases WHERE name = 'tajo_never'"); n != 0 {
		t.Errorf("the CLI created the database")
	}
}
