package plugins

import (
	"context"
	"encoding/binary"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/plugins/proto/sourcev1"
)

// WebhookDedupe is how the host recognizes copies of one webhook delivery
// (Spec.Dedupe): senders such as Shopify deliver at least once, and retry
// whatever they did not see answered 2xx. The host keeps the window of
// delivered ids in the engine's state (pipeline.Env.Journal), since the
// plugin process cannot share it: only an authenticated request
// (Spec.Signing) is looked up, and a copy of a delivery already answered
// 2xx is answered 200 "duplicate" without reaching the plugin.
type WebhookDedupe struct {
	// IDHeaders may carry the delivery id, the first present wins (e.g.
	// X-Shopify-Webhook-Id); a request without one is not deduplicated.
	IDHeaders []string
	// ScopeHeaders scope the id by their value, trimmed and lower-cased
	// (e.g. the shop domain); the first present wins.
	ScopeHeaders []string
	// Window is how long a delivery answered 2xx is remembered; 0 turns
	// the dedupe off.
	Window time.Duration
}

func dedupeToProto(d *WebhookDedupe) *sourcev1.WebhookDedupe {
	if d == nil {
		return nil
	}
	return &sourcev1.WebhookDedupe{IdHeaders: d.IDHeaders, ScopeHeaders: d.ScopeHeaders, WindowNanos: int64(d.Window)}
}

func dedupeFromProto(p *sourcev1.WebhookDedupe) *WebhookDedupe {
	if p == nil {
		return nil
	}
	return &WebhookDedupe{IDHeaders: p.IdHeaders, ScopeHeaders: p.ScopeHeaders, Window: time.Duration(p.WindowNanos)}
}

// deliveries is the host's window of delivered webhook ids: bucket
// "plugins.<name>.webhooks" of the state journal, key scope \x00 id,
// value the time it was committed (unix ns, big-endian) and the webhook
// log's topic \x00 API version of the delivery.
//
// A delivery is claimed while the plugin judges it and its records travel
// to Kafka, and committed only once the host decided to answer it 2xx:
// committing at receipt would turn a sender's retry of a delivery
// answered 503 into a silent loss, since the retry would be dropped as a
// duplicate. Concurrent copies of a claimed delivery wait for the claim's
// outcome instead of racing it to Kafka. Losing a committed id (a power
// loss, an id older than the window) costs at most one more copy on Kafka,
// which the chain's guard drops by its event id.
type deliveries struct {
	j      *state.Journal
	bucket string
	now    func() time.Time
	ttl    time.Duration // how long a claim holds without an outcome

	cfg atomic.Pointer[WebhookDedupe] // nil: off

	mu     sync.Mutex
	claims map[string]*claim
	queue  []*claim // answered 2xx, waiting for flush
	wake   chan struct{}
	// stopped: the flush loop has ended (Close); finish flushes itself.
	stopped bool

	flushMu sync.Mutex // one flush at a time
}

type claim struct {
	key  string
	at   time.Time
	done chan struct{}
	val  []byte // what commit writes
}

// claimTTL bounds how long a claim whose outcome never came (a handler
// stuck past its deadline) blocks the copies of its delivery: above the
// webhook timeout, so a live claim is never taken over.
const claimTTL = time.Minute

// maxDedupeHeader bounds the id and scope looked up: longer values (no
// sender sends them; Shopify's ids are UUIDs) are not deduplicated rather
// than kept in the state.
const maxDedupeHeader = 256

// sweepEvery is how often expired ids are deleted, at most sweepLimit per
// journal commit.
const (
	sweepEvery = 10 * time.Minute
	sweepLimit = 10000
)

func newDeliveries(j *state.Journal, bucket string, webhookTimeout time.Duration) *deliveries {
	if j == nil {
		j = state.NewMemoryJournal()
	}
	return &deliveries{
		j: j, bucket: bucket, now: time.Now, ttl: max(claimTTL, 2*webhookTimeout),
		claims: map[string]*claim{}, wake: make(chan struct{}, 1),
	}
}

// configure applies what the plugin declared (again after each restart).
func (d *deliveries) configure(c *WebhookDedupe) {
	if c != nil && (c.Window <= 0 || len(c.IDHeaders) == 0) {
		c = nil
	}
	d.cfg.Store(c)
}

// key is the request's window key; "" when it is not deduplicated.
func (d *deliveries) key(h http.Header) (key, scope, id string) {
	c := d.cfg.Load()
	if c == nil {
		return "", "", ""
	}
	id = first(h, c.IDHeaders)
	scope = strings.ToLower(first(h, c.ScopeHeaders))
	if id == "" || len(id) > maxDedupeHeader || len(scope) > maxDedupeHeader {
		return "", "", ""
	}
	return scope + "\x00" + id, scope, id
}

// committed returns the value of a key delivered within the window, nil
// otherwise.
func (d *deliveries) committed(key string) ([]byte, error) {
	v, err := d.j.Get(d.bucket, key)
	if err != nil || len(v) < 8 {
		return nil, err
	}
	if d.expired(v) {
		return nil, nil
	}
	return v, nil
}

