package transforms

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	sjson "github.com/segmentio/encoding/json"
	"github.com/shopspring/decimal"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

const (
	bucketOrders    = "transforms.agg.order"    // shop \x00 order id → orderEntry
	bucketCustomers = "transforms.agg.customer" // shop \x00 customer key → customerAgg
	recentOrders    = 50
	maxProducts     = 200
)

// The aggregates are a ledger, not counters: each order is stored with
// what it contributes (counted or not, net amount, lines), and a customer's
// totals change by the difference between an order's old and new
// contribution. Applying the same event twice changes nothing, so a
// redelivered order is never counted twice, whatever the crash point.
//
// The rule a merchant expects, and the one applied: an order counts in
// ORDER_COUNT unless it is cancelled, deleted, a test, or fully refunded;
// TOTAL_SPENT is the sum of counted orders' totals minus their refunds.
// So placed 100.00 → placed 50.50 → refunded 50.50 (the second order in
// full) gives ORDER_COUNT 1, TOTAL_SPENT 100.00, AOV 100.00; a partial
// refund of 20.00 on the first instead gives 2, 130.50, 65.25.
type orderEntry struct {
	Customer string                     `json:"c,omitempty"`
	At       time.Time                  `json:"at"`
	Amount   decimal.Decimal            `json:"a"`
	Refunds  map[string]decimal.Decimal `json:"r,omitempty"`
	Cancel   bool                       `json:"x,omitempty"`
	Deleted  bool                       `json:"d,omitempty"`
	Test     bool                       `json:"t,omitempty"`
	Seen     bool                       `json:"s,omitempty"` // the order itself arrived (not only a refund)
	Lines    []line                     `json:"l,omitempty"`

	// Unplaced: the order was seen, but no order_placed of it yet (its
	// orders/create never came); PlacedBy: the reconciled event retyped
	// to its order_placed. See placement.
	Unplaced bool   `json:"u,omitempty"`
	PlacedBy string `json:"pb,omitempty"`
}

type line struct {
	Product int64 `json:"p"`
	Qty     int64 `json:"q"`
}

func (o *orderEntry) refunded() decimal.Decimal {
	var s decimal.Decimal
	for _, r := range o.Refunds {
		s = s.Add(r)
	}
	return s
}

func (o *orderEntry) counted() bool {
	if o == nil || !o.Seen || o.Cancel || o.Deleted || o.Test || o.Customer == "" {
		return false
	}
	return !(o.Amount.IsPositive() && o.refunded().GreaterThanOrEqual(o.Amount))
}

func (o *orderEntry) net() decimal.Decimal {
	if !o.counted() {
		return decimal.Zero
	}
	return o.Amount.Sub(o.refunded())
}

// customerAgg is one customer's totals. Seed* hold the last purchasing
// summary (or legacy counters) and Base* the ledger totals at that moment,
// so orders after the summary add to it and orders before it are not
// counted twice.
type customerAgg struct {
	Count    int                          `json:"n"`
	Spent    decimal.Decimal              `json:"s"`
	First    time.Time                    `json:"f,omitzero"`
	Recent   []recent                     `json:"r,omitempty"`
	Products []expression.ProductPurchase `json:"p,omitempty"`
	Seeded   bool                         `json:"sd,omitempty"`
	SeedAt   time.Time                    `json:"sa,omitzero"`
	SeedN    int                          `json:"sn,omitempty"`
	SeedS    decimal.Decimal              `json:"ss"`
	BaseN    int                          `json:"bn,omitempty"`
	BaseS    decimal.Decimal              `json:"bs"`
	// NoTotals: the record holds the profile only; tajo knows nothing of
	// the customer's orders yet (aggregates_known is false).
	NoTotals bool `json:"nt,omitempty"`

	// The profile (profile.go).
	Email  string    `json:"e,omitempty"`
	Tags   []string  `json:"tg,omitempty"`
	TagsAt time.Time `json:"ta,omitzero"`
	Known  bool      `json:"k,omitempty"`
	// Recency is the RECENCY last sent (by an event or the sweep), when
	// RecencySent; the sweep sends only customers whose RECENCY moved.
	Recency     int  `json:"rc,omitempty"`
	RecencySent bool `json:"rs,omitempty"`

	// aov memoizes the average for the totals it was computed from.
	aov, aovS decimal.Decimal
	aovN      int
	aovOK     bool
}

