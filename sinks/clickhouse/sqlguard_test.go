package clickhouse

import (
	"errors"
	"strings"
	"testing"
)

// Each statement of issue 9's SQL items (and their variants) is refused
// with a reason, before it reaches ClickHouse.
func TestCheckSQLRefuses(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{"SELECT * FROM file('/etc/passwd', 'LineAsString')", "table function file()"},
		{"SELECT * FROM file('/proc/self/environ', 'LineAsString')", "table function file()"},
		{"select line from FILE('/proc/self/environ','LineAsString')", "FILE()"},
		{"SELECT file('/proc/self/environ')", "file() is not accepted"},
		{"SELECT `file`('/proc/self/environ')", "file() is not accepted"},
		{"SELECT * FROM url('http://evil.example/x', 'CSV', 'a String')", "url()"},
		{"SELECT * FROM sync_history WHERE shop IN (SELECT * FROM url('http://evil.example/', 'TSV', 'a String'))", "url()"},
		{"SELECT * FROM s3('https://b.s3.amazonaws.com/x')", "s3()"},
		{"SELECT * FROM remote('10.0.0.1', default.t)", "remote()"},
		{"SELECT * FROM remoteSecure('10.0.0.1', default.t)", "remoteSecure()"},
		{"SELECT * FROM executable('sh', 'TSV', 'a String')", "executable()"},
		{"SELECT * FROM mysql('h:3306', 'db', 't', 'u', 'p')", "mysql()"},
		{"SELECT * FROM input('a String')", "input()"},
		{"SELECT * FROM cluster('c', system.one)", "cluster()"},
		{"SELECT * FROM numbers(10)", "table function numbers()"},
		{"SELECT * FROM system.tables", "system"},
		{`SELECT * FROM "system"."tables"`, "system"},
		{"SELECT * FROM `system`.`users`", "system"},
		{"SELECT name FROM sync_history WHERE 1 IN (SELECT 1 FROM system.one)", "system"},
		{"SELECT * FROM information_schema.tables", "information_schema"},
		{"SELECT * FROM other_app_table", `"other_app_table" is not one of tajo's tables`},
		{"SELECT * FROM sync_history, other_app_table", `"other_app_table" is not one of tajo's tables`},
		{"SELECT * FROM sync_history AS s JOIN secrets ON 1", `"secrets" is not one of tajo's tables`},
		{"SELECT * FROM sync_history CROSS JOIN error_history, secrets", `"secrets"`},
		{"SELECT * FROM default.secrets", "other databases"},
		{"SELECT 1 WHERE 'x' IN secrets", `"secrets"`},
		{"SELECT in('x', secrets)", "in() is not accepted"},
		{"SELECT dictGet('d', 'a', 1)", "dictGet()"},
		{"SELECT joinGet('j', 'a', 1)", "joinGet()"},
		{"WITH 1 AS y INSERT INTO sync_history SELECT * FROM sync_history", "INSERT"},
		{"INSERT INTO sync_history SELECT * FROM sync_history", "only SELECT"},
		{"SELECT * FROM sync_history INTO OUTFILE '/tmp/x' APPEND", "INTO"},
		{"SELECT * FROM sync_history FORMAT JSON", "FORMAT"},
		{"SELECT * FROM sync_history SETTINGS readonly = 0", "SETTINGS"},
		{"SELECT 1; SELECT 2", "one statement"},
		{"SELECT 1; DROP TABLE sync_history", "one statement"},
		{"DROP TABLE sync_history", "only SELECT"},
		{"SET readonly = 0", "only SELECT"},
		{"ALTER TABLE sync_history DELETE WHERE 1", "only SELECT"},
		{"EXPLAIN INSERT INTO sync_history VALUES (1)", "INSERT"},
		{"SHOW PROCESSLIST", "only SHOW TABLES"},
		{"SHOW TABLES FROM system", "system"},
		{"SHOW CREATE TABLE secrets", `"secrets"`},
		{"DESCRIBE TABLE system.tables", "system"},
		{"DESC file('/etc/passwd', 'LineAsString')", "file()"},
		{"", "empty"},
		{"-- only a comment", "empty"},
		// Text that ClickHouse versions read differently is refused rather
		// than guessed at.
		{"SELECT 1 /* a /* nested */ INSERT */", "nested"},
		{"SELECT 1 /* never closed", "not closed"},
		{"SELECT 'never closed", "not closed"},
		{"SELECT 1 # INSERT", "'#'"},
		{"SELECT $$x$$", "'$'"},
		{"SELECT 1INSERT", "INSERT"},
		// A keyword inside a comment or a string is only text, but outside
		// one it counts, whatever the case.
		{"SELECT 'a' -- INSERT\n, 1 FROM sYsTeM.tables", "sYsTeM"},
	} {
		_, err := checkSQL(c.sql)
		var se *SQLError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want a refusal naming %q", c.sql, err, c.want)
		}
	}
}

