package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/backoff"
	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify/admin"
)

// Backfilled and reconciled objects are not deliveries: they carry no
// webhook id and no raw payload. They are marked by their Source (the
// Brevo sink sends shopify.backfill orders with historical: true and no
// automation events) and their Topic ("<resource>/backfill" or
// "<resource>/reconcile"). Both share one id namespace,
// NewID("shopify", shop, "<resource>/backfill", id, updated_at), so a
// reconciliation reading an object version the backfill already produced
// yields the same event id and the guard drops it.
const (
	SourceBackfill  = "shopify.backfill"
	SourceReconcile = "shopify.reconcile"
)

// batchSize bounds the records of one Run batch; each batch's last record
// carries the position, so it is also how often a backfill checkpoints.
const batchSize = 500

// position is the plugin's read position: the cursors of every store as
// of the last record handed to the host. Records of several stores
// interleave in one stream and the host acks in order, so a snapshot of
// all stores is the only position that is right whichever record it
// comes with.
type position struct {
	V      int                     `json:"v"`
	Stores map[string]*storeCursor `json:"stores"`
}

// storeCursor is where one store's backfill and reconciliation stand.
type storeCursor struct {
	// StartedAt is when the backfill started: reconciliation resumes
	// there, so nothing updated while the bulk operations ran is missed.
	StartedAt    time.Time   `json:"started_at,omitzero"`
	BackfillDone bool        `json:"backfill_done,omitempty"`
	DoneKinds    []string    `json:"done_kinds,omitempty"`
	Bulk         *bulkCursor `json:"bulk,omitempty"`

	Cursors       map[string]admin.Cursor `json:"cursors,omitempty"`
	LastReconcile time.Time               `json:"last_reconcile,omitzero"`
}

// bulkCursor is the bulk operation being read: its id (its result URL is
// asked for again, never stored: it is a signed URL) and how many objects
// of its file were emitted.
type bulkCursor struct {
	Kind string `json:"kind"`
	Op   string `json:"op"`
	Done int64  `json:"done"`
}

func (c *storeCursor) clone() *storeCursor {
	out := *c
	out.DoneKinds = slices.Clone(c.DoneKinds)
	if c.Bulk != nil {
		b := *c.Bulk
		out.Bulk = &b
	}
	if c.Cursors != nil {
		out.Cursors = make(map[string]admin.Cursor, len(c.Cursors))
		for k, v := range c.Cursors {
			out.Cursors[k] = v
		}
	}
	return &out
}

const positionVersion = 1

func decodePosition(b []byte) (*position, error) {
	p := &position{V: positionVersion, Stores: map[string]*storeCursor{}}
	if len(b) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("position %.60q is not a shopify position: %v", b, err)
	}
	if p.V != positionVersion {
		return nil, fmt.Errorf("position version %d, this plugin reads %d", p.V, positionVersion)
	}
	if p.Stores == nil {
		p.Stores = map[string]*storeCursor{}
	}
	return p, nil
}

// syncer runs one goroutine per store (each with its own Admin API client,
// hence its own cost bucket), so a failing or slow store does not stall
// the others; their batches meet in one bounded channel.
type syncer struct {
	cfg    *Config
	log    *logrus.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	out    chan batch
	now    func() time.Time

	emitted map[string]*storeCursor // read's goroutine only
}

type batch struct {
	shop string
	recs []plugins.Record
	cur  *storeCursor
}

func newSyncer(parent context.Context, cfg *Config, pos *position, log *logrus.Logger) *syncer {
	ctx, cancel := context.WithCancel(parent)
	s := &syncer{cfg: cfg, log: log, ctx: ctx, cancel: cancel, out: make(chan batch, 2), now: time.Now, emitted: map[string]*storeCursor{}}
	for shop, c := range pos.Stores {
		s.emitted[shop] = c // stores no longer configured keep their cursors
	}
	for _, st := range cfg.StoreList() {
		cur := pos.Stores[st.ShopURL]
		if cur == nil {
			cur = &storeCursor{}
		}
		s.emitted[st.ShopURL] = cur
		if st.AccessToken == "" || len(enabledKinds(cfg.Sync)) == 0 {
			continue
		}
		s.wg.Add(1)
		go s.runStore(st, cur.clone())
	}
	return s
}

