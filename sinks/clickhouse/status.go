package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tajo/tajo/schemas"
)

// Status is `tajo connectors status`: whether the services accept tajo's
// credentials, from their latest answers, and what the history says was
// synced. Every figure is read from the history, never assumed: a service
// not heard from yet is unknown, not connected.
type Status struct {
	// Connected is true when the latest check of every service is ok (and
	// every expected one has been made), false when one failed, unknown
	// otherwise. Checks are those latest checks.
	Connected Connection `json:"connected"`
	// Reason says why Connected is not true.
	Reason string  `json:"reason,omitempty"`
	Checks []Check `json:"checks"`
	// Backend is the history store that answered (chdb or server).
	Backend string `json:"backend"`
	// Figures are the totals over the shops asked for.
	Figures
	// Shops are the same figures shop by shop.
	Shops []Figures `json:"shops"`
}

// Figures are one shop's (or the total's) figures. A step is one event at
// one sink or transform; the history's own copy of every event (sink
// clickhouse) is not a step and counts nowhere here, so it can neither
// double the events nor halve the error rate.
type Figures struct {
	Shop string `json:"shop,omitempty"`
	// LastSync is the latest time a sink delivered something.
	LastSync *time.Time `json:"lastSync"`
	// Counts are distinct customers, orders and products a sink delivered;
	// compliance requests (customers/redact, shop/redact,
	// customers/data_request) name a customer but are not one synced.
	CustomersCount uint64 `json:"customersCount"`
	OrdersCount    uint64 `json:"ordersCount"`
	ProductsCount  uint64 `json:"productsCount"`
	// Events are the distinct events with a step, and Failures those of
	// them whose latest outcome at some step is rejected or failed;
	// ErrorRate is Failures/Events (0 with no events).
	Events    uint64  `json:"events"`
	Failures  uint64  `json:"failures"`
	ErrorRate float64 `json:"errorRate"`
	// Steps by latest outcome. Skipped steps sent nothing, deliberately
	// (the reason is in the history): they are neither delivered nor errors.
	Delivered uint64 `json:"delivered"`
	Skipped   uint64 `json:"skipped"`
	Rejected  uint64 `json:"rejected"`
	Failed    uint64 `json:"failed"`
}

// Check is the latest answer of one service (for one shop) to tajo's
// credentials.
type Check struct {
	Service string    `json:"service"`
	Shop    string    `json:"shop,omitempty"` // "" for an account-wide check
	OK      bool      `json:"ok"`
	Detail  string    `json:"detail"`
	Time    time.Time `json:"time"`
}

// ExpectedCheck names a service (and shop) whose check a status needs
// before it may say connected: the configured stores and sinks.
type ExpectedCheck struct {
	Service string `json:"service"`
	Shop    string `json:"shop,omitempty"`
}

// Connection is true, false or unknown.
type Connection string

const (
	Connected    Connection = "true"
	Disconnected Connection = "false"
	Unknown      Connection = "unknown"
)

// MarshalJSON writes true, false or "unknown".
func (c Connection) MarshalJSON() ([]byte, error) {
	switch c {
	case Connected:
		return []byte("true"), nil
	case Disconnected:
		return []byte("false"), nil
	}
	return []byte(`"unknown"`), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Connection) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v {
	case true:
		*c = Connected
	case false:
		*c = Disconnected
	default:
		*c = Unknown
	}
	return nil
}

// complianceTypes are the GDPR requests Shopify sends: they name a
// customer or shop, but nothing about them is a customer synced.
var complianceTypes = []string{schemas.TypeCustomerRedact, schemas.TypeShopRedact, schemas.TypeCustomerDataRequest}

