package chschema

import (
	"strings"
	"testing"
)

// The DDL must run on ClickHouse 18.16: no feature newer than that.
func TestMigrationsAreOrderedAndPortable(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 4 {
		t.Fatalf("%d migrations, want at least 4", len(ms))
	}
	for i, m := range ms {
		if m.Version != uint32(i+1) {
			t.Fatalf("migration %d has version %d: versions must be 1, 2, 3, …", i, m.Version)
		}
		if len(m.Statements) == 0 {
			t.Fatalf("migration %s is empty", m.Name)
		}
		for _, st := range m.Statements {
			up := strings.ToUpper(st)
			for _, banned := range []string{" TTL ", "DATETIME64", "MAP(", "CODEC(", "LOWCARDINALITY"} {
				if strings.Contains(up, banned) {
					t.Errorf("%s uses %s, which ClickHouse 18.16 lacks:\n%s", m.Name, strings.TrimSpace(banned), st)
				}
			}
		}
	}
}

func TestSplit(t *testing.T) {
	got := Split("-- comment\nCREATE TABLE a (x UInt8)\nENGINE = Memory;\n\nSELECT 1;\nSELECT 2")
	if len(got) != 3 || got[0] != "CREATE TABLE a (x UInt8)\nENGINE = Memory" || got[2] != "SELECT 2" {
		t.Fatalf("%q", got)
	}
}

func TestRelayoutTarget(t *testing.T) {
	for stmt, want := range map[string]string{
		"CREATE TABLE IF NOT EXISTS sync_history_new (\n ts DateTime)": "sync_history",
		"create table if not exists webhook_log_new(ts DateTime)":      "webhook_log",
		"CREATE TABLE IF NOT EXISTS sync_history (ts DateTime)":        "",
		"CREATE TABLE IF NOT EXISTS _new (ts DateTime)":                "",
		"ALTER TABLE sync_history_new ADD COLUMN x UInt8":              "",
	} {
		got, ok := RelayoutTarget(stmt)
		if got != want || ok != (want != "") {
			t.Errorf("RelayoutTarget(%q) = %q, %v; want %q", stmt, got, ok, want)
		}
	}
	// The ingestion-time relayout covers every history table.
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for _, m := range ms {
		for _, st := range m.Statements {
			if tb, ok := RelayoutTarget(st); ok {
				tables = append(tables, tb)
				if !strings.Contains(st, "PARTITION BY toYYYYMM(ingested_at)") {
					t.Errorf("%s: %s is not partitioned by ingested_at", m.Name, tb)
				}
			}
		}
	}
	if strings.Join(tables, " ") != "sync_history error_history webhook_log commerce_events" {
		t.Errorf("relayouts: %v", tables)
	}
}
