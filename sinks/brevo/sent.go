package brevo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
)

// sentLog is the durable record of the custom events sent to Brevo, by
// event id and name (invariant 2). Brevo's events API has no idempotency
// key: an event sent again is counted again and starts its automation
// again. Redelivery is normal (a retry of a record that failed elsewhere,
// a restart after kill -9 before the offset was committed), so the sink
// asks the log before sending.
//
// Each request's events go through two commits, a write-ahead intent and
// its outcome:
//
//  1. intend, before the request leaves: the events are "in flight".
//  2. settle, as soon as Brevo answered: accepted events become "sent"
//     (kept for the dedupe window), refused ones lose their intent. A
//     request that failed without being applied (an error answer from
//     Brevo itself, a refused connection) drops its intents too.
//
// An intent that outlives its request (tajo killed between the two
// commits, a timeout or a lost connection: Brevo may or may not have
// applied it) is in doubt. Nothing in doubt is sent again blindly: the sink
// asks Brevo's GET /v3/events whether the events arrived (doubt.go), on
// Open and whenever such a record reaches it again, and sends only those
// Brevo does not have.
//
// Entries expire after the dedupe window (sinks.brevo.events.dedupe_window):
// a second bucket indexes them by the time they were written, so pruning
// reads only what expired.
type sentLog struct {
	st      state.Store // nil: memory only (tools and tests without a state store)
	bucket  string      // key → sent time
	byTime  string      // sent time ‖ key → ""
	intents string      // key → intent time ‖ event date (in flight or in doubt)
	window  time.Duration
	now     func() time.Time

	// beforeSave, when set (tests only), runs before an outcome is
	// committed; an error stands for the process dying there: nothing is
	// committed or remembered.
	beforeSave func(keys []string) error

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
	p := "sink." + name + ".events_"
	return &sentLog{st: st, bucket: p + "sent", byTime: p + "sent_by_time", intents: p + "in_flight",
		window: window, now: now, mem: map[string]bool{}}
}

// sentState is what the log knows of one event.
type sentState int

const (
	unsent  sentState = iota
	saved             // accepted by Brevo, durably recorded
	unsaved           // accepted by Brevo, the record of it not yet durable
	inDoubt           // its request left and no outcome was recorded
)

// doubt is an event whose request may or may not have been applied.
type doubt struct {
	key, id, name string
	at            time.Time // when its intent was written
	date          time.Time // its event_date; zero: Brevo dated it on receipt
}

// eventKey is the log's key of an event: tajo's event id and the name
// (an event name never holds '|', see validName).
func eventKey(id, name string) string { return id + "|" + name }

func newDoubt(key string, v []byte) doubt {
	d := doubt{key: key, id: key, name: ""}
	if i := strings.LastIndexByte(key, '|'); i >= 0 {
		d.id, d.name = key[:i], key[i+1:]
	}
	if len(v) >= 16 {
		d.at = time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))
		if n := int64(binary.BigEndian.Uint64(v[8:16])); n != 0 {
			d.date = time.Unix(0, n)
		}
	}
	return d
}