// Reads of tajo's tables, in the forms people write, are accepted, and the
// text handed to ClickHouse ends with the statement's last token.
func TestCheckSQLAccepts(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{"SELECT sink, count() AS n FROM sync_history FINAL GROUP BY sink ORDER BY sink", ""},
		{"select * from sync_history limit 5;", "select * from sync_history limit 5"},
		{"SELECT 1; -- done\n", "SELECT 1"},
		{"SELECT count() FROM sync_history -- trailing comment", "SELECT count() FROM sync_history"},
		{"(SELECT shop FROM webhook_log) UNION ALL (SELECT shop FROM error_history)", ""},
		{"WITH t AS (SELECT * FROM sync_history) SELECT count() FROM t", ""},
		{"WITH 1 AS y SELECT y", ""},
		{"SELECT * FROM sync_history AS s LEFT JOIN commerce_events AS c ON s.event_id = c.event_id", ""},
		{"SELECT * FROM sync_history, commerce_events", ""},
		{"SELECT * FROM (SELECT shop FROM sync_history) AS x, error_history", ""},
		{"SELECT extract(DAY FROM synced_at), trim(BOTH ' ' FROM shop), position('a' IN shop) FROM sync_history", ""},
		{"SELECT substring(shop FROM 1 FOR 3) FROM sync_history", ""},
		{"SELECT * FROM sync_history WHERE shop IN ('a', 'b') AND sink NOT IN ('file') AND event_id GLOBAL IN (SELECT event_id FROM error_history)", ""},
		{"SELECT * FROM sync_history WHERE event_id IN error_history", ""},
		{"SELECT 1 IN tuple(1, 2)", ""},
		{"SELECT 'FROM system.tables; INSERT', \"select\", `into` FROM sync_history", ""},
		{"SELECT format('{} {}', shop, sink) FROM sync_history", ""},
		{"SELECT arr FROM sync_history ARRAY JOIN [1, 2] AS arr, [3, 4] AS b", ""},
		{"SELECT 1e-5, 0x1F, 0b101, 1.5", ""},
		{"SHOW TABLES", ""},
		{"SHOW TABLES LIKE '%history'", ""},
		{"SHOW CREATE TABLE sync_history", ""},
		{"SHOW COLUMNS FROM webhook_log", ""},
		{"DESCRIBE sync_history", ""},
		{"DESC TABLE error_history", ""},
		{"EXPLAIN SELECT * FROM sync_history", ""},
		{"SELECT * FROM schema_migrations", ""},
	} {
		got, err := checkSQL(c.sql)
		if err != nil {
			t.Errorf("%q: %v", c.sql, err)
			continue
		}
		if want := c.want; want != "" && got != want {
			t.Errorf("%q: handed on as %q, want %q", c.sql, got, want)
		}
	}
}

func TestTajoTablesComeFromTheMigrations(t *testing.T) {
	got := strings.Join(TajoTables(), " ")
	for _, want := range []string{"commerce_events", "error_history", "schema_migrations", "sync_history", "webhook_log"} {
		if !strings.Contains(got, want) {
			t.Errorf("TajoTables() = %s, missing %s", got, want)
		}
	}
	if strings.Contains(got, "_new") {
		t.Errorf("TajoTables() = %s: a relayout's _new table is its target's", got)
	}
}
