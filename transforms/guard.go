package transforms

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

const (
	bucketSeen = "transforms.guard.seen" // shop \x00 event id → fingerprint, first seen (unix ns)
	bucketLast = "transforms.guard.last" // shop \x00 family \x00 entity id → occurred_at (unix ns), fingerprint, event id hash
)

// guard drops events already seen and stale entity updates.
//
// A duplicate is the same event id delivered as a different message (a
// webhook Shopify sent twice, a backfill re-reading a row). A redelivery
// is the same message again (Kafka after a crash, a source replay): it
// must pass, or a record whose sink write had not finished would be lost.
// The two are told apart by a fingerprint of the message: its received_at
// (set once by the source per delivery) and its source position.
//
// A stale update is an event older (by its object time: occurred_at,
// which sources set to the object's updated_at or X-Shopify-Triggered-At,
// never the receive time; see objectTime) than the last one applied to the
// same entity and family of event; equal times pass, so redeliveries do.
// Events with an entity state and an object time are deduplicated by that
// same per-entity mark; the others (refunds, tag changes, unknown types,
// updates dated only by their receipt) by a mark per event id kept for the
// dedupe window, so they are never stale and never make another stale.
//
// For orders and checkouts the guard also decides which parts of the
// embedded customer snapshot are older than the customer's own records
// (freshness.go).
type guard struct {
	// mu serializes records: the engine runs a chain from one goroutine per
	// flow today, and the marks must stay consistent if that changes.
	mu     sync.Mutex
	c      *chain
	window time.Duration
	// deferCommit is set when a later stage of the chain commits the
	// state anyway: one journal write per record instead of two. If the
	// record is dropped in between, the marks are written with the next
	// record; losing them in a crash only lets a duplicate through.
	deferCommit bool
	nextPrune   time.Time
}

// buildGuard: the guard reads no stage keys; its window is the section's
// dedupe_window, set by BuildWith with what it knows of the later stages.
func buildGuard(c *chain, _ Stage, _ *expression.Program, _ string, _ *config.Problems) pipeline.Transform {
	return &guard{c: c}
}

// pruneEvery bounds how often the seen marks are swept; a sweep deletes at
// most pruneBatch marks older than the dedupe window, so the bucket stays
// proportional to a window of traffic.
const (
	pruneEvery = time.Hour
	pruneBatch = 100000
)

// prune deletes expired seen marks. (A lookup of a new event id needs no
// store read: the state journal's key filter knows it was never written.)
func (g *guard) prune(now time.Time) error {
	if now.Before(g.nextPrune) {
		return nil
	}
	g.nextPrune = now.Add(pruneEvery)
	cutoff := uint64(now.Add(-g.window).UnixNano())
	keys, err := g.c.store.Sweep(bucketSeen, pruneBatch, func(v []byte) bool {
		return len(v) == 16 && binary.LittleEndian.Uint64(v[8:]) < cutoff
	}, nil)
	if err != nil {
		return err
	}
	for _, k := range keys {
		g.c.store.Delete(bucketSeen, k)
	}
	if len(keys) == pruneBatch {
		g.nextPrune = now // more to do: again on the next record
	}
	return nil
}

// family groups event types that carry the same state of an entity; a
// newer one supersedes an older one. Deltas (tag changes) and immutable
// facts (refunds) have none and are never stale.
func family(typ string) string {
	switch typ {
	case schemas.TypeCustomerCreated, schemas.TypeCustomerUpdated, schemas.TypeCustomerEnabled,
		schemas.TypeCustomerDisabled, schemas.TypeCustomerDeleted:
		return "customer"
	case schemas.TypeCustomerEmailConsentUpdated:
		return "email_consent"
	case schemas.TypeCustomerSMSConsentUpdated:
		return "sms_consent"
	case schemas.TypeCustomerPurchasingSummary:
		return "purchasing_summary"
	case schemas.TypeOrderPlaced, schemas.TypeOrderUpdated, schemas.TypeOrderPaid, schemas.TypeOrderFulfilled,
		schemas.TypeOrderPartiallyFulfilled, schemas.TypeOrderCancelled, schemas.TypeOrderDeleted:
		return "order"
	case schemas.TypeCheckoutCreated, schemas.TypeCheckoutUpdated, schemas.TypeCheckoutDeleted:
		return "checkout"
	case schemas.TypeCartCreated, schemas.TypeCartUpdated:
		return "cart"
	case schemas.TypeProductCreated, schemas.TypeProductUpdated, schemas.TypeProductDeleted:
		return "product"
	case schemas.TypeInventoryLevelUpdated, schemas.TypeInventoryLevelConnected, schemas.TypeInventoryLevelDisconnected:
		return "inventory_level"
	case schemas.TypeInventoryItemUpdated:
		return "inventory_item"
	}
	return ""
}

