package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Status is the seed's connector status, from the history. Counts are
// distinct entities (customers, orders, products) that some sink delivered,
// so a redelivered event never counts twice.
type Status struct {
	Connected      bool       `json:"connected"`
	Backend        string     `json:"backend"`
	LastSync       *time.Time `json:"lastSync"`
	CustomersCount uint64     `json:"customersCount"`
	OrdersCount    uint64     `json:"ordersCount"`
	ProductsCount  uint64     `json:"productsCount"`
	// Events is the number of (event, sink) pairs in the history and
	// Failures those whose latest outcome is failed or rejected; ErrorRate
	// is Failures/Events (0 with no events).
	Events    uint64  `json:"events"`
	Failures  uint64  `json:"failures"`
	ErrorRate float64 `json:"errorRate"`
}

// Status summarizes one shop's history ("" for every shop). FINAL folds
// redelivered rows at read time, which both 18.16 and current releases do
// within a partition, and every redelivery of an event shares its partition.
func (db *DB) Status(ctx context.Context, shop string) (Status, error) {
	st := Status{Backend: db.Backend()}
	q := `SELECT
    uniqExactIf(entity_id, entity_kind = 'customer' AND outcome = 'delivered') AS customers,
    uniqExactIf(entity_id, entity_kind = 'order' AND outcome = 'delivered') AS orders,
    uniqExactIf(entity_id, entity_kind = 'product' AND outcome = 'delivered') AS products,
    toUInt32(maxIf(synced_at, outcome = 'delivered')) AS last_sync,
    countIf(outcome IN ('failed', 'rejected')) AS failures,
    count() AS events
FROM sync_history FINAL` + shopWhere(" WHERE ", shop)
	res, err := db.b.query(ctx, q)
	if err != nil {
		return st, err
	}
	st.Connected = true
	if len(res.Rows) == 1 {
		r := res.Rows[0]
		st.CustomersCount, st.OrdersCount, st.ProductsCount = asUint(r[0]), asUint(r[1]), asUint(r[2])
		if sec := asUint(r[3]); sec > 0 {
			t := time.Unix(int64(sec), 0).UTC()
			st.LastSync = &t
		}
		st.Failures, st.Events = asUint(r[4]), asUint(r[5])
		if st.Events > 0 {
			st.ErrorRate = float64(st.Failures) / float64(st.Events)
		}
	}
	return st, nil
}

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

// Query runs ad-hoc SQL, one statement, on whichever backend is open.
func (db *DB) Query(ctx context.Context, sql string) (*Result, error) {
	sql = strings.TrimSpace(sql)
	sql = strings.TrimSpace(strings.TrimSuffix(sql, ";"))
	if sql == "" {
		return nil, fmt.Errorf("empty query")
	}
	return db.b.query(ctx, sql)
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