func (s *syncer) stop() {
	s.cancel()
	s.wg.Wait()
}

// read hands over the next batch, its last record carrying the position.
func (s *syncer) read(ctx context.Context, stopped <-chan struct{}) ([]plugins.Record, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-stopped:
		return nil, io.EOF
	case b := <-s.out:
		s.emitted[b.shop] = b.cur
		pos, err := json.Marshal(position{V: positionVersion, Stores: s.emitted})
		if err != nil {
			return nil, err
		}
		b.recs[len(b.recs)-1].Position = pos
		return b.recs, nil
	}
}

func (s *syncer) send(shop string, recs []plugins.Record, cur *storeCursor) error {
	if len(recs) == 0 {
		return nil
	}
	select {
	case s.out <- batch{shop: shop, recs: recs, cur: cur}:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

// enabledKinds lists what the backfill and reconciliation read, in the
// admin package's order (products and customers before what references
// them).
func enabledKinds(c Sync) []string {
	on := map[string]bool{
		admin.KindProduct: c.Products.Enabled, admin.KindCustomer: c.Customers,
		admin.KindOrder: c.Orders, admin.KindCheckout: c.Carts,
	}
	var out []string
	for _, k := range admin.Kinds {
		if on[k] {
			out = append(out, k)
		}
	}
	return out
}

// runStore backfills a store (once) and then reconciles it on schedule.
// Errors are retried with backoff for ever: a store whose token was
// revoked logs an error every few minutes while the others carry on.
func (s *syncer) runStore(st Store, cur *storeCursor) {
	defer s.wg.Done()
	log := s.log.WithField("shop", st.ShopURL)
	client, err := admin.New(admin.Config{Shop: st.ShopURL, AccessToken: st.AccessToken.Reveal(), APIVersion: st.APIVersion, AdminURL: st.AdminURL, Log: log, PollInterval: s.cfg.Sync.BulkPollInterval})
	if err != nil {
		log.WithError(err).Error("shopify store not synced")
		return
	}
	kinds := enabledKinds(s.cfg.Sync)
	if s.cfg.Sync.Backfill && !cur.BackfillDone {
		if cur.StartedAt.IsZero() {
			cur.StartedAt = s.now().UTC()
		}
		for _, kind := range kinds {
			if slices.Contains(cur.DoneKinds, kind) {
				continue
			}
			start := time.Now()
			if !s.retry(log.WithField("kind", kind), "backfill", func() error { return s.backfillKind(client, st, cur, kind) }) {
				return
			}
			log.WithFields(logrus.Fields{"kind": kind, "took": time.Since(start).Round(time.Millisecond)}).Info("shopify backfill done")
		}
		cur.BackfillDone, cur.Bulk, cur.DoneKinds = true, nil, nil
	}
	if cur.Cursors == nil {
		since := cur.StartedAt
		if since.IsZero() {
			// No backfill: repair from one period before this start.
			since = s.now().UTC().Add(-s.cfg.Sync.ReconcileEvery)
		}
		cur.Cursors = map[string]admin.Cursor{}
		for _, k := range kinds {
			cur.Cursors[k] = admin.Cursor{Since: since}
		}
	}
	every := s.cfg.Sync.ReconcileEvery
	if every <= 0 {
		return
	}
	for {
		if !cur.LastReconcile.IsZero() {
			wait := time.Until(cur.LastReconcile.Add(every))
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		started := s.now().UTC()
		for _, kind := range kinds {
			if !s.retry(log.WithField("kind", kind), "reconcile", func() error { return s.reconcileKind(client, st, cur, kind) }) {
				return
			}
		}
		cur.LastReconcile = started
	}
}

// stepRetry spaces the syncer's retries of a failed step: 1s doubling to
// 5 minutes, ±20%.
var stepRetry = backoff.Policy{Initial: time.Second, Max: 5 * time.Minute, Multiplier: 2, Jitter: 0.2}

// retry runs step until it succeeds (true) or the syncer stops (false).
func (s *syncer) retry(log *logrus.Entry, what string, step func() error) bool {
	var floor time.Duration
	for attempt := 1; ; attempt++ {
		err := step()
		if s.ctx.Err() != nil {
			return err == nil
		}
		plugins.ReportCheck(log, "shopify", err, "Admin API "+what+" answered with the token")
		if err == nil {
			return true
		}
		level := logrus.WarnLevel
		if pipeline.ClassOf(err) == pipeline.Fatal {
			// Bad credentials or a refused query will not pass by
			// themselves: say so loudly and from now on wait the longest.
			level, floor = logrus.ErrorLevel, stepRetry.Max
		}
		d := stepRetry.Wait(attempt, floor)
		log.WithError(err).WithField("retry_in", d.Round(time.Millisecond)).Log(level, "shopify "+what+" failed")
		if backoff.Sleep(s.ctx, d) != nil {
			return false
		}
	}
}

// backfillKind reads one kind through a bulk operation, resuming the one
// the cursor names (after a restart) at the object count it had reached.
func (s *syncer) backfillKind(client *admin.Client, st Store, cur *storeCursor, kind string) error {
	var op admin.BulkOperation
	var err error
	if cur.Bulk != nil && cur.Bulk.Kind == kind {
		if op, err = client.WaitBulk(s.ctx, cur.Bulk.Op, nil); err != nil {
			if s.ctx.Err() != nil {
				return err
			}
			s.log.WithError(err).WithField("shop", st.ShopURL).Warn("shopify bulk operation not resumable; starting a new one")
			cur.Bulk = nil
		}
	} else {
		cur.Bulk = nil
	}
	if cur.Bulk == nil {
		if op, err = client.StartBulk(s.ctx, kind, time.Time{}); err != nil {
			return err
		}
		cur.Bulk = &bulkCursor{Kind: kind, Op: op.ID}
		if op, err = client.WaitBulk(s.ctx, op.ID, nil); err != nil {
			cur.Bulk = nil
			return err
		}
	}
	var recs []plugins.Record
	if op.URL != "" {
		_, err = client.DownloadBulk(s.ctx, op.URL, kind, cur.Bulk.Done, func(kind string, obj any, updatedAt time.Time) error {
			rec, err := s.objectRecord(st, kind, obj, updatedAt, SourceBackfill)
			if err != nil {
				return err
			}
			recs = append(recs, rec)
			cur.Bulk.Done++
			if len(recs) < batchSize {
				return nil
			}
			out := recs
			recs = make([]plugins.Record, 0, batchSize)
			return s.send(st.ShopURL, out, cur.clone())
		})
		if err != nil {
			// What was emitted is counted in cur.Bulk.Done: hand it over
			// with that count, or count it out again.
			if serr := s.send(st.ShopURL, recs, cur.clone()); serr != nil {
				cur.Bulk.Done -= int64(len(recs))
			}
			if s.ctx.Err() == nil {
				// The result file may have expired or be corrupt: the
				// next attempt starts a new operation (its objects repeat
				// with the same event ids, harmless downstream).
				cur.Bulk = nil
			}
			return err
		}
	}
	cur.Bulk = nil
	cur.DoneKinds = append(cur.DoneKinds, kind)
	return s.send(st.ShopURL, recs, cur.clone())
}

// reconcileKind reads the objects of kind updated since its cursor, page
// by page; each page's cursor travels with the page's last record.
func (s *syncer) reconcileKind(client *admin.Client, st Store, cur *storeCursor, kind string) error {
	next, err := client.Reconcile(s.ctx, kind, cur.Cursors[kind], s.cfg.Sync.PageSize, func(pg admin.Page) error {
		recs := make([]plugins.Record, 0, len(pg.Objects))
		for _, o := range pg.Objects {
			rec, err := s.objectRecord(st, o.Kind, o.Value, o.UpdatedAt, SourceReconcile)
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		cur.Cursors[kind] = pg.Next
		return s.send(st.ShopURL, recs, cur.clone())
	})
	if err != nil {
		return err
	}
	cur.Cursors[kind] = next
	return nil
}

// objectRecord wraps one Admin API object in a tajo.event.v1 envelope.
func (s *syncer) objectRecord(st Store, kind string, obj any, updatedAt time.Time, source string) (plugins.Record, error) {
	ev, err := ObjectEvent(st.ShopURL, kind, obj, updatedAt, source, s.now())
	if err != nil {
		return plugins.Record{}, err
	}
	ev.APIVersion = st.APIVersion
	if ev.APIVersion == "" {
		ev.APIVersion = admin.DefaultAPIVersion
	}
	v, err := marshalData(ev)
	if err != nil {
		return plugins.Record{}, pipeline.Stop(fmt.Errorf("shopify: encoding a %s event: %w", kind, err))
	}
	return plugins.Record{Key: []byte(ev.Shop), Value: v, Time: ev.OccurredAt}, nil
}

// resources names kinds the way topics do.
var resources = map[string]string{
	admin.KindCustomer: "customers", admin.KindOrder: "orders",
	admin.KindProduct: "products", admin.KindCheckout: "checkouts",
}

// ObjectEvent is the canonical event of an object read from the Admin API
// (source SourceBackfill or SourceReconcile). Types stay in the families
// the guard orders by updated_at; a backfilled order is order_placed (a
// historical fact, which Brevo receives without automations), a
// reconciled one order_updated. Whether a reconciled order is in fact the
// order's placement (its orders/create never came) only the chain knows:
// the transforms' order ledger, which has seen every order, retypes it
// order_placed (historical when it was created more than a day before),
// and a repair never sends a second order_placed.
func ObjectEvent(shop, kind string, obj any, updatedAt time.Time, source string, now time.Time) (*schemas.Event, error) {
	var id, typ string
	switch o := obj.(type) {
	case *schemas.Customer:
		id, typ = o.ID.String(), schemas.TypeCustomerUpdated
	case *schemas.Order:
		id, typ = o.ID.String(), schemas.TypeOrderUpdated
		if source == SourceBackfill {
			typ = schemas.TypeOrderPlaced
		}
	case *schemas.Product:
		id, typ = o.ID.String(), schemas.TypeProductUpdated
	case *schemas.Checkout:
		id, typ = o.ID.String(), schemas.TypeCheckoutUpdated
		if o.ID == 0 {
			id = o.Token
		}
	default:
		return nil, pipeline.Stop(fmt.Errorf("shopify: unexpected %s object %T", kind, obj))
	}
	res := resources[kind]
	data, err := marshalData(obj)
	if err != nil {
		return nil, pipeline.Stop(fmt.Errorf("shopify: encoding a %s: %w", kind, err))
	}
	occurred := updatedAt.UTC()
	if occurred.IsZero() {
		occurred = now.UTC()
	}
	topic := res + "/reconcile"
	if source == SourceBackfill {
		topic = res + "/backfill"
	}
	return &schemas.Event{
		Schema:     schemas.EventSchema,
		ID:         schemas.NewID(Source, shop, res+"/backfill", id, occurred.Format(time.RFC3339Nano)),
		Source:     source,
		Shop:       shop,
		Topic:      topic,
		Type:       typ,
		OccurredAt: occurred,
		ReceivedAt: now.UTC(),
		Entity:     schemas.Entity{Kind: kind, ID: id},
		Data:       data,
	}, nil
}