type recent struct {
	Order string    `json:"o"`
	At    time.Time `json:"at"`
}

func (a *customerAgg) totals() (int, decimal.Decimal) {
	if !a.Seeded {
		return a.Count, a.Spent
	}
	return max(0, a.SeedN+a.Count-a.BaseN), a.SeedS.Add(a.Spent).Sub(a.BaseS)
}

// view fills the aggregate fields of a customer view.
func (a *customerAgg) view(v *expression.CustomerView) {
	if a.NoTotals {
		return
	}
	n, s := a.totals()
	v.AggregatesKnown = true
	v.OrdersCount = n
	v.TotalSpent = expression.Decimal{Decimal: s}
	if n > 0 {
		if !a.aovOK || a.aovN != n || !a.aovS.Equal(s) {
			a.aov, a.aovN, a.aovS, a.aovOK = s.DivRound(decimal.NewFromInt(int64(n)), 2), n, s, true
		}
		v.AverageOrderValue = expression.Decimal{Decimal: a.aov}
	} else {
		v.AverageOrderValue = expression.Decimal{}
	}
	v.FirstOrderAt = a.First
	v.LastOrderAt = time.Time{}
	for _, r := range a.Recent {
		if r.At.After(v.LastOrderAt) {
			v.LastOrderAt = r.At
		}
	}
	v.Products = a.Products
}

// apply moves the customer's totals from old's contribution to nw's.
func (a *customerAgg) apply(id string, old, nw *orderEntry) {
	a.NoTotals = false
	oc, nc := old.counted(), nw.counted()
	a.Spent = a.Spent.Sub(old.net()).Add(nw.net())
	switch {
	case !oc && nc:
		a.Count++
		if a.First.IsZero() || nw.At.Before(a.First) {
			a.First = nw.At
		}
		a.Recent = append(a.Recent, recent{Order: id, At: nw.At})
		sort.Slice(a.Recent, func(i, j int) bool { return a.Recent[i].At.After(a.Recent[j].At) })
		if len(a.Recent) > recentOrders {
			a.Recent = a.Recent[:recentOrders]
		}
		a.addLines(nw, 1)
	case oc && !nc:
		a.Count--
		for i, r := range a.Recent {
			if r.Order == id {
				a.Recent = append(a.Recent[:i], a.Recent[i+1:]...)
				break
			}
		}
		a.addLines(old, -1)
	}
}

func (a *customerAgg) addLines(o *orderEntry, sign int) {
	seen := map[int64]bool{}
	for _, l := range o.Lines {
		if l.Product == 0 {
			continue
		}
		i := sort.Search(len(a.Products), func(i int) bool { return a.Products[i].ProductID >= l.Product })
		if i == len(a.Products) || a.Products[i].ProductID != l.Product {
			if sign < 0 {
				continue
			}
			a.Products = append(a.Products, expression.ProductPurchase{})
			copy(a.Products[i+1:], a.Products[i:])
			a.Products[i] = expression.ProductPurchase{ProductID: l.Product, FirstAt: o.At}
		}
		p := &a.Products[i]
		p.Quantity += int64(sign) * l.Qty
		if !seen[l.Product] {
			seen[l.Product] = true
			p.Orders += sign
		}
		if sign > 0 {
			if o.At.After(p.LastAt) {
				p.LastAt = o.At
			}
			if o.At.Before(p.FirstAt) {
				p.FirstAt = o.At
			}
		}
		if p.Orders <= 0 {
			a.Products = append(a.Products[:i], a.Products[i+1:]...)
		}
	}
	if len(a.Products) > maxProducts {
		// Keep the most recently bought: replenishment looks forward.
		sort.Slice(a.Products, func(i, j int) bool { return a.Products[i].LastAt.After(a.Products[j].LastAt) })
		a.Products = a.Products[:maxProducts]
		sort.Slice(a.Products, func(i, j int) bool { return a.Products[i].ProductID < a.Products[j].ProductID })
	}
}

