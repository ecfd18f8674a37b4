package brevo

import (
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline/backoff"
)

// Endpoint groups share one rate limit and one concurrency limit, the way
// Brevo's documented limits are grouped (all /contacts/* together, …).
const (
	groupContacts  = "contacts"
	groupEvents    = "events"
	groupOrders    = "orders"
	groupProducts  = "products"
	groupProcesses = "processes"
	groupOther     = "other"
)

// documentedRate is Brevo's General-tier limit per group, in requests per
// second (api-facts C7); 0 means no client-side rate. A per-second limit
// announced by x-sib-ratelimit-* replaces it once seen. The group's window
// allows RateShare of it.
var documentedRate = map[string]int{
	groupContacts: 10, groupEvents: 10, groupOrders: 5, groupProducts: 2,
}

func groupOf(path string) string {
	i := strings.Index(path, "/v3/")
	if i < 0 {
		return groupOther
	}
	p := path[i+3:]
	switch {
	case strings.HasPrefix(p, "/contacts"):
		return groupContacts
	case strings.HasPrefix(p, "/events"):
		return groupEvents
	case strings.HasPrefix(p, "/orders"):
		return groupOrders
	case strings.HasPrefix(p, "/products"), strings.HasPrefix(p, "/categories"):
		return groupProducts
	case strings.HasPrefix(p, "/processes"):
		return groupProcesses
	}
	return groupOther
}

// Discipline is the delivery discipline under the client: an HTTP transport
// that, per endpoint group, keeps requests under Brevo's rate (a sliding
// one-second window, so no second ever sees more than the limit), adapts
// the number of requests in flight (AIMD: +1/limit on a fast success, ×½ on
// a 429, a 5xx, a timeout or a latency spike) under a ceiling, waits out a
// 429 until x-sib-ratelimit-reset before anything else is sent to that
// group, and retries 429s and 5xx a few times with backoff before the
// engine's own retry takes over.
type Discipline struct {
	base      http.RoundTripper
	timeout   time.Duration
	initial   int
	ceiling   int
	retries   int
	share     float64 // of Brevo's per-second limit a group's window allows
	total     *window // all groups together; nil = none
	mu        sync.Mutex
	groups    map[string]*group
	now       func() time.Time
	requests  int
	throttled int
}

// DisciplineConfig configures a Discipline.
type DisciplineConfig struct {
	Timeout time.Duration // per attempt, after a slot is granted
	Initial int           // concurrency per group at start
	Max     int           // concurrency ceiling per group
	// TotalRate caps requests per second over every group (0 = none): for
	// accounts or proxies whose limit spans endpoints.
	TotalRate int
	// Retries of a 429 or 5xx inside the transport (default 2).
	Retries int
	// RateShare is the share of Brevo's per-second limit of a group (the
	// documented one, or the one its headers announce) that the group's
	// window allows; 0 is DefaultRateShare. Below 1 it leaves headroom for
	// arrivals that bunch up on the way and for other clients of the key.
	RateShare float64
}

// DefaultRateShare is sinks.brevo.rate_share's default: no second sees
// more than 8 requests on a group Brevo limits to 10/s.
const DefaultRateShare = 0.8

// shareOf is the window limit for a Brevo limit of lim requests/s: at
// least one, so a 2/s group still moves (at 1/s).
func (d *Discipline) shareOf(lim int) int {
	return max(1, int(float64(lim)*d.share+1e-9))
}

// NewDiscipline wraps base (http.DefaultTransport when nil).
func NewDiscipline(base http.RoundTripper, cfg DisciplineConfig) *Discipline {
	if base == nil {
		base = http.DefaultTransport
	}
	d := &Discipline{base: base, timeout: cfg.Timeout, initial: max(cfg.Initial, 1), ceiling: max(cfg.Max, 1),
		retries: cfg.Retries, share: cfg.RateShare, groups: map[string]*group{}, now: time.Now}
	if d.share <= 0 || d.share > 1 {
		d.share = DefaultRateShare
	}
	if d.initial > d.ceiling {
		d.initial = d.ceiling
	}
	if d.retries < 0 {
		d.retries = 0
	}
	if cfg.TotalRate > 0 {
		d.total = &window{limit: cfg.TotalRate}
	}
	return d
}

type group struct {
	name     string
	limit    float64 // AIMD concurrency limit
	inFlight int
	wake     chan struct{}
	pause    time.Time // no request starts before it (after a 429)
	rate     *window
	learned  int // tightest per-second limit Brevo announced, 0 = none yet
	ewma     time.Duration
	seen     groupSeen // for /status only (status.go)
}

// window is a sliding rate limiter: at most limit requests in any span
// (per, or a little over a second when per is 0).
type window struct {
	limit int
	per   time.Duration
	sent  []time.Time
}

func (w *window) span() time.Duration {
	if w.per > 0 {
		return w.per
	}
	return span
}

// span is a little over a second: arrivals jitter, and the limit is counted
// by the receiver.
const span = time.Second + 50*time.Millisecond

