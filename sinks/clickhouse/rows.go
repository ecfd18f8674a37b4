package clickhouse

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// Outcome of an event at a sink, one sync_history row.
type Outcome struct {
	Time       time.Time // the event's occurred_at, kept as ts
	SyncedAt   time.Time // when the sink finished; zero means now
	Shop       string
	EventID    string
	EventType  string
	EntityKind string
	EntityID   string
	Sink       string
	Result     string // OutcomeDelivered, OutcomeSkipped, OutcomeRejected or OutcomeFailed
	Reason     string
	Attempt    uint32
	Latency    time.Duration
}

// What happened to an event at a sink (sync_history.outcome).
const (
	OutcomeDelivered = "delivered"
	OutcomeSkipped   = "skipped"
	OutcomeRejected  = "rejected"
	OutcomeFailed    = "failed"
)

// WebhookLogRow is one webhook request received (webhook_log).
type WebhookLogRow struct {
	Time       time.Time
	Shop       string
	Topic      string
	WebhookID  string
	APIVersion string
	HMAC       string // "valid", "invalid" or "missing"
	Status     uint16 // the HTTP status answered
	Bytes      uint32
	Latency    time.Duration
}

// CommerceEvent is one order, cart or checkout event with its amounts
// (commerce_events).
type CommerceEvent struct {
	Time           time.Time
	Shop           string
	EventID        string
	EventType      string
	EntityKind     string
	EntityID       string
	CustomerID     string
	Email          string
	Currency       string
	TotalPrice     decimal.Decimal
	SubtotalPrice  decimal.Decimal
	TotalTax       decimal.Decimal
	TotalDiscounts decimal.Decimal
	LineItems      uint32
	Quantity       uint32
}

// The columns each table is written with, named in every INSERT. Each ends
// with ingested_at, the time tajo wrote the row: it picks the partition, so
// retention_days counts from it whatever the event's own date (ts).
var (
	syncCols     = []string{"ts", "synced_at", "shop", "event_id", "event_type", "entity_kind", "entity_id", "sink", "outcome", "reason", "attempt", "latency_ms", "ingested_at"}
	errorCols    = []string{"ts", "shop", "stage", "error_class", "code", "message", "event_id", "payload", "ingested_at"}
	webhookCols  = []string{"ts", "shop", "topic", "webhook_id", "api_version", "hmac", "status", "bytes", "latency_ms", "ingested_at"}
	commerceCols = []string{"ts", "shop", "event_id", "event_type", "entity_kind", "entity_id", "customer_id", "email", "currency", "total_price", "subtotal_price", "total_tax", "total_discounts", "line_items", "quantity", "ingested_at"}
	checkCols    = []string{"ts", "at_ns", "service", "shop", "ok", "detail", "ingested_at"}
)

// checkRow is one connection_checks row.
func checkRow(c pipeline.ConnectionCheck, now time.Time) ([]any, error) {
	ts := c.Time
	if ts.IsZero() {
		ts = now
	}
	if c.Service == "" {
		return nil, errors.New("ConnectionCheck.Service is required")
	}
	if err := checkTime("ConnectionCheck.Time", ts); err != nil {
		return nil, err
	}
	ok := uint8(0)
	if c.OK {
		ok = 1
	}
	return []any{ts, uint64(ts.UnixNano()), c.Service, c.Shop, ok, c.Detail, now}, nil
}

func (o Outcome) row(now time.Time) ([]any, error) {
	synced := o.SyncedAt
	if synced.IsZero() {
		synced = now
	}
	res := o.Result
	if res == "" {
		res = OutcomeDelivered
	}
	switch {
	case o.Time.IsZero():
		// The history shows and sorts by the event's own time; a zero
		// would read as 1970.
		return nil, errors.New("Outcome.Time (the event's occurred_at) is required")
	case o.EventID == "" || o.Sink == "":
		return nil, errors.New("Outcome.EventID and Outcome.Sink are required")
	case res != OutcomeDelivered && res != OutcomeSkipped && res != OutcomeRejected && res != OutcomeFailed:
		return nil, fmt.Errorf("Outcome.Result %q: want delivered, skipped, rejected or failed", res)
	}
	if err := checkTime("Outcome.Time", o.Time); err != nil {
		return nil, err
	}
	if err := checkTime("Outcome.SyncedAt", synced); err != nil {
		return nil, err
	}
	return []any{o.Time, synced, o.Shop, o.EventID, o.EventType, o.EntityKind, o.EntityID, o.Sink, res, o.Reason, o.Attempt, millis(o.Latency), now}, nil
}

