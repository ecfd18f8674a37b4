package shopify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// dedupe is the durable window of delivered webhook ids
// (X-Shopify-Webhook-Id, per shop). A delivery is claimed while its records
// travel to Kafka and committed only when the host reports it answered a
// 2xx (plugins.WebhookFinisher): committing at receipt would turn
// Shopify's retry of a delivery answered 503 into a silent loss, since the
// retry would be dropped as a duplicate. Concurrent copies of a claimed
// delivery wait for the claim's outcome instead of racing it to Kafka.
type dedupe struct {
	db     *bolt.DB // nil: in memory only (no state_dir)
	window time.Duration
	now    func() time.Time

	mu     sync.Mutex
	claims map[string]*claim
	seq    uint64
	mem    map[string]time.Time // committed ids when db is nil
}

type claim struct {
	seq  uint64
	at   time.Time
	done chan struct{}
}

// claimTTL bounds how long a claim whose outcome never arrived (the host
// lost the WebhookDone call) blocks retries of the same delivery: above
// the host's webhook timeout, so a live claim is never taken over.
const claimTTL = time.Minute

var bucketSeen = []byte("webhooks.seen") // shop \x00 webhook id → committed at (unix ns)

func openDedupe(dir string, window time.Duration) (*dedupe, error) {
	d := &dedupe{window: window, now: time.Now, claims: map[string]*claim{}}
	if dir == "" {
		d.mem = map[string]time.Time{}
		return d, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("shopify: state dir: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "webhooks.db"), 0o600, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("shopify: opening the webhook dedupe window: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketSeen)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("shopify: webhook dedupe window: %w", err)
	}
	d.db = db
	return d, nil
}

func (d *dedupe) close() error {
	if d.db == nil {
		return nil
	}
	return d.db.Close()
}

func dedupeKey(shop, webhookID string) string { return shop + "\x00" + webhookID }

// committed reports whether key was delivered within the window.
func (d *dedupe) committed(key string) (bool, error) {
	var at time.Time
	if d.db == nil {
		at = d.mem[key]
	} else if err := d.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSeen).Get([]byte(key)); len(v) == 8 {
			at = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
		}
		return nil
	}); err != nil {
		return false, err
	}
	return !at.IsZero() && d.now().Sub(at) < d.window, nil
}

// claim returns dup=true for a delivery already committed, or a token to
// hand back to finish once the delivery's outcome is known. It waits
// (until ctx ends) while another copy of the same delivery is in flight.
func (d *dedupe) claim(ctx context.Context, key string) (dup bool, token []byte, err error) {
	for {
		d.mu.Lock()
		ok, err := d.committed(key)
		if err != nil {
			d.mu.Unlock()
			return false, nil, err
		}
		if ok {
			d.mu.Unlock()
			return true, nil, nil
		}
		c := d.claims[key]
		if c == nil || d.now().Sub(c.at) >= claimTTL {
			d.seq++
			c = &claim{seq: d.seq, at: d.now(), done: make(chan struct{})}
			d.claims[key] = c
			d.mu.Unlock()
			return false, encodeToken(c.seq, key), nil
		}
		d.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return false, nil, ctx.Err()
		}
	}
}

// finish records the outcome of a claimed delivery: committed when it was
// answered 2xx, released otherwise, so the sender's retry is handled
// afresh. A token from another process (the claim died with it) still
// commits.
func (d *dedupe) finish(token []byte, ok bool) error {
	return d.finishAll([]outcome{{token, ok}})
}

// outcome is a claimed delivery's token and whether it was answered 2xx.
type outcome struct {
	token []byte
	ok    bool
}

// finishAll is finish for many deliveries, committed with one write
// before any claim is released: a waiting copy of a delivery must find it
// committed. A malformed token is skipped and reported.
func (d *dedupe) finishAll(outs []outcome) error {
	type done struct {
		seq uint64
		key string
	}
	var errs []error
	var commit []string
	finished := make([]done, 0, len(outs))
	for _, o := range outs {
		seq, key, err := decodeToken(o.token)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		finished = append(finished, done{seq, key})
		if o.ok {
			commit = append(commit, key)
		}
	}
	if len(commit) > 0 {
		if err := d.commit(commit); err != nil {
			errs = append(errs, err)
		}
	}
	d.mu.Lock()
	for _, f := range finished {
		if c := d.claims[f.key]; c != nil && c.seq == f.seq {
			delete(d.claims, f.key)
			close(c.done)
		}
	}
	d.mu.Unlock()
	return errors.Join(errs...)
}

func (d *dedupe) commit(keys []string) error {
	now := d.now()
	if d.db == nil {
		d.mu.Lock()
		for _, k := range keys {
			d.mem[k] = now
		}
		d.mu.Unlock()
		return nil
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(now.UnixNano()))
	// Batch shares one sync among the callers of the next 10 ms: those of
	// concurrent deliveries (a host without the webhook stream finishes
	// each with a call of its own), or the next batch of outcomes, which
	// gathers meanwhile. The sync does not delay any answer: a delivery
	// is committed after it was answered.
	return d.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeen)
		for _, k := range keys {
			if err := b.Put([]byte(k), v[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// prune deletes ids older than the window, at most max per call, and
// reports how many it deleted.
func (d *dedupe) prune(max int) (int, error) {
	cutoff := d.now().Add(-d.window)
	if d.db == nil {
		d.mu.Lock()
		defer d.mu.Unlock()
		n := 0
		for k, at := range d.mem {
			if at.Before(cutoff) && n < max {
				delete(d.mem, k)
				n++
			}
		}
		return n, nil
	}
	n := 0
	err := d.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSeen).Cursor()
		for k, v := c.First(); k != nil && n < max; k, v = c.Next() {
			if len(v) == 8 && time.Unix(0, int64(binary.BigEndian.Uint64(v))).Before(cutoff) {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}

// pruneLoop sweeps the window until ctx ends.
func (d *dedupe) pruneLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.expireClaims()
			for {
				n, err := d.prune(10000)
				if err != nil || n < 10000 || ctx.Err() != nil {
					break
				}
			}
		}
	}
}

// expireClaims drops claims whose outcome never arrived, so the map does
// not grow with lost WebhookDone calls; their waiters retry the claim.
func (d *dedupe) expireClaims() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, c := range d.claims {
		if d.now().Sub(c.at) >= claimTTL {
			delete(d.claims, k)
			close(c.done)
		}
	}
}

// Tokens are "<seq>:<shop>\x00<webhook id>": self-describing, so a process
// that did not claim the delivery (its predecessor crashed) can commit it.
func encodeToken(seq uint64, key string) []byte {
	b := strconv.AppendUint(make([]byte, 0, 21+len(key)), seq, 10)
	return append(append(b, ':'), key...)
}

var errBadToken = errors.New("shopify: malformed webhook token")

func decodeToken(tok []byte) (uint64, string, error) {
	s, key, ok := strings.Cut(string(tok), ":")
	if !ok || !strings.Contains(key, "\x00") {
		return 0, "", errBadToken
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, "", errBadToken
	}
	return seq, key, nil
}
