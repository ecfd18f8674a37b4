package brevo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// This file is the sink's one queue of custom events, shared by every
// Write in flight (up to sinks.brevo.pipeline of them). Each event request
// costs one of Brevo's events tokens (10/s, the sink using rate_share of
// them) whether it carries one event or 200, so the events of many Writes
// leave together:
//
//   - A Write, once its contacts are written, reserves the key (eventKey)
//     of each of its events here, then asks the sent log what it knows of
//     the keys it reserved (sink_events.go): one already sent, or found in
//     Brevo while in doubt, completes at once; the others are queued, and
//     the Write waits for their outcomes.
//   - A key another Write holds (its event is being looked up, waits, or is
//     in flight) is neither looked up nor sent again: the record waits for
//     that event's outcome and shares it. A key is released only once its
//     outcome is committed to the sent log, so a later Write's lookup sees
//     it as sent. Two Writes carrying one event (a webhook delivered twice,
//     a cart updated in two batches) send it once, and neither finds the
//     other's intent "in doubt".
//   - A sender forms the requests from what waits, from any Write, in
//     arrival order: up to batch.events.max_records a request (the client
//     splits it further at batch.events.max_bytes). A request starts when
//     a full one waits, or when Brevo has room now (Discipline.Ready) and
//     either no event request is in flight or nothing arrived for
//     quietFor; otherwise the sender waits (the rate window, a request
//     finishing, a new arrival), and what arrives meanwhile joins. So a
//     lone event under light load goes at once, and a flood goes in
//     requests of 200. At most maxEventRequests are in flight; a request
//     that is not full starts only while the requests in flight leave
//     Brevo room (Ready reserves nothing, so they are counted against
//     it), which in practice sends such requests one after another.
//   - A request of one event is a POST /events, of more an /events/batch,
//     each between its intent and its outcome in the sent log (sent.go).
//
// A Write whose ctx ends stops waiting (its records are retried); what it
// queued may still be sent, and is then recorded in the sent log, so the
// retry sends nothing twice.

// maxEventRequests bounds the event requests in flight.
const maxEventRequests = 8

// eventItem is one event, from its reservation until its outcome.
type eventItem struct {
	key  string
	ev   Event
	done chan struct{} // closed once err is its outcome
	err  error
}

type eventQueue struct {
	s    *Sink
	ctx  context.Context // the sink's: requests outlive the Write that queued them
	stop context.CancelFunc
	once sync.Once
	kick chan struct{}

	mu       sync.Mutex
	keys     map[string]*eventItem // reserved: being looked up, queued or in flight
	queue    []*eventItem          // waiting to be sent, in arrival order
	inFlight int                   // requests
	sending  sync.WaitGroup        // the requests in flight
	arrived  time.Time             // when events were last queued
	stopped  bool
	shared   int // records now waiting for another Write's event (tests)
}

func newEventQueue(s *Sink) *eventQueue {
	ctx, stop := context.WithCancel(context.Background())
	return &eventQueue{s: s, ctx: ctx, stop: stop, kick: make(chan struct{}, 1), keys: map[string]*eventItem{}}
}

func (q *eventQueue) wake() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// reserve takes each of keys (evs[j] being the event of keys[j]) for the
// caller, at once: items[j] is its event, and own[j] says the caller
// reserved it and must complete or queue it; otherwise another Write
// holds it, and the caller only waits for its outcome.
func (q *eventQueue) reserve(keys []string, evs []Event) (items []*eventItem, own []bool) {
	items, own = make([]*eventItem, len(keys)), make([]bool, len(keys))
	q.mu.Lock()
	defer q.mu.Unlock()
	for j, k := range keys {
		if it := q.keys[k]; it != nil {
			items[j] = it
			q.shared++
			continue
		}
		it := &eventItem{key: k, ev: evs[j], done: make(chan struct{})}
		q.keys[k] = it
		items[j], own[j] = it, true
	}
	return items, own
}

// complete gives items their outcomes (errs[i] that of items[i]) and
// releases their keys. The outcomes must be committed to the sent log.
func (q *eventQueue) complete(items []*eventItem, errs []error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, it := range items {
		q.completeLocked(it, errs[i])
	}
}

func (q *eventQueue) completeLocked(it *eventItem, err error) {
	it.err = err
	if q.keys[it.key] == it {
		delete(q.keys, it.key)
	}
	close(it.done)
}