// OutcomeFor is the sync_history row of ev at sink, filled from the envelope
// so that every sink records the same identity for an event.
func OutcomeFor(ev *schemas.Event, sink, result, reason string, attempt uint32, latency time.Duration) Outcome {
	return Outcome{
		Time: ev.OccurredAt, Shop: ev.Shop, EventID: ev.ID, EventType: ev.Type, EntityKind: ev.Entity.Kind,
		EntityID: ev.Entity.ID, Sink: sink, Result: result, Reason: reason, Attempt: attempt, Latency: latency,
	}
}

func (w WebhookLogRow) row(now time.Time) ([]any, error) {
	ts := w.Time
	if ts.IsZero() {
		ts = now
	}
	h := w.HMAC
	if h == "" {
		h = "missing"
	}
	if h != "valid" && h != "invalid" && h != "missing" {
		return nil, fmt.Errorf("WebhookLogRow.HMAC %q: want valid, invalid or missing", h)
	}
	if err := checkTime("WebhookLogRow.Time", ts); err != nil {
		return nil, err
	}
	return []any{ts, w.Shop, w.Topic, w.WebhookID, w.APIVersion, h, w.Status, w.Bytes, millis(w.Latency), now}, nil
}

// DateTime is seconds since 1970 in a UInt32.
var (
	minDateTime = time.Unix(0, 0)
	maxDateTime = time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkTime(field string, t time.Time) error {
	if t.Before(minDateTime) || !t.Before(maxDateTime) {
		return fmt.Errorf("%s %s is outside ClickHouse DateTime's range (1970 to 2105)", field, t.UTC().Format(time.RFC3339))
	}
	return nil
}

func (c CommerceEvent) row(now time.Time) []any {
	return []any{c.Time, c.Shop, c.EventID, c.EventType, c.EntityKind, c.EntityID, c.CustomerID, c.Email, c.Currency,
		c.TotalPrice, c.SubtotalPrice, c.TotalTax, c.TotalDiscounts, c.LineItems, c.Quantity, now}
}

func deadLetterRow(d pipeline.DeadLetter, now time.Time) []any {
	ts := d.Time
	if ts.IsZero() {
		ts = now
	}
	shop, id := string(d.Key), ""
	var ev schemas.Event
	if json.Unmarshal(d.Payload, &ev) == nil && ev.ID != "" {
		id = ev.ID
		if ev.Shop != "" {
			shop = ev.Shop
		}
	} else {
		// Not an envelope: the payload itself identifies the record, so a
		// redelivered rejection still replaces its row.
		id = "payload:" + schemas.NewID(d.Stage, string(d.Payload))
	}
	class := d.Class.String()
	if d.Class < pipeline.Retryable || d.Class > pipeline.Fatal {
		class = pipeline.Rejected.String()
	}
	return []any{ts, shop, d.Stage, class, d.Code, d.Reason, id, string(d.Payload), now}
}

func millis(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	if ms := d.Milliseconds(); ms < 1<<32 {
		return uint32(ms)
	}
	return 1<<32 - 1
}

// eventRows maps one envelope onto what the clickhouse sink stores for it:
// its own sync_history row (delivered to sink "clickhouse") and, for an
// order, cart or checkout, a commerce_events row with the amounts. This is
// the one place the envelope-to-table mapping lives.
//
// An amount beyond the columns' Decimal(18, 4) range rejects the record:
// ClickHouse would refuse the whole insert, and retrying could never help.
func eventRows(ev *schemas.Event, now time.Time) (Outcome, *CommerceEvent, error) {
	o := Outcome{
		Time: ev.OccurredAt, SyncedAt: now, Shop: ev.Shop, EventID: ev.ID, EventType: ev.Type,
		EntityKind: ev.Entity.Kind, EntityID: ev.Entity.ID, Sink: SinkName, Result: OutcomeDelivered, Attempt: 1,
	}
	if err := checkTime("occurred_at", ev.OccurredAt); err != nil {
		return o, nil, err
	}
	if !ev.ReceivedAt.IsZero() && now.After(ev.ReceivedAt) {
		o.Latency = now.Sub(ev.ReceivedAt)
	}
	if !isCommerce(ev) {
		return o, nil, nil
	}
	c := &CommerceEvent{
		Time: ev.OccurredAt, Shop: ev.Shop, EventID: ev.ID, EventType: ev.Type,
		EntityKind: ev.Entity.Kind, EntityID: ev.Entity.ID,
	}
	if o, ok := ev.Object.(*schemas.Order); ok {
		orderCommerce(c, o)
	} else {
		dataCommerce(c, ev.Data)
	}
	for _, a := range []struct {
		name string
		v    decimal.Decimal
	}{{"total_price", c.TotalPrice}, {"subtotal_price", c.SubtotalPrice}, {"total_tax", c.TotalTax}, {"total_discounts", c.TotalDiscounts}} {
		if a.v.Abs().GreaterThanOrEqual(maxAmount) {
			return o, nil, fmt.Errorf("%s %s is beyond the %s range of commerce_events", a.name, a.v, "Decimal(18, 4)")
		}
	}
	return o, c, nil
}

// orderCommerce reads the amounts of an order the transforms decoded.
func orderCommerce(c *CommerceEvent, o *schemas.Order) {
	var cust schemas.Customer
	if o.Customer != nil {
		cust = *o.Customer
	}
	if cust.ID != 0 {
		c.CustomerID = cust.ID.String()
	}
	c.Email = cmp.Or(o.Email, cust.Email, o.ContactEmail)
	c.Currency = cmp.Or(o.Currency, o.PresentmentCurrency)
	c.TotalPrice, c.SubtotalPrice = o.TotalPrice.Decimal, o.SubtotalPrice.Decimal
	c.TotalTax, c.TotalDiscounts = o.TotalTax.Decimal, o.TotalDiscounts.Decimal
	for _, li := range o.LineItems {
		c.LineItems++
		if li.Quantity > 0 && li.Quantity < 1<<31 {
			c.Quantity += uint32(li.Quantity)
		}
	}
}

// dataCommerce reads the amounts of data that nobody decoded (a flow
// without transforms), leniently: canonical and raw Shopify shapes alike.
func dataCommerce(c *CommerceEvent, data json.RawMessage) {
	d := decodeData(data)
	c.CustomerID = d.str("customer_id", "customer.id")
	c.Email = d.str("email", "customer.email", "contact_email")
	c.Currency = d.str("currency", "presentment_currency")
	c.TotalPrice, c.SubtotalPrice = d.dec("total_price"), d.dec("subtotal_price")
	c.TotalTax, c.TotalDiscounts = d.dec("total_tax"), d.dec("total_discounts")
	for _, li := range d.list("line_items") {
		c.LineItems++
		q := li.dec("quantity")
		if q.IsPositive() && q.LessThan(decimal.NewFromInt(1<<31)) {
			c.Quantity += uint32(q.IntPart())
		}
	}
}

// maxAmount is 10^14: Decimal(18, 4) holds 14 digits before the point.
var maxAmount = decimal.New(1, 14)

func isCommerce(ev *schemas.Event) bool {
	switch ev.Entity.Kind {
	case "order", "cart", "checkout":
		return true
	}
	for _, p := range []string{"order", "cart", "checkout"} {
		if strings.HasPrefix(ev.Type, p+".") || strings.HasPrefix(ev.Type, p+"_") {
			return true
		}
	}
	return false
}

// fields is a JSON object read leniently: the canonical objects and the raw
// Shopify shapes name amounts alike (total_price, line_items[].quantity),
// and a field that is missing or of another shape is simply empty.
type fields map[string]json.RawMessage

func decodeData(b json.RawMessage) fields {
	var f fields
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	_ = d.Decode(&f)
	return f
}

// get follows a dotted path.
func (f fields) get(path string) json.RawMessage {
	cur := f
	parts := strings.Split(path, ".")
	for i, p := range parts {
		v, ok := cur[p]
		if !ok {
			return nil
		}
		if i == len(parts)-1 {
			return v
		}
		cur = decodeData(v)
	}
	return nil
}

// str returns the first present path as text; numbers keep every digit.
func (f fields) str(paths ...string) string {
	for _, p := range paths {
		v := bytes.TrimSpace(f.get(p))
		if len(v) == 0 || string(v) == "null" {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		if v[0] >= '0' && v[0] <= '9' || v[0] == '-' {
			return string(v)
		}
	}
	return ""
}

// dec reads a money amount sent as "12.30" or 12.30, without a float.
func (f fields) dec(path string) decimal.Decimal {
	s := f.str(path)
	if s == "" {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	// The columns are Decimal(18, 4).
	return d.Round(4)
}

func (f fields) list(path string) []fields {
	var raw []json.RawMessage
	if json.Unmarshal(f.get(path), &raw) != nil {
		return nil
	}
	out := make([]fields, 0, len(raw))
	for _, r := range raw {
		out = append(out, decodeData(r))
	}
	return out
}
