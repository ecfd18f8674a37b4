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