func (d *deliveries) expired(v []byte) bool {
	c := d.cfg.Load()
	if len(v) < 8 || c == nil {
		return true
	}
	return d.now().Sub(time.Unix(0, int64(binary.BigEndian.Uint64(v)))) >= c.Window
}

// claim returns the committed value of a delivery already answered 2xx
// (a duplicate), or a claim to hand to finish once the delivery's answer
// is decided. It waits, until ctx ends, while another copy of the same
// delivery is in flight.
func (d *deliveries) claim(ctx context.Context, key string) (dup []byte, c *claim, err error) {
	for {
		d.mu.Lock()
		v, err := d.committed(key)
		if err != nil || v != nil {
			d.mu.Unlock()
			return v, nil, err
		}
		c := d.claims[key]
		if c == nil || d.now().Sub(c.at) >= d.ttl {
			c = &claim{key: key, at: d.now(), done: make(chan struct{})}
			d.claims[key] = c
			d.mu.Unlock()
			return nil, c, nil
		}
		d.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// finish records the outcome of a claimed delivery: committed when it is
// answered 2xx (info is what the webhook log shows for its later copies),
// released otherwise, so the sender's retry is judged afresh. The commit
// is written by the flush loop, off the request's path; the copies
// waiting on the claim wake once it is in the journal.
func (d *deliveries) finish(c *claim, status int, info WebhookInfo) {
	if status < 200 || status > 299 {
		d.release([]*claim{c})
		return
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 10+len(info.Topic)+len(info.APIVersion)), uint64(d.now().UnixNano()))
	c.val = append(append(append(v, info.Topic...), 0), info.APIVersion...)
	d.mu.Lock()
	d.queue = append(d.queue, c)
	stopped := d.stopped
	d.mu.Unlock()
	if stopped {
		d.flush()
		return
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// release ends claims: their waiters look the delivery up again.
func (d *deliveries) release(cs []*claim) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range cs {
		if d.claims[c.key] == c {
			delete(d.claims, c.key)
			close(c.done)
		}
	}
}

// flush commits every queued delivery with one journal write (one
// write(2)) before any of their claims is released: a waiting copy must
// find its delivery committed. A failed write releases them all the same:
// their copies then go to the plugin, and the chain's guard drops the
// duplicate event.
func (d *deliveries) flush() error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	d.mu.Lock()
	batch := d.queue
	d.queue = nil
	d.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	for _, c := range batch {
		d.j.Put(d.bucket, c.key, c.val)
	}
	err := d.j.Commit()
	d.release(batch)
	return err
}

// run flushes what finish queues, sweeps the window every sweepEvery and
// expires lost claims, until ctx ends; then it flushes once more and
// leaves later outcomes to finish.
func (d *deliveries) run(ctx context.Context, warn func(error, string)) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-d.wake:
			if err := d.flush(); err != nil {
				warn(err, "webhook delivery ids not committed: their copies reach the plugin again")
			}
		case <-t.C:
			d.expireClaims()
			if err := d.sweep(); err != nil {
				warn(err, "sweeping expired webhook delivery ids")
			}
		case <-ctx.Done():
			d.mu.Lock()
			d.stopped = true
			d.mu.Unlock()
			if err := d.flush(); err != nil {
				warn(err, "webhook delivery ids not committed: their copies reach the plugin again")
			}
			return
		}
	}
}

// sweep deletes the ids older than the window, sweepLimit per commit.
func (d *deliveries) sweep() error {
	for {
		keys, err := d.expiredKeys()
		if err != nil || len(keys) == 0 {
			return err
		}
		for _, k := range keys {
			d.j.Delete(d.bucket, k)
		}
		if err := d.j.Commit(); err != nil || len(keys) < sweepLimit {
			return err
		}
	}
}

// expiredKeys finds up to sweepLimit expired ids. Journal.Sweep walks
// only the store; a memory journal (no data_dir) has none, so its keys
// are walked instead.
func (d *deliveries) expiredKeys() ([]string, error) {
	if d.j.Durable() {
		return d.j.Sweep(d.bucket, sweepLimit, d.expired, func([]byte) {})
	}
	all, err := d.j.KeysAfter(d.bucket, "")
	var keys []string
	for _, k := range all {
		if v, _ := d.j.Get(d.bucket, k); v != nil && d.expired(v) && len(keys) < sweepLimit {
			keys = append(keys, k)
		}
	}
	return keys, err
}

// expireClaims drops claims whose outcome never came, so the map does not
// grow with them; their waiters claim again.
func (d *deliveries) expireClaims() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, c := range d.claims {
		if d.now().Sub(c.at) >= d.ttl {
			delete(d.claims, k)
			close(c.done)
		}
	}
}

// duplicateInfo is the webhook log's view of a copy answered by the host:
// the delivery's scope and id, and the topic and API version the plugin
// reported for the copy it judged.
func duplicateInfo(scope, id string, v []byte) WebhookInfo {
	topic, version, _ := strings.Cut(string(v[8:]), "\x00")
	return WebhookInfo{Shop: scope, Topic: topic, WebhookID: id, APIVersion: version, HMAC: "valid"}
}