// Status summarizes one shop's history ("" for every shop). expect lists
// the checks that must exist before the status may say connected (a
// store configured but never checked leaves it unknown).
//
// FINAL folds redelivered rows at read time, which both 18.16 and current
// releases do within a partition, and every redelivery of an event shares
// its partition, so each step is read with its latest outcome.
func (db *DB) Status(ctx context.Context, shop string, expect ...ExpectedCheck) (Status, error) {
	st := Status{Backend: db.Backend(), Connected: Unknown, Checks: []Check{}, Shops: []Figures{}}
	st.Shop = shop
	notCompliance := "event_type NOT IN (" + quoteList(complianceTypes) + ")"
	counted := func(kind string) string {
		return fmt.Sprintf("uniqExactIf(entity_id, entity_kind = %s AND outcome = 'delivered' AND %s)", quote(kind), notCompliance)
	}
	q := `SELECT shop,
    ` + counted(schemas.KindCustomer) + ` AS customers,
    ` + counted(schemas.KindOrder) + ` AS orders,
    ` + counted(schemas.KindProduct) + ` AS products,
    toUInt32(maxIf(synced_at, outcome = 'delivered')) AS last_sync,
    uniqExact(event_id) AS events,
    uniqExactIf(event_id, outcome IN ('rejected', 'failed')) AS failures,
    countIf(outcome = 'delivered') AS delivered,
    countIf(outcome = 'skipped') AS skipped,
    countIf(outcome = 'rejected') AS rejected,
    countIf(outcome = 'failed') AS failed
FROM sync_history FINAL
WHERE sink != ` + quote(SinkName) + shopWhere(" AND ", shop) + `
GROUP BY shop
ORDER BY shop`
	res, err := db.b.query(ctx, q)
	if err != nil {
		return st, err
	}
	for _, r := range res.Rows {
		f := Figures{
			Shop: asString(r[0]), CustomersCount: asUint(r[1]), OrdersCount: asUint(r[2]), ProductsCount: asUint(r[3]),
			Events: asUint(r[5]), Failures: asUint(r[6]),
			Delivered: asUint(r[7]), Skipped: asUint(r[8]), Rejected: asUint(r[9]), Failed: asUint(r[10]),
		}
		if sec := asUint(r[4]); sec > 0 {
			t := time.Unix(int64(sec), 0).UTC()
			f.LastSync = &t
		}
		f.ErrorRate = rate(f.Failures, f.Events)
		st.Shops = append(st.Shops, f)
		st.add(f)
	}
	st.ErrorRate = rate(st.Failures, st.Events)
	if err := db.connection(ctx, &st, shop, expect); err != nil {
		return st, err
	}
	return st, nil
}

// add sums a shop's figures into the totals; shops' entities are distinct
// (an id is one store's), so the sums are distinct counts too.
func (st *Status) add(f Figures) {
	st.CustomersCount += f.CustomersCount
	st.OrdersCount += f.OrdersCount
	st.ProductsCount += f.ProductsCount
	st.Events += f.Events
	st.Failures += f.Failures
	st.Delivered += f.Delivered
	st.Skipped += f.Skipped
	st.Rejected += f.Rejected
	st.Failed += f.Failed
	if f.LastSync != nil && (st.LastSync == nil || f.LastSync.After(*st.LastSync)) {
		st.LastSync = f.LastSync
	}
}

func rate(n, of uint64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// connection reads the latest check of every service and shop (a shop's
// status includes the account-wide checks, shop "") and decides Connected.
func (db *DB) connection(ctx context.Context, st *Status, shop string, expect []ExpectedCheck) error {
	where := ""
	if shop != "" {
		where = " WHERE shop IN (" + quoteList([]string{shop, ""}) + ")"
	}
	res, err := db.b.query(ctx, `SELECT service, shop, argMax(ok, at_ns) AS ok, argMax(detail, at_ns) AS detail, max(at_ns) AS at
FROM connection_checks`+where+`
GROUP BY service, shop
ORDER BY service, shop`)
	if err != nil {
		return err
	}
	seen := map[ExpectedCheck]bool{}
	var why []string
	for _, r := range res.Rows {
		c := Check{Service: asString(r[0]), Shop: asString(r[1]), OK: asUint(r[2]) == 1, Detail: asString(r[3]),
			Time: time.Unix(0, int64(asUint(r[4]))).UTC()}
		st.Checks = append(st.Checks, c)
		seen[ExpectedCheck{c.Service, c.Shop}] = true
		if !c.OK {
			why = append(why, fmt.Sprintf("%s failed at %s: %s", checkName(c.Service, c.Shop), c.Time.Format(time.RFC3339), c.Detail))
		}
	}
	failed := len(why) > 0
	for _, e := range expect {
		if (shop == "" || e.Shop == "" || e.Shop == shop) && !seen[e] {
			why = append(why, checkName(e.Service, e.Shop)+" not checked yet")
		}
	}
	switch {
	case failed:
		st.Connected = Disconnected
	case len(st.Checks) == 0:
		st.Connected = Unknown
		if len(why) == 0 {
			why = append(why, "no service checked yet")
		}
	case len(why) > 0:
		st.Connected = Unknown
	default:
		st.Connected = Connected
	}
	st.Reason = strings.Join(why, "; ")
	return nil
}

func checkName(service, shop string) string {
	if shop == "" {
		return service
	}
	return service + " " + shop
}