// seed replaces the totals by Shopify's own figures as of at. Seeding the
// same figures over an unchanged ledger is not a change: every
// customers/update of a legacy payload repeats them.
func (a *customerAgg) seed(n int64, spent decimal.Decimal, at time.Time) bool {
	if a.Seeded && at.Before(a.SeedAt) {
		return false
	}
	a.NoTotals = false
	if a.Seeded && a.SeedN == int(n) && a.SeedS.Equal(spent) && a.BaseN == a.Count && a.BaseS.Equal(a.Spent) {
		return false
	}
	a.Seeded, a.SeedAt, a.SeedN, a.SeedS = true, at, int(n), spent
	a.BaseN, a.BaseS = a.Count, a.Spent
	return true
}

type aggregates struct {
	mu sync.Mutex // see guard.mu
	c  *chain
	// cache holds decoded customers, so the common case (a customer event
	// reading unchanged totals) decodes nothing. Only this stage writes the
	// customer bucket, so the cache cannot go stale.
	cache map[string]*customerAgg
	kbuf  []byte // loadCustomer's key, under mu
}

// buildAggregates: the aggregates read no stage keys.
func buildAggregates(c *chain, _ Stage, _ *expression.Program, _ string, _ *config.Problems) pipeline.Transform {
	return &aggregates{c: c}
}

const aggCacheSize = 10000

func customerKey(c *schemas.Customer) string {
	if c == nil {
		return ""
	}
	if c.ID != 0 {
		return c.ID.String()
	}
	if c.Email != "" {
		return "email:" + strings.ToLower(c.Email)
	}
	return ""
}

func (s *aggregates) loadCustomer(shop, key string) (*customerAgg, error) {
	// A hit looks the key up from a reused buffer, without building it.
	s.kbuf = append(append(append(s.kbuf[:0], shop...), 0), key...)
	if a, ok := s.cache[string(s.kbuf)]; ok {
		return a, nil
	}
	k := string(s.kbuf)
	b, err := s.c.store.Get(bucketCustomers, k)
	if err != nil || b == nil {
		return nil, err
	}
	a := new(customerAgg)
	if err := unmarshal(b, a); err != nil {
		return nil, err
	}
	s.remember(k, a)
	return a, nil
}

func (s *aggregates) remember(k string, a *customerAgg) {
	if s.cache == nil || len(s.cache) >= aggCacheSize {
		s.cache = make(map[string]*customerAgg, 1024)
	}
	s.cache[k] = a
}

func (s *aggregates) loadOrder(shop, id string) (*orderEntry, error) {
	b, err := s.c.store.Get(bucketOrders, shop+"\x00"+id)
	if err != nil || b == nil {
		return nil, err
	}
	o := new(orderEntry)
	return o, unmarshal(b, o)
}

func (s *aggregates) save(bucket, key string, v any) error {
	b, err := sjson.Marshal(v)
	if err != nil {
		return err
	}
	s.c.store.Put(bucket, key, b)
	if a, ok := v.(*customerAgg); ok {
		s.remember(key, a)
	}
	return nil
}

func (s *aggregates) Process(ctx context.Context, rec *pipeline.Record) ([]*pipeline.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.c.load(rec)
	if err != nil {
		return nil, err
	}
	typ := it.ev.Type
	if err := s.update(it); err != nil {
		// Whatever the failure, the cache may hold changes the store does
		// not: start the retry from the store.
		s.cache = nil
		return nil, pipeline.Retry(err)
	}
	if err := s.c.commitRecord(); err != nil {
		return nil, pipeline.Retry(err)
	}
	if it.ev.Type != typ { // a customers/create or an order retyped: see update
		if err := it.write(rec); err != nil {
			return nil, err
		}
	}
	return []*pipeline.Record{rec}, nil
}