// lookup reports what the log knows of each key, in one read, and the
// intent of each event in doubt.
func (l *sentLog) lookup(keys []string) ([]sentState, map[int]doubt, error) {
	out := make([]sentState, len(keys))
	doubts := map[int]doubt{}
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
		return out, doubts, nil
	}
	err := l.st.View(func(tx state.Tx) error {
		for i, k := range keys {
			if out[i] != unsent {
				continue
			}
			if tx.Get(l.bucket, k) != nil {
				out[i] = saved
			} else if v := tx.Get(l.intents, k); v != nil {
				out[i] = inDoubt
				doubts[i] = newDoubt(k, v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, pipeline.Retry(fmt.Errorf("brevo sink: reading the record of sent events: %w", err))
	}
	return out, doubts, nil
}

// intend records, in one commit, that the events of keys (dated dates) are
// about to be sent. Without a store it does nothing: there is no restart
// to survive.
func (l *sentLog) intend(keys []string, dates []time.Time) error {
	if l.st == nil || len(keys) == 0 {
		return nil
	}
	at := uint64(l.now().UnixNano())
	err := l.st.Update(func(tx state.Tx) error {
		for i, k := range keys {
			var d uint64
			if !dates[i].IsZero() {
				d = uint64(dates[i].UnixNano())
			}
			// Its own buffer: bbolt keeps the value until the commit.
			v := make([]byte, 16)
			binary.BigEndian.PutUint64(v[:8], at)
			binary.BigEndian.PutUint64(v[8:], d)
			if err := tx.Put(l.intents, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return pipeline.Retry(fmt.Errorf("brevo sink: recording %d event(s) as in flight before sending them: %w", len(keys), err))
	}
	return nil
}

// add records that Brevo accepted the events of keys.
func (l *sentLog) add(keys []string) error { return l.settle(keys, nil) }

// settle records, in one commit, that Brevo accepted the events of sent
// and did not apply those of dropped (their intents are removed). When the
// commit fails the sent keys are still remembered in memory, so a retry of
// their records does not send them again but does try the commit again;
// a dropped intent left behind is only resolved by a read later.
func (l *sentLog) settle(sent, dropped []string) error {
	if len(sent) == 0 && len(dropped) == 0 {
		return nil
	}
	if l.beforeSave != nil {
		if err := l.beforeSave(sent); err != nil {
			return err
		}
	}
	if l.st == nil {
		l.remember(sent)
		return nil
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(l.now().UnixNano()))
	err := l.st.Update(func(tx state.Tx) error {
		for _, k := range sent {
			if err := tx.Put(l.bucket, k, ts[:]); err != nil {
				return err
			}
			if err := tx.Put(l.byTime, string(ts[:])+k, nil); err != nil {
				return err
			}
			if err := tx.Delete(l.intents, k); err != nil {
				return err
			}
		}
		for _, k := range dropped {
			if err := tx.Delete(l.intents, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.remember(sent)
		return pipeline.Retry(fmt.Errorf("brevo sink: Brevo accepted %d event(s) but recording them failed (they will not be sent again by this process): %w", len(sent), err))
	}
	l.mu.Lock()
	for _, k := range sent {
		delete(l.mem, k)
	}
	l.mu.Unlock()
	return nil
}

// doubts returns up to limit intents left by requests whose outcome was
// never recorded.
func (l *sentLog) doubts(limit int) ([]doubt, error) {
	if l.st == nil {
		return nil, nil
	}
	var out []doubt
	err := l.st.View(func(tx state.Tx) error {
		return tx.ForEach(l.intents, func(k, v []byte) error {
			if len(out) == limit {
				return errStopWalk
			}
			out = append(out, newDoubt(string(k), v))
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStopWalk) {
		return nil, fmt.Errorf("brevo sink: reading the events in flight: %w", err)
	}
	return out, nil
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
// Intents older than the window go too: their record can no longer come
// back within it.
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
	var expired, stale []string
	err := l.st.View(func(tx state.Tx) error {
		err := tx.ForEach(l.byTime, func(k, _ []byte) error {
			if len(k) < 8 || binary.BigEndian.Uint64(k[:8]) >= cutoff || len(expired) == maxPrune {
				return errStopWalk
			}
			expired = append(expired, string(k))
			return nil
		})
		if err != nil && !errors.Is(err, errStopWalk) {
			return err
		}
		// In flight are only the events of requests under way or in doubt:
		// a short walk.
		return tx.ForEach(l.intents, func(k, v []byte) error {
			if len(v) >= 8 && binary.BigEndian.Uint64(v[:8]) < cutoff && len(stale) < maxPrune {
				stale = append(stale, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("brevo sink: pruning the record of sent events: %w", err)
	}
	if len(expired) > 0 || len(stale) > 0 {
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
			for _, k := range stale {
				if err := tx.Delete(l.intents, k); err != nil {
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
