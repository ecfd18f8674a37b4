package chschema

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.sql
var files embed.FS

// MigrationsTable records which migrations a database has applied.
const MigrationsTable = "schema_migrations"

// MigrationsDDL creates MigrationsTable. It is not itself a migration: it
// must exist before the first one can be recorded.
const MigrationsDDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree
ORDER BY version`

// Migration is one numbered file: NNNN_name.sql.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations returns every migration in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	seen := map[uint32]string{}
	for _, n := range names {
		num, rest, ok := strings.Cut(strings.TrimSuffix(n, ".sql"), "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil || v == 0 {
			return nil, fmt.Errorf("chschema: %s: want NNNN_name.sql", n)
		}
		if prev, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("chschema: %s and %s share version %d", prev, n, v)
		}
		seen[uint32(v)] = n
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: uint32(v), Name: rest, Statements: Split(string(b))})
	}
	return out, nil
}

// RelayoutSuffix marks a relayout: a statement that creates "<table>_new"
// gives <table> a new layout (a new partition key, new columns). The
// migrator does not just run it: it copies <table>'s rows into the new
// table, swaps the two and drops the old one (sinks/clickhouse).
const RelayoutSuffix = "_new"

// RelayoutTarget returns the table a relayout statement gives a new layout,
// and false for any other statement.
func RelayoutTarget(stmt string) (string, bool) {
	const prefix = "CREATE TABLE IF NOT EXISTS "
	s := strings.TrimSpace(stmt)
	if !strings.HasPrefix(strings.ToUpper(s), prefix) {
		return "", false
	}
	name, _, _ := strings.Cut(strings.TrimSpace(s[len(prefix):]), " ")
	name, _, _ = strings.Cut(name, "(")
	table, ok := strings.CutSuffix(name, RelayoutSuffix)
	if !ok || table == "" {
		return "", false
	}
	return table, true
}

// Split cuts a file into statements. ClickHouse's native protocol takes one
// statement per query, so files are split at a semicolon that ends a line;
// whole-line "--" comments are dropped.
func Split(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		if strings.HasSuffix(t, ";") {
			cur.WriteString(strings.TrimSuffix(strings.TrimRight(line, " \t\r"), ";"))
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(strings.TrimRight(line, " \t\r"))
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