func (s *aggregates) update(it *item) error {
	shop := it.ev.Shop
	var orderID string
	var old, nw *orderEntry
	switch d := it.data.(type) {
	case *schemas.Order:
		orderID = d.ID.String()
		o, err := s.loadOrder(shop, orderID)
		if err != nil {
			return err
		}
		old = o
		nw = mergeOrder(o, d, it.ev.Type, customerKey(it.customer))
		if placement(&it.ev, d, old, nw) {
			it.out.touched = true
			it.ev.Modified()
		}
	case *schemas.Refund:
		orderID = d.OrderID.String()
		o, err := s.loadOrder(shop, orderID)
		if err != nil {
			return err
		}
		old = o
		nw = cloneOrder(o)
		nw.Refunds[d.ID.String()] = refundAmount(d)
	case *schemas.Deletion:
		if it.ev.Type != schemas.TypeOrderDeleted {
			break
		}
		orderID = d.ID.String()
		o, err := s.loadOrder(shop, orderID)
		if err != nil || o == nil {
			return err
		}
		old = o
		nw = cloneOrder(o)
		nw.Deleted = true
	}
	key := customerKey(it.customer)
	if nw != nil && nw.Customer != "" {
		key = nw.Customer
	}
	switch d := it.data.(type) {
	case *schemas.Deletion:
		if it.ev.Type == schemas.TypeCustomerDeleted && d.ID != 0 {
			key = d.ID.String()
		}
	case *schemas.CustomerRedact:
		key = customerKey(&schemas.Customer{ID: d.Customer.ID, Email: d.Customer.Email})
	}
	// Everything is read before anything is written, so a failed read
	// leaves no half-applied order behind for the retry to skip.
	var agg, prev *customerAgg
	var err error
	if key != "" {
		if agg, err = s.loadCustomer(shop, key); err != nil {
			return err
		}
	}
	moved := nw != nil && old != nil && old.Customer != "" && old.Customer != key && old.counted()
	if moved {
		if prev, err = s.loadCustomer(shop, old.Customer); err != nil {
			return err
		}
	}
	if nw != nil {
		if err := s.save(bucketOrders, shop+"\x00"+orderID, nw); err != nil {
			return err
		}
	}
	if prev != nil {
		// The order changed hands (a customer merge): it leaves the old
		// customer's totals.
		prev.apply(orderID, old, &orderEntry{})
		if err := s.save(bucketCustomers, shop+"\x00"+old.Customer, prev); err != nil {
			return err
		}
		old = nil
	}
	if key == "" {
		return nil
	}
	fresh := agg == nil
	if fresh {
		agg = &customerAgg{NoTotals: true}
	}
	changed, created := agg.updateProfile(it)
	if nw != nil && nw.Customer != "" {
		agg.apply(orderID, old, nw)
		changed = true
	}
	switch d := it.data.(type) {
	case *schemas.PurchasingSummary:
		if d.NumberOfOrders != nil {
			var spent decimal.Decimal
			if d.AmountSpent != nil {
				spent = d.AmountSpent.Decimal
			}
			at := d.OccurredAt
			if at.IsZero() {
				at = it.ev.OccurredAt
			}
			changed = agg.seed(int64(*d.NumberOfOrders), spent, at) || changed
		}
	case *schemas.Customer:
		if d.OrdersCount != nil && (agg.NoTotals || agg.Seeded) {
			var spent decimal.Decimal
			if d.TotalSpent != nil {
				spent = d.TotalSpent.Decimal
			}
			changed = agg.seed(int64(*d.OrdersCount), spent, d.UpdatedAt) || changed
		}
	}
	switch it.data.(type) {
	case *schemas.Deletion, *schemas.CustomerRedact:
	default:
		// The event carries RECENCY (the default mapping sends it with
		// the aggregates): the daily sweep need not send it again today.
		changed = !agg.NoTotals && agg.noteRecency(it.now) || changed
	}
	if changed {
		if err := s.save(bucketCustomers, shop+"\x00"+key, agg); err != nil {
			return err
		}
	}
	if !fresh || changed {
		it.agg = agg
		it.envDone = false
		agg.fillCustomer(it, key)
	}
	if it.ev.Type == schemas.TypeCustomerCreated && !created {
		// A customers/create of a customer tajo already knew (from a
		// backfill, a reconciliation or an earlier customers/create) is an
		// update of it: only a new customer is customer_created, the event
		// a welcome series starts from.
		it.ev.Type, it.out.touched = schemas.TypeCustomerUpdated, true
		it.ev.Modified()
	}
	return nil
}

