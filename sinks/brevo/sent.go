package brevo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
)

// sentLog is the durable record of the custom events Brevo accepted, by
// event id and name (invariant 2). Brevo's events API has no idempotency
// key: an event sent again is counted again and starts its automation
// again. Redelivery is normal (a retry of a record that failed elsewhere,
// a restart after kill -9 before the offset was committed), so the sink
// asks the log before sending and writes to it as soon as Brevo answered,
// before Write returns and so before the record can be acked.
//
// The one window left is between Brevo applying a request and the end of
// the state store's commit (the answer's transfer and bbolt's fsyncs): a
// process killed inside it has sent events it has no record of, and sends
// them again after the restart. Nothing else runs in between: the commit
// follows the answer of each request directly, one Update per request (not
// per event, not per Write). Closing it would need a record written before
// each request and, after a crash, a look at GET /v3/events for the
// in-doubt ones; README.md gives the measured share.
//
// Entries expire after the dedupe window (sinks.brevo.events.dedupe_window):
// a second bucket indexes them by the time they were written, so pruning
// reads only what expired.
type sentLog struct {
	st     state.Store // nil: memory only (tools and tests without a state store)
	bucket string      // key → sent time
	byTime string      // sent time ‖ key → ""
	window time.Duration
	now    func() time.Time

	mu sync.Mutex
	// mem holds what Brevo accepted but the store does not hold yet (its
	// commit failed), or, without a store, everything, bounded by order.
	mem    map[string]bool
	order  []string
	pruned time.Time
}

// maxMemSent bounds the memory-only log; maxPrune the entries one prune
// deletes, so that a long-stopped sink's first Write is not held up.
const (
	maxMemSent = 100_000
	maxPrune   = 20_000
)

func newSentLog(st state.Store, name string, window time.Duration, now func() time.Time) *sentLog {
	if name == "" {
		name = "brevo"
	}
	return &sentLog{st: st, bucket: "sink." + name + ".events_sent", byTime: "sink." + name + ".events_sent_by_time",
		window: window, now: now, mem: map[string]bool{}}
}

// sentState is what the log knows of one event.
type sentState int

const (
	unsent  sentState = iota
	saved             // accepted by Brevo, durably recorded
	unsaved           // accepted by Brevo, the record of it not yet durable
)

// lookup reports what the log knows of each key, in one read.
func (l *sentLog) lookup(keys []string) ([]sentState, error) {
	out := make([]sentState, len(keys))
	l.mu.Lock()
	for i, k := range keys {
		if l.mem[k] {
			out[i] = unsaved
			if l.st == nil {
				out[i] = saved
			}
		}
	}
	l.mu.Unlock()
	if l.st == nil {
		return out, nil
	}
	err := l.st.View(func(tx state.Tx) error {
		for i, k := range keys {
			if out[i] == unsent && tx.Get(l.bucket, k) != nil {
				out[i] = saved
			}
		}
		return nil
	})
	if err != nil {
		return nil, pipeline.Retry(fmt.Errorf("brevo sink: reading the record of sent events: %w", err))
	}
	return out, nil
}

// add records that Brevo accepted the events of keys, in one commit. When
// the commit fails the keys are still remembered in memory, so a retry of
// their records does not send them again but does try the commit again.
func (l *sentLog) add(keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if l.st == nil {
		l.remember(keys)
		return nil
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(l.now().UnixNano()))
	err := l.st.Update(func(tx state.Tx) error {
		for _, k := range keys {
			if err := tx.Put(l.bucket, k, ts[:]); err != nil {
				return err
			}
			if err := tx.Put(l.byTime, string(ts[:])+k, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.remember(keys)
		return pipeline.Retry(fmt.Errorf("brevo sink: Brevo accepted %d event(s) but recording them failed (they will not be sent again by this process): %w", len(keys), err))
	}
	l.mu.Lock()
	for _, k := range keys {
		delete(l.mem, k)
	}
	l.mu.Unlock()
	return nil
}

func (l *sentLog) remember(keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if !l.mem[k] {
			l.mem[k] = true
			l.order = append(l.order, k)
		}
	}
	if l.st != nil || len(l.order) <= maxMemSent {
		return
	}
	drop := len(l.order) - maxMemSent
	for _, k := range l.order[:drop] {
		delete(l.mem, k)
	}
	l.order = append([]string(nil), l.order[drop:]...)
}

var errStopWalk = errors.New("stop")

// prune deletes entries older than the window, at most maxPrune per call
// and at most once per pruneEvery unless the previous call was cut short.
func (l *sentLog) prune() error {
	if l.st == nil || l.window <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	due := now.Sub(l.pruned) >= min(l.window/4, time.Hour)
	l.mu.Unlock()
	if !due {
		return nil
	}
	cutoff := uint64(now.Add(-l.window).UnixNano())
	var expired []string
	err := l.st.View(func(tx state.Tx) error {
		return tx.ForEach(l.byTime, func(k, _ []byte) error {
			if len(k) < 8 || binary.BigEndian.Uint64(k[:8]) >= cutoff || len(expired) == maxPrune {
				return errStopWalk
			}
			expired = append(expired, string(k))
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStopWalk) {
		return fmt.Errorf("brevo sink: pruning the record of sent events: %w", err)
	}
	if len(expired) > 0 {
		err = l.st.Update(func(tx state.Tx) error {
			for _, ik := range expired {
				k := ik[8:]
				// Delete the entry only if it is this one, not a newer one
				// for the same event.
				if v := tx.Get(l.bucket, k); v != nil && string(v) == ik[:8] {
					if err := tx.Delete(l.bucket, k); err != nil {
						return err
					}
				}
				if err := tx.Delete(l.byTime, ik); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("brevo sink: pruning the record of sent events: %w", err)
		}
	}
	if len(expired) < maxPrune {
		l.mu.Lock()
		l.pruned = now
		l.mu.Unlock()
	}
	return nil
}