func fingerprint(rec *pipeline.Record, ev *schemas.Event) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(ev.ReceivedAt.UnixNano()))
	return fnv64a(fnv64a(fnvOffset, b[:]), []byte(rec.Position))
}

// fnv64a is hash/fnv's FNV-1a, 64 bits, continued from h over b, without
// the allocation of a hash.Hash.
func fnv64a[T string | []byte](h uint64, b T) uint64 {
	for i := 0; i < len(b); i++ {
		h ^= uint64(b[i])
		h *= fnvPrime
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (g *guard) Process(ctx context.Context, rec *pipeline.Record) ([]*pipeline.Record, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	it, err := g.c.load(rec)
	if err != nil {
		return nil, err
	}
	ev := &it.ev
	now := g.c.now()
	if err := g.prune(now); err != nil {
		return nil, pipeline.Retry(err)
	}
	fp := fingerprint(rec, ev)
	if fam, at := family(ev.Type), objectTime(it); fam != "" && ev.Entity.ID != "" && !at.IsZero() {
		err = g.entity(it, fam, fp, at)
	} else {
		err = g.once(it, fp, now)
	}
	if err == nil && carriesSnapshot(ev.Type) {
		err = g.snapshot(it)
	}
	if err != nil {
		return nil, err
	}
	if !g.deferCommit {
		if err := g.c.commitRecord(); err != nil {
			return nil, pipeline.Retry(err)
		}
	}
	return []*pipeline.Record{rec}, nil
}

// entity guards an event that carries an entity's state with one mark
// per entity: the last markDepth messages applied to it (occurred_at,
// fingerprint, event id), newest first.
//
//   - A message in the mark is a redelivery and passes again: after a crash
//     the uncommitted records come back in order, and an update that was
//     applied here but never reached a sink must not be taken for stale.
//   - Its event id from another message is a duplicate.
//   - Older than the newest applied is stale.
//
// One mark per entity instead of one per event keeps the store small.
func (g *guard) entity(it *item, fam string, fp uint64, t time.Time) error {
	ev := &it.ev
	st := g.c.store
	key := ev.Shop + "\x00" + fam + "\x00" + ev.Entity.ID
	mark, err := st.Get(bucketLast, key)
	if err != nil {
		return pipeline.Retry(err)
	}
	if len(mark)%markEntry != 0 {
		mark = nil // an older layout: start afresh rather than misread it
	}
	at := t.UnixNano()
	idh := idHash(ev.ID)
	for i := 0; i < len(mark); i += markEntry {
		e := mark[i : i+markEntry]
		if binary.LittleEndian.Uint64(e[16:]) != idh {
			continue
		}
		if binary.LittleEndian.Uint64(e[8:]) == fp {
			return nil
		}
		return g.c.skip(it, "guard", SkipDuplicate, fmt.Sprintf("event %s was already applied to %s %s", ev.ID, ev.Entity.Kind, ev.Entity.ID))
	}
	if len(mark) > 0 {
		if newest := int64(binary.LittleEndian.Uint64(mark)); at < newest {
			return g.c.skip(it, "guard", SkipStale, fmt.Sprintf("%s %s at %s is older than the update applied at %s",
				ev.Entity.Kind, ev.Entity.ID, t.UTC().Format(time.RFC3339Nano), time.Unix(0, newest).UTC().Format(time.RFC3339Nano)))
		}
	}
	var b [markEntry * markDepth]byte
	binary.LittleEndian.PutUint64(b[:], uint64(at))
	binary.LittleEndian.PutUint64(b[8:], fp)
	binary.LittleEndian.PutUint64(b[16:], idh)
	n := markEntry + copy(b[markEntry:], mark)
	st.Put(bucketLast, key, b[:n])
	return nil
}

// A mark entry is occurred_at, fingerprint and event id hash, 8 bytes
// each; markDepth of them cover the updates of one entity that can be in
// flight together.
const (
	markEntry = 24
	markDepth = 8
)

func idHash(id string) uint64 { return fnv64a(fnvOffset, id) }

// once guards an event without an entity state (a refund, a tag change, a
// type the chain does not know) by its id, remembered for the window.
func (g *guard) once(it *item, fp uint64, now time.Time) error {
	ev := &it.ev
	st := g.c.store
	key := ev.Shop + "\x00" + ev.ID
	v, err := st.Get(bucketSeen, key)
	if err != nil {
		return pipeline.Retry(err)
	}
	if len(v) == 16 {
		first := time.Unix(0, int64(binary.LittleEndian.Uint64(v[8:])))
		if now.Sub(first) < g.window {
			if binary.LittleEndian.Uint64(v[:8]) != fp {
				return g.c.skip(it, "guard", SkipDuplicate, fmt.Sprintf("event %s already handled at %s", ev.ID, first.UTC().Format(time.RFC3339)))
			}
			return nil
		}
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], fp)
	binary.LittleEndian.PutUint64(b[8:], uint64(now.UnixNano()))
	st.Put(bucketSeen, key, b[:])
	return nil
}