// wait returns how long until one more request fits, or 0 and records it.
func (w *window) take(now time.Time) time.Duration {
	if w == nil || w.limit <= 0 {
		return 0
	}
	cut := now.Add(-w.span())
	i := 0
	for i < len(w.sent) && !w.sent[i].After(cut) {
		i++
	}
	w.sent = w.sent[i:]
	if len(w.sent) >= w.limit {
		return w.sent[len(w.sent)-w.limit].Add(w.span()).Sub(now) + time.Millisecond
	}
	w.sent = append(w.sent, now)
	return 0
}

func (d *Discipline) group(name string) *group {
	g := d.groups[name]
	if g == nil {
		g = &group{name: name, limit: float64(d.initial), wake: make(chan struct{})}
		if r := documentedRate[name]; r > 0 {
			g.rate = &window{limit: d.shareOf(r)}
		}
		d.groups[name] = g
	}
	return g
}

// acquire waits for a slot in g: under the concurrency limit, past any
// pause, and within both rate windows; at is when it took its place in
// them (release moves it to the answer).
func (d *Discipline) acquire(ctx context.Context, name string) (g *group, at time.Time, err error) {
	defer d.waiter(name)()
	for {
		d.mu.Lock()
		g := d.group(name)
		now := d.now()
		var wait time.Duration
		switch {
		case g.inFlight >= int(g.limit):
			wait = -1
		case now.Before(g.pause):
			wait = g.pause.Sub(now)
		default:
			if wait = g.rate.peek(now); wait == 0 {
				wait = d.total.peek(now)
			}
			if wait == 0 {
				g.rate.take(now)
				d.total.take(now)
				g.inFlight++
				d.requests++
				g.seen.sent.add(now)
				d.mu.Unlock()
				return g, now, nil
			}
		}
		wake := g.wake
		d.mu.Unlock()
		pause(ctx, wait, wake, nil)
		if ctx.Err() != nil {
			return nil, time.Time{}, ctx.Err()
		}
	}
}

// Ready says how many requests to group could start now: free is the
// room under the concurrency limit and in both rate windows (0 during a
// 429 pause). When it is 0, wait is how long until the rate window or the
// pause allows one, or -1 when every slot is taken; changed is closed
// when a request of the group finishes, which may free one sooner. The
// sink's dispatcher asks it to choose between sending a contact at once
// and letting contacts gather into an import; nothing is reserved.
func (d *Discipline) Ready(name string) (free int, wait time.Duration, changed <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.group(name)
	now := d.now()
	if now.Before(g.pause) {
		return 0, g.pause.Sub(now), g.wake
	}
	free = int(g.limit) - g.inFlight
	if free <= 0 {
		return 0, -1, g.wake
	}
	free = min(free, g.rate.room(now), d.total.room(now))
	if free == 0 {
		if wait = g.rate.peek(now); wait == 0 {
			wait = d.total.peek(now)
		}
	}
	return free, wait, g.wake
}

// move re-dates the entry taken at from to to, a later time, keeping
// the entries in order. An entry already gone from the window (a request
// slower than its span) comes back at to.
func (w *window) move(from, to time.Time) {
	if w == nil || w.limit <= 0 {
		return
	}
	for i := len(w.sent) - 1; i >= 0; i-- {
		if w.sent[i].Equal(from) {
			w.sent = append(w.sent[:i], w.sent[i+1:]...)
			break
		}
	}
	i := len(w.sent)
	for i > 0 && w.sent[i-1].After(to) {
		i--
	}
	w.sent = slices.Insert(w.sent, i, to)
}

// pause waits until ctx ends, a or b is ready (a nil one never is), or
// wait has passed (wait ≤ 0: no time limit).
func pause(ctx context.Context, wait time.Duration, a, b <-chan struct{}) {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
	case <-a:
	case <-b:
	case <-timer:
	}
}

// room is how many more requests fit in the window now.
func (w *window) room(now time.Time) int {
	if w == nil || w.limit <= 0 {
		return math.MaxInt
	}
	cut := now.Add(-w.span())
	n := 0
	for _, t := range w.sent {
		if t.After(cut) {
			n++
		}
	}
	return max(0, w.limit-n)
}

// peek is take without recording.
func (w *window) peek(now time.Time) time.Duration {
	if w == nil || w.limit <= 0 {
		return 0
	}
	cut := now.Add(-w.span())
	n := 0
	for _, t := range w.sent {
		if t.After(cut) {
			n++
		}
	}
	if n >= w.limit {
		return w.sent[len(w.sent)-w.limit].Add(w.span()).Sub(now) + time.Millisecond
	}
	return 0
}

