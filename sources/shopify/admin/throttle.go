package admin

import (
	"context"
	"math"
	"sync"
	"time"
)

// bucket mirrors the shop's cost bucket from the throttleStatus of the
// last answer, refilled at restoreRate since then. Before a query the
// client reserves its expected cost, waiting for the refill when the
// bucket would not cover it: waiting costs the same time as being
// throttled, without spending a request on it.
type bucket struct {
	mu        sync.Mutex
	known     bool
	max, rate float64
	available float64
	at        time.Time
	slept     time.Duration
}

// margin absorbs the difference between our clock and Shopify's refill.
const margin = 1.0

func (b *bucket) level(now time.Time) float64 {
	return math.Min(b.max, b.available+now.Sub(b.at).Seconds()*b.rate)
}

// wait blocks until cost points are (estimated to be) available, then
// reserves them.
func (b *bucket) wait(ctx context.Context, cost float64) error {
	for {
		b.mu.Lock()
		if !b.known || cost <= 0 {
			b.mu.Unlock()
			return nil
		}
		now := time.Now()
		// A query dearer than the whole bucket can at best start on a
		// full one (Shopify refuses it anyway if above its own limit).
		need := math.Min(cost+margin, b.max)
		lvl := b.level(now)
		if lvl >= need || b.rate <= 0 {
			b.available, b.at = lvl-math.Min(cost, b.max), now
			b.mu.Unlock()
			return nil
		}
		d := time.Duration((need - lvl) / b.rate * float64(time.Second))
		b.slept += d
		b.mu.Unlock()
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// observe takes Shopify's word for the bucket.
func (b *bucket) observe(c Cost) {
	t := c.ThrottleStatus
	if t.MaximumAvailable <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.known, b.max, b.rate = true, t.MaximumAvailable, t.RestoreRate
	b.available, b.at = t.CurrentlyAvailable, time.Now()
}

// drain assumes an empty bucket after a THROTTLED answer without cost
// information.
func (b *bucket) drain() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known {
		b.known, b.max, b.rate = true, 1000, 50 // the lowest plan's figures
	}
	b.available, b.at = 0, time.Now()
}

func (b *bucket) waited() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.slept
}