// enqueue queues reserved items to be sent.
func (q *eventQueue) enqueue(items []*eventItem) {
	if len(items) == 0 {
		return
	}
	q.once.Do(func() { go q.run() })
	q.mu.Lock()
	if q.stopped || q.ctx.Err() != nil {
		for _, it := range items {
			q.completeLocked(it, errQueueClosed)
		}
		q.mu.Unlock()
		return
	}
	q.queue = append(q.queue, items...)
	q.arrived = time.Now()
	q.mu.Unlock()
	q.wake()
}

// errQueueClosed is the outcome of an event the sink closed before sending.
var errQueueClosed = pipeline.Retry(fmt.Errorf("brevo sink: closed before the event was sent; its record is retried at the next start"))

// wait returns the outcome of each of items, or, once ctx ends, a
// retryable error for those still without one.
func (q *eventQueue) wait(ctx context.Context, items []*eventItem, own []bool) []error {
	errs := make([]error, len(items))
	defer func() {
		n := 0
		for j := range items {
			if !own[j] {
				n++
			}
		}
		q.mu.Lock()
		q.shared -= n
		q.mu.Unlock()
	}()
	for j, it := range items {
		select {
		case <-it.done:
			errs[j] = it.err
			continue
		case <-ctx.Done():
		}
		for k := j; k < len(items); k++ {
			select {
			case <-items[k].done:
				errs[k] = items[k].err
			default:
				errs[k] = pipeline.Retry(fmt.Errorf("brevo sink: the write ended before its event was sent (%w); the event stays queued and is recorded once sent, so the retry does not send it again", ctx.Err()))
			}
		}
		break
	}
	return errs
}

// run forms requests until the sink closes; then what still waits fails
// (retryable), and what is in flight fails with its request.
func (q *eventQueue) run() {
	stepLoop(q.ctx, &q.mu, q.kick, q.step)
	q.mu.Lock()
	q.failQueued()
	q.mu.Unlock()
}

// failQueued stops the queue and fails what waits in it (retryable).
// Caller holds mu.
func (q *eventQueue) failQueued() {
	q.stopped = true
	for _, it := range q.queue {
		q.completeLocked(it, errQueueClosed)
	}
	q.queue = nil
}

// step starts the requests that can go now (see the top of the file) and
// says what to wait for before the next step: a time (the rate window, the
// quiet) or changed (an events request finished); a new arrival or a
// finished request of the queue kicks it too. Caller holds mu.
func (q *eventQueue) step() (wait time.Duration, changed <-chan struct{}) {
	size := max(1, min(q.s.cfg.Batch.Events.MaxRecords, MaxEventsPerBatch))
	for !q.stopped && len(q.queue) > 0 && q.inFlight < maxEventRequests {
		n := min(len(q.queue), size)
		if n < size {
			// Not full: only into room Brevo has now. Nothing is reserved
			// by Ready, so a request started and not yet granted its slot
			// still shows as room: the requests in flight are counted
			// against it, and what arrives while they take it joins the
			// next request.
			free, w, ch := q.s.disc.Ready(groupEvents)
			if q.inFlight >= free {
				changed = ch
				if w > 0 {
					wait = w
				}
				break
			}
			if q.inFlight > 0 {
				if quiet := time.Until(q.arrived.Add(quietFor)); quiet > 0 {
					wait = quiet // more is arriving: let it join
					break
				}
			}
		}
		items := make([]*eventItem, n)
		copy(items, q.queue)
		rest := copy(q.queue, q.queue[n:])
		clear(q.queue[rest:])
		q.queue = q.queue[:rest]
		q.inFlight++
		q.sending.Add(1)
		go q.send(items)
	}
	return wait, changed
}

// send makes one request of items and gives them their outcomes, which
// the request's hooks committed to the sent log.
func (q *eventQueue) send(items []*eventItem) {
	defer q.sending.Done()
	evs := make([]Event, len(items))
	keys := make([]string, len(items))
	for i, it := range items {
		evs[i], keys[i] = it.ev, it.key
	}
	errs := q.s.sendEventRequest(q.ctx, evs, keys)
	q.mu.Lock()
	q.inFlight--
	for i, it := range items {
		q.completeLocked(it, errs[i])
	}
	q.mu.Unlock()
	q.wake()
}

// close stops the queue: what waits fails at once (retryable), and the
// requests in flight get up to grace to be answered and their outcomes
// committed to the sent log (before the state store closes), so that an
// event Brevo accepted is not left in doubt, nor one that never left;
// then they are cancelled.
func (q *eventQueue) close(grace time.Duration) {
	q.mu.Lock()
	q.failQueued()
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.sending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
	}
	q.stop()
	<-done
}

// counts is what /status shows of the queue: events waiting to be sent
// and event requests in flight.
func (q *eventQueue) counts() (waiting, requests int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue), q.inFlight
}