func cloneOrder(o *orderEntry) *orderEntry {
	n := &orderEntry{}
	if o != nil {
		*n = *o
		n.Lines = append([]line(nil), o.Lines...)
	}
	n.Refunds = make(map[string]decimal.Decimal, len(n.Refunds)+1)
	if o != nil {
		for k, v := range o.Refunds {
			n.Refunds[k] = v
		}
	}
	return n
}

func mergeOrder(old *orderEntry, o *schemas.Order, typ, customer string) *orderEntry {
	n := cloneOrder(old)
	n.Seen = true
	if customer != "" {
		n.Customer = customer
	}
	n.At = o.CreatedAt
	if !o.ProcessedAt.IsZero() {
		n.At = o.ProcessedAt
	}
	n.Amount = o.TotalPrice.Decimal
	n.Test = o.Test
	n.Cancel = o.CancelledAt != nil || typ == schemas.TypeOrderCancelled
	n.Lines = n.Lines[:0]
	for _, li := range o.LineItems {
		n.Lines = append(n.Lines, line{Product: int64(li.ProductID), Qty: li.Quantity})
	}
	for i := range o.Refunds {
		r := &o.Refunds[i]
		n.Refunds[r.ID.String()] = refundAmount(r)
	}
	return n
}

// reconcileFresh is how long after its creation an order tajo never saw
// may be read back by a reconciliation and still start automations.
const reconcileFresh = 24 * time.Hour

// placement makes each order placed once, even when its orders/create
// webhook never came, and reports whether it retyped ev:
//   - a reconciled order_updated of an order the ledger has no placement
//     of (never seen, or seen only through updates) is the order's
//     order_placed, so its buyer gets the event and the buyers list; the
//     ledger keeps its event id (PlacedBy), so a redelivery is retyped the
//     same way;
//   - when that order was created more than reconcileFresh before the
//     reconciliation read it, it is an old fact: its source becomes the
//     backfill's (shopify.reconcile → shopify.backfill), which sinks treat
//     as historical (Brevo: the order with historical: true, no custom
//     event, no automation); the age is taken against received_at, so a
//     redelivery decides the same;
//   - an order_placed of an order a reconciliation already placed (its
//     orders/create came late) is an order_updated.
func placement(ev *schemas.Event, o *schemas.Order, old, nw *orderEntry) bool {
	switch {
	case ev.Type == schemas.TypeOrderUpdated && isReconcile(ev.Source) &&
		(old == nil || !old.Seen || old.Unplaced || old.PlacedBy == ev.ID):
		ev.Type, nw.Unplaced, nw.PlacedBy = schemas.TypeOrderPlaced, false, ev.ID
		created := o.CreatedAt
		if created.IsZero() {
			created = ev.OccurredAt
		}
		if ev.ReceivedAt.Sub(created) > reconcileFresh {
			ev.Source = strings.TrimSuffix(ev.Source, "reconcile") + "backfill"
		}
		return true
	case ev.Type == schemas.TypeOrderPlaced && old != nil && old.PlacedBy != "" && old.PlacedBy != ev.ID:
		ev.Type = schemas.TypeOrderUpdated
		return true
	case ev.Type == schemas.TypeOrderPlaced:
		nw.Unplaced = false
	case old == nil || !old.Seen:
		nw.Unplaced = true
	}
	return false
}

func isReconcile(src string) bool {
	src = strings.ToLower(src)
	return src == "reconcile" || strings.HasSuffix(src, ".reconcile")
}

// refundAmount is the money a refund returned: its successful refund
// transactions, or, for payloads without transactions, its lines.
func refundAmount(r *schemas.Refund) decimal.Decimal {
	if len(r.Transactions) > 0 {
		return r.RefundedAmount().Decimal
	}
	var s decimal.Decimal
	for _, l := range r.RefundLineItems {
		s = s.Add(l.Subtotal.Decimal).Add(l.TotalTax.Decimal)
	}
	return s
}