// release returns the slot and adapts the group to what happened.
func (d *Discipline) release(g *group, at time.Time, status int, took time.Duration, failed bool, h http.Header) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g.inFlight--
	// The request counts in the rate windows from its answer, the latest
	// it can have reached Brevo: one slow to leave (a busy machine, a
	// large body) cannot land within a second of the requests after it.
	now := d.now()
	g.rate.move(at, now)
	d.total.move(at, now)
	decrease := failed || status == http.StatusTooManyRequests || status >= 500
	if !decrease && g.ewma > 0 && took > 2*g.ewma && took > 250*time.Millisecond {
		decrease = true // latency spike: the server is queueing
	}
	if status > 0 && status < 500 && status != http.StatusTooManyRequests {
		if g.ewma == 0 {
			g.ewma = took
		} else {
			g.ewma = (g.ewma*7 + took) / 8
		}
	}
	if decrease {
		g.limit = max(1, g.limit/2)
	} else if g.limit < float64(d.ceiling) {
		g.limit = min(float64(d.ceiling), g.limit+1/g.limit)
	}
	if h != nil {
		g.seen.announce(h, d.now())
		lim, okL := headerInt(h, "x-sib-ratelimit-limit")
		reset, okR := headerSeconds(h, "x-sib-ratelimit-reset")
		// A per-second limit is what a client-side window can follow; an
		// hourly one is left to the 429 handling below.
		// The tightest one seen wins: a group's routes may be limited
		// apart (an unlimited GET must not lift a POST's limit).
		if okL && okR && lim > 0 && reset <= time.Second && (g.learned == 0 || lim < g.learned) {
			g.learned = lim
			if g.rate == nil {
				g.rate = &window{}
			}
			g.rate.limit = d.shareOf(lim)
		}
		if status == http.StatusTooManyRequests {
			d.throttled++
			// The headers describe the tightest window Brevo counts;
			// when it still has room (remaining > 0), that window is not
			// what refused the request, and its reset can be an hour
			// away ("all other endpoints": 100/h): pausing the group
			// until then stalled every poll for the rest of the hour. A
			// second is Brevo's shortest window.
			if rem, okRem := headerInt(h, "x-sib-ratelimit-remaining"); !okR || reset <= 0 || (okRem && rem > 0 && reset > time.Second) {
				reset = time.Second
			}
			if until := d.now().Add(reset); until.After(g.pause) {
				g.pause = until
			}
		}
	}
	close(g.wake)
	g.wake = make(chan struct{})
}

// Stats reports requests started and 429s seen since the start.
func (d *Discipline) Stats() (requests, throttled int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests, d.throttled
}

// Rate is how many requests a second group may send: its window's
// limit, or 0 when it has none.
func (d *Discipline) Rate(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if g := d.group(name); g.rate != nil {
		return g.rate.limit
	}
	return 0
}

// Limits returns the current AIMD concurrency limit of each group.
func (d *Discipline) Limits() map[string]float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]float64{}
	for k, g := range d.groups {
		out[k] = g.limit
	}
	return out
}

// serverErrorBackoff spaces the transport's own retries of a 5xx: 100ms,
// 200ms, 400ms, … ±20%, bounded by DisciplineConfig.Retries rather than a
// cap. (A 429 is not retried on a timer: it pauses its group until
// x-sib-ratelimit-reset, see release.)
var serverErrorBackoff = backoff.Policy{Initial: 100 * time.Millisecond, Multiplier: 2, Jitter: 0.2}

// notStartedError is a request given up while it waited for its slot
// (its ctx ended): it never left, so Brevo cannot have applied it.
type notStartedError struct{ error }

func (e *notStartedError) Unwrap() error { return e.error }

// RoundTrip implements http.RoundTripper.
func (d *Discipline) RoundTrip(req *http.Request) (*http.Response, error) {
	name := groupOf(req.URL.Path)
	for attempt := 0; ; attempt++ {
		g, at, err := d.acquire(req.Context(), name)
		if err != nil {
			if attempt == 0 {
				return nil, &notStartedError{err}
			}
			return nil, err
		}
		r := req
		if attempt > 0 {
			r = req.Clone(req.Context())
			if req.GetBody != nil {
				if r.Body, err = req.GetBody(); err != nil {
					d.release(g, at, 0, 0, false, nil)
					return nil, err
				}
			}
		}
		ctx, cancel := req.Context(), context.CancelFunc(func() {})
		if d.timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, d.timeout)
		}
		start := d.now()
		resp, err := d.base.RoundTrip(r.WithContext(ctx))
		took := d.now().Sub(start)
		if err != nil {
			cancel()
			d.release(g, at, 0, took, true, nil)
			return nil, err
		}
		d.release(g, at, resp.StatusCode, took, false, resp.Header)
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusBadGateway ||
			resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout ||
			resp.StatusCode == http.StatusInternalServerError
		if !retryable || attempt >= d.retries || (req.Body != nil && req.GetBody == nil) || req.Context().Err() != nil {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusTooManyRequests {
			// A 429 waits in acquire, until the group's pause ends.
			if err := backoff.Sleep(req.Context(), serverErrorBackoff.Delay(attempt+1)); err != nil {
				return nil, err
			}
		}
	}
}

// cancelBody ends the attempt's timeout context once the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
