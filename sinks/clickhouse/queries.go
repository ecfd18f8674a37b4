package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LogFilter selects log rows.
type LogFilter struct {
	// Type is "webhook" (webhook_log), "error" (error_history) or "sync"
	// (sync_history).
	Type  string
	Shop  string        // "" for every shop
	Last  time.Duration // only rows this recent; 0 for all
	Limit int           // 0 means 100
}

// LogTypes are the values LogFilter.Type accepts.
var LogTypes = []string{"webhook", "error", "sync"}

// Logs lists the newest rows of one log, newest first.
func (db *DB) Logs(ctx context.Context, f LogFilter) (*Result, error) {
	var sel, table, tcol string
	switch f.Type {
	case "webhook":
		sel, table, tcol = "ts, shop, topic, webhook_id, api_version, hmac, status, bytes, latency_ms", "webhook_log", "ts"
	case "error":
		sel, table, tcol = "ts, shop, stage, error_class, code, message, event_id", "error_history", "ts"
	case "sync":
		sel, table, tcol = "synced_at, shop, sink, event_type, entity_kind, entity_id, outcome, reason, attempt, latency_ms, event_id", "sync_history", "synced_at"
	default:
		return nil, fmt.Errorf("unknown log type %q (want one of %s)", f.Type, strings.Join(LogTypes, ", "))
	}
	var conds []string
	if f.Shop != "" {
		conds = append(conds, "shop = "+quote(f.Shop))
	}
	if f.Last > 0 {
		conds = append(conds, fmt.Sprintf("%s >= toDateTime(%d)", tcol, db.now().Add(-f.Last).Unix()))
	}
	q := "SELECT " + sel + " FROM " + table + " FINAL"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s DESC, shop LIMIT %d", tcol, limitOr(f.Limit, 100))
	return db.b.query(ctx, q)
}

// History lists the newest sync outcomes of a shop ("" for every shop),
// newest first.
func (db *DB) History(ctx context.Context, shop string, limit int) (*Result, error) {
	q := "SELECT synced_at, shop, event_type, entity_kind, entity_id, sink, outcome, reason, attempt, latency_ms, event_id FROM sync_history FINAL" +
		shopWhere(" WHERE ", shop) + fmt.Sprintf(" ORDER BY synced_at DESC, ts DESC, event_id, sink LIMIT %d", limitOr(limit, 10))
	return db.b.query(ctx, q)
}

// Query runs SQL tajo wrote itself (tests, tools), one statement, on
// whichever backend is open. SQL a person typed goes through ReadOnlyQuery.
func (db *DB) Query(ctx context.Context, sql string) (*Result, error) {
	sql = strings.TrimSpace(sql)
	sql = strings.TrimSpace(strings.TrimSuffix(sql, ";"))
	if sql == "" {
		return nil, fmt.Errorf("empty query")
	}
	return db.b.query(ctx, sql)
}

// Limits bound one ad-hoc query: the rows and bytes of its result and its
// running time. Zero means the default; more than the cap is refused.
type Limits struct {
	MaxRows  int64         `json:"max_rows,omitempty"`
	MaxBytes int64         `json:"max_bytes,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	// maxMemory is QueryMaxMemory unless a test lowers it.
	maxMemory int64
}

// The defaults and caps of Limits. A result is held in memory whole (and
// twice while the control API renders it), so the caps keep a query from
// taking the memory the pipeline needs; on chDB the timeout is also how
// long the history writes may wait behind one query.
const (
	DefaultMaxRows      = 100_000
	CapMaxRows          = 1_000_000
	DefaultMaxBytes     = 64 << 20
	CapMaxBytes         = 256 << 20
	DefaultQueryTimeout = 30 * time.Second
	CapQueryTimeout     = 5 * time.Minute
	// QueryMaxMemory is the memory one query may use while it runs
	// (ClickHouse's max_memory_usage), whatever its result: a join, sort
	// or aggregation over the history holds its state in tajo's own
	// process on chDB, where one unbounded SELECT grew tajo from 0.3 to
	// 5.5 GB in 30 s.
	QueryMaxMemory = 1 << 30
)

// resolve fills the defaults and checks the caps.
func (l Limits) resolve() (Limits, error) {
	if l.MaxRows == 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultQueryTimeout
	}
	if l.maxMemory == 0 {
		l.maxMemory = QueryMaxMemory
	}
	switch {
	case l.MaxRows < 0 || l.MaxRows > CapMaxRows:
		return l, fmt.Errorf("max rows must be between 1 and %d, got %d", CapMaxRows, l.MaxRows)
	case l.MaxBytes < 0 || l.MaxBytes > CapMaxBytes:
		return l, fmt.Errorf("max bytes must be between 1 and %d (%d MiB), got %d", CapMaxBytes, CapMaxBytes>>20, l.MaxBytes)
	case l.Timeout < time.Second || l.Timeout > CapQueryTimeout:
		return l, fmt.Errorf("the query timeout must be between 1s and %s, got %s", CapQueryTimeout, l.Timeout)
	}
	return l, nil
}

// ReadOnlyQuery runs SQL a person typed (`tajo query`, the control API):
// one SELECT, WITH … SELECT, SHOW, DESCRIBE or EXPLAIN over tajo's own
// tables (checkSQL says what else is refused, with a *SQLError), with
// readonly = 1 and lim's bounds set as ClickHouse settings.
func (db *DB) ReadOnlyQuery(ctx context.Context, sql string, lim Limits) (*Result, error) {
	q, err := checkSQL(sql)
	if err != nil {
		return nil, err
	}
	lim, err = lim.resolve()
	if err != nil {
		return nil, err
	}
	secs := int((lim.Timeout + time.Second - 1) / time.Second)
	// The client gives up a little after the server should have, in case
	// it does not (a statement that never checks its time).
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout+5*time.Second)
	defer cancel()
	res, err := db.b.queryLimited(ctx, q, []setting{
		{"max_result_rows", int(lim.MaxRows)},
		{"max_result_bytes", int(lim.MaxBytes)},
		{"max_execution_time", secs},
		{"max_memory_usage", int(lim.maxMemory)},
		{"readonly", 1}, // last: once set, no later setting may change
	})
	if err != nil {
		return nil, explainLimit(err, lim)
	}
	return res, nil
}

// explainLimit turns ClickHouse's refusals of the bounds into what to do
// about them.
func explainLimit(err error, lim Limits) error {
	code, _ := exceptionCode(err)
	switch {
	case code == 396 || code == 158:
		return fmt.Errorf("the result is over the limit of %d rows or %d MiB: narrow the query or add a LIMIT (or raise --max-rows, at most %d, or --max-bytes, at most %d MiB): %w",
			lim.MaxRows, lim.MaxBytes>>20, CapMaxRows, CapMaxBytes>>20, err)
	case code == 159 || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the query ran longer than %s: narrow it (or raise --timeout, at most %s): %w", lim.Timeout, CapQueryTimeout, err)
	case code == 241:
		return fmt.Errorf("the query needed more than %d MiB of memory while it ran: narrow it (a WHERE on ts or shop, fewer columns, a smaller join): %w", lim.maxMemory>>20, err)
	case code == 164:
		return &SQLError{Reason: "ClickHouse refused it in readonly mode: this path only reads (" + err.Error() + ")"}
	}
	return err
}

func shopWhere(prefix, shop string) string {
	if shop == "" {
		return ""
	}
	return prefix + "shop = " + quote(shop)
}

func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
