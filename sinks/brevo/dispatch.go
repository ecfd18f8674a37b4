package brevo

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// This file is the sink's one queue of contact writes. The engine hands
// the sink up to sinks.brevo.pipeline batches at once (pipeline.
// PipelinedSink); each Write plans its records and queues its contacts
// here, in the order of the batches (pipeline.BatchSeq), and a dispatcher
// forms the requests:
//
//   - a contact that must go alone (a deletion, a consent decision, a
//     known email change: importable says) goes at once;
//   - the others wait together, per all_customers list: once
//     import_threshold of them wait and an import may start
//     (import.in_flight), up to batch.import.max_records go as one
//     import, as soon as nothing more can join it soon: a share of a full
//     one waits (max_records / in_flight), or every Write the engine may
//     have in flight (sinks.brevo.pipeline) is in the sink, or nothing
//     arrived for quietFor; while fewer than the threshold wait and Brevo
//     has room for a request now (Discipline.Ready), they go one by one
//     at once, so a contact under light load is not held back; otherwise
//     they wait, and whatever arrives meanwhile, from any batch, joins
//     the next import;
//   - an import starts when the hourly poll budget holds the polls it is
//     likely to need beside those the running imports are owed and a
//     reserve (completion.go), or when the contacts waiting would take
//     longer alone than the wait for that room; otherwise they go alone
//     as Brevo has room, and what gathers meanwhile makes one import once
//     the budget has room, rather than small imports each waiting for a
//     poll the hour gives back only slowly.
//
// Per-contact order: a contact (by email, ext_id and phone) is locked by
// the batch whose write of it went out, until that batch's Write is over
// (its lists, events and orders included); a later batch's work for it
// waits in the queue behind, never beside it. A Write that ends with a
// retryable outcome for a contact keeps the lock (a hold) until the engine
// retries that batch under the same number: the retry goes first, so an
// older write can never land after a newer one. Writes called outside a
// pipelined engine (BatchSeq 0, one at a time) keep no holds.

// queued is one contact's work of one Write.
type queued struct {
	w      *contactWork
	seq    uint64
	keys   []string
	done   chan struct{} // closed once the contact part has its outcome
	locked bool          // sent (or needing nothing sent): its keys are locked
	gone   bool          // its Write stopped waiting before it was sent
}

// contactLock is a contact key taken by the works of one batch.
type contactLock struct {
	seq uint64
	n   int
}

// maxSingles bounds the lone writes in flight (the discipline decides how
// many are really sent at once).
const maxSingles = 64

// DefaultPipeline is sinks.brevo.pipeline's default: enough Writes for
// the sink to hold all the engine lets in flight (pipeline.max_in_flight,
// 25,000 records by default) when a backlog comes in batches of 250, half
// of batch_size, so that it goes in imports of thousands, several
// running at once, while the next ones gather and the events are paced
// out. A Write waiting costs a goroutine; the records are bounded by the
// engine.
const DefaultPipeline = 100

// quietFor is how long without a new contact tells the dispatcher that
// nothing more is coming soon: an import waiting to fill starts then. It
// is about the engine's batch_wait, so that back-to-back batches of a
// backlog fill one import and a short burst waits no longer than that.
const quietFor = 30 * time.Millisecond

type dispatcher struct {
	s    *Sink
	ctx  context.Context
	stop context.CancelFunc
	once sync.Once
	kick chan struct{}

	mu        sync.Mutex
	admitted  uint64          // every batch up to it has queued its works
	ready     map[uint64]bool // batches past admitted that have
	admit     chan struct{}   // closed when admitted grows
	queue     []*queued       // in batch order
	locks     map[string]*contactLock
	imports   int
	importing int // contacts in the running imports
	singles   int
	lone      int // importable contacts sent alone, in flight
	autoSeq   uint64
	open      int       // pipelined Writes between ticket and close
	arrived   time.Time // when works were last queued
}

func newDispatcher(s *Sink) *dispatcher {
	ctx, stop := context.WithCancel(context.Background())
	return &dispatcher{s: s, ctx: ctx, stop: stop, kick: make(chan struct{}, 1),
		ready: map[uint64]bool{}, admit: make(chan struct{}), locks: map[string]*contactLock{}}
}

func (d *dispatcher) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// ticket is one Write's place in the queue.
type ticket struct {
	d         *dispatcher
	seq       uint64
	auto      bool // outside a pipelined engine: numbered here, no holds
	items     []*queued
	out       *outcomes
	submitted bool
}

func (d *dispatcher) ticket(ctx context.Context) *ticket {
	t := &ticket{d: d, seq: pipeline.BatchSeq(ctx)}
	if t.seq != 0 {
		d.mu.Lock()
		d.open++
		d.mu.Unlock()
	}
	if t.seq == 0 {
		// Numbered in call order, so that concurrent calls still lock
		// their contacts apart.
		d.mu.Lock()
		d.autoSeq++
		t.seq, t.auto = d.autoSeq, true
		d.mu.Unlock()
	}
	return t
}

// markAdmitted records that batch seq has queued its works. Caller holds mu.
func (d *dispatcher) markAdmitted(seq uint64) {
	if seq <= d.admitted {
		return
	}
	d.ready[seq] = true
	grew := false
	for d.ready[d.admitted+1] {
		delete(d.ready, d.admitted+1)
		d.admitted++
		grew = true
	}
	if grew {
		close(d.admit)
		d.admit = make(chan struct{})
	}
}

// submit queues works (whose records' outcomes go to out) and returns
// once each has an outcome, or ctx ends (then the rest are Retryable).
func (t *ticket) submit(ctx context.Context, works []*contactWork, out *outcomes) {
	d := t.d
	d.once.Do(func() { go d.run() })
	t.submitted, t.out = true, out
	// Batches queue in their order: a later batch's work for a contact must
	// find the earlier one's ahead of it.
	d.mu.Lock()
	for !t.auto && d.admitted+1 < t.seq {
		ch := d.admit
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			for _, w := range works {
				out.setAll(w.recs, pipeline.Retry(ctx.Err()))
			}
			d.mu.Lock()
			d.markAdmitted(t.seq)
			d.mu.Unlock()
			return
		}
		d.mu.Lock()
	}
	if !t.auto {
		// A retry: the holds its earlier attempt left give way to it.
		for k, l := range d.locks {
			if l.seq == t.seq {
				delete(d.locks, k)
			}
		}
	}
	for _, w := range works {
		q := &queued{w: w, seq: t.seq, keys: lockKeys(w.id), done: make(chan struct{})}
		t.items = append(t.items, q)
	}
	// Retries go before the later batches already waiting.
	at := len(d.queue)
	for at > 0 && d.queue[at-1].seq > t.seq {
		at--
	}
	d.queue = append(d.queue[:at], append(append([]*queued(nil), t.items...), d.queue[at:]...)...)
	if len(t.items) > 0 {
		d.arrived = time.Now()
	}
	d.markAdmitted(t.seq)
	d.mu.Unlock()
	d.wake()

	for i, q := range t.items {
		select {
		case <-q.done:
			continue
		case <-ctx.Done():
		}
		d.mu.Lock()
		for _, q := range t.items[i:] {
			select {
			case <-q.done:
			default:
				q.gone = true
				q.w.out.setAll(q.w.recs, pipeline.Retry(ctx.Err()))
			}
		}
		d.mu.Unlock()
		return
	}
}

// close ends the Write: its contacts are unlocked, except those with a
// retryable outcome, held for the batch's retry.
func (t *ticket) close() {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if !t.auto {
		d.open--
	}
	if !t.submitted {
		d.markAdmitted(t.seq)
		d.wake() // one fewer Write to wait for
		return
	}
	for _, q := range t.items {
		if !q.locked {
			q.gone = true
			continue
		}
		if !t.auto && t.retryable(q) {
			continue
		}
		for _, k := range q.keys {
			if l := d.locks[k]; l != nil && l.seq == q.seq {
				if l.n--; l.n <= 0 {
					delete(d.locks, k)
				}
			}
		}
	}
	d.wake()
}

func (t *ticket) retryable(q *queued) bool {
	for _, i := range q.w.recs {
		if pipeline.ClassOf(t.out.get(i)) == pipeline.Retryable {
			return true
		}
	}
	return false
}

// lockKeys are the identifiers a contact is known by: a work that shares
// any with another is the same contact.
func lockKeys(id identity) []string {
	var ks []string
	if id.email != "" {
		ks = append(ks, "e:"+strings.ToLower(id.email))
	}
	if id.extID != "" {
		ks = append(ks, "x:"+id.extID)
	}
	if id.phone != "" {
		ks = append(ks, "p:"+id.phone)
	}
	return ks
}

// run forms requests until the sink closes.
func (d *dispatcher) run() {
	stepLoop(d.ctx, &d.mu, d.kick, d.step)
}

// stepLoop runs step (under mu) until ctx ends, and between two steps
// waits for what the last one asked: its wait, its changed channel, or a
// kick.
func stepLoop(ctx context.Context, mu *sync.Mutex, kick <-chan struct{}, step func() (time.Duration, <-chan struct{})) {
	for {
		mu.Lock()
		wait, changed := step()
		mu.Unlock()
		pause(ctx, wait, kick, changed)
		if ctx.Err() != nil {
			return
		}
	}
}

// lockable reports whether q's contact is free, or locked by its own batch.
func (d *dispatcher) lockable(q *queued) bool {
	for _, k := range q.keys {
		if l := d.locks[k]; l != nil && l.seq != q.seq {
			return false
		}
	}
	return true
}

func (d *dispatcher) lock(q *queued) {
	q.locked = true
	for _, k := range q.keys {
		l := d.locks[k]
		if l == nil {
			l = &contactLock{seq: q.seq}
			d.locks[k] = l
		}
		l.n++
	}
}

// step sends what can go now (see the top of the file) and says what to
// wait for before the next step: a time (the rate window) or changed (a
// contacts request finished); a new work or a finished one kicks it too.
// Caller holds mu.
func (d *dispatcher) step() (wait time.Duration, changed <-chan struct{}) {
	s := d.s
	waiting := map[string]bool{} // keys of works still queued: later ones wait behind
	hold := func(q *queued) {
		for _, k := range q.keys {
			waiting[k] = true
		}
	}
	behind := func(q *queued) bool {
		for _, k := range q.keys {
			if waiting[k] {
				return true
			}
		}
		return false
	}
	groups := map[int64][]*queued{}
	var lists []int64
	for _, q := range d.queue {
		if q.gone || q.locked {
			continue
		}
		if behind(q) || !d.lockable(q) {
			hold(q)
			continue
		}
		switch id := d.importList(q.w); {
		case !q.w.del && !q.w.upsert:
			d.lock(q) // list changes only: they follow in its Write
			close(q.done)
		case id != 0:
			if groups[id] == nil {
				lists = append(lists, id)
			}
			groups[id] = append(groups[id], q)
			hold(q)
		case d.singles < maxSingles:
			d.lock(q)
			d.singles++
			go d.single(q, false)
		default:
			hold(q)
		}
	}
	th := s.cfg.ImportThreshold
	// An import starts with a share of a full one, or with what waits once
	// no more can join soon: what gathers meanwhile makes one large import
	// rather than many small ones, each a request and its polls.
	more := max(th, s.cfg.Batch.Import.MaxRecords/max(s.cfg.Import.InFlight, 1))
	full := d.open >= s.Pipeline() // the engine can hand no more Writes
	quiet := time.Until(d.arrived.Add(quietFor))
	for _, id := range lists {
		g := groups[id]
		polls := true // the poll budget leaves one for a new import
		for th > 0 && len(g) >= th && d.imports < s.cfg.Import.InFlight {
			if ok, w := s.imports.room(d.imports); !ok {
				if w < 0 {
					// Only a running import's end makes room: the
					// contacts go alone meanwhile.
					polls = false
					break
				}
				if !d.outwaits(len(g), w) {
					// An import started now would wait for a poll longer
					// than the contacts take alone: they go alone while
					// Brevo has room, and what gathers meanwhile makes
					// one import once the budget has room.
					polls = false
					if wait == 0 || w < wait {
						wait = w
					}
					break
				}
			}
			if len(g) < more && !full && quiet > 0 {
				if wait == 0 || quiet < wait {
					wait = quiet // then it starts with what waits
				}
				break
			}
			n := min(len(g), s.cfg.Batch.Import.MaxRecords)
			for _, q := range g[:n] {
				d.lock(q)
			}
			d.imports++
			d.importing += n
			go d.importRun(id, g[:n])
			g = g[n:]
		}
		if th > 0 && len(g) >= th && polls {
			continue // enough for an import: wait for a slot
		}
		for len(g) > 0 && d.lone < maxSingles {
			free, w, ch := s.disc.Ready(groupContacts)
			if d.lone >= free {
				// Brevo has no room now: they gather for an import.
				changed = ch
				if w > 0 && (wait == 0 || w < wait) {
					wait = w
				}
				break
			}
			d.lock(g[0])
			d.lone++
			go d.single(g[0], true)
			g = g[1:]
		}
	}
	keep := d.queue[:0]
	for _, q := range d.queue {
		if !q.gone && !q.locked {
			keep = append(keep, q)
		}
	}
	clear(d.queue[len(keep):])
	d.queue = keep
	return wait, changed
}

// outwaits reports whether n contacts written alone, at the contacts
// rate, would take longer than w, the wait for the poll budget to have
// room for an import: then the import is the sooner way, though it waits
// for its poll.
func (d *dispatcher) outwaits(n int, w time.Duration) bool {
	r := d.s.disc.Rate(groupContacts)
	if r <= 0 {
		return true // no rate to wait for: an import costs nothing more
	}
	return time.Duration(n)*time.Second/time.Duration(r) > w
}

// importList is the all_customers list w can be imported into, 0 when it
// must be written alone.
func (d *dispatcher) importList(w *contactWork) int64 {
	if w.del || !w.upsert || len(w.all) != 1 || !d.s.importable(w) {
		return 0
	}
	for id := range w.all {
		return id
	}
	return 0
}

func (d *dispatcher) single(q *queued, lone bool) {
	w := q.w
	var err error
	if w.del {
		err = d.s.deleteContact(d.ctx, w)
	}
	if err == nil && w.upsert {
		err = d.s.upsertOne(d.ctx, w)
	}
	if err != nil {
		w.failed = true
		w.out.setAll(w.recs, err)
	}
	d.mu.Lock()
	if lone {
		d.lone--
	} else {
		d.singles--
	}
	close(q.done)
	d.mu.Unlock()
	d.wake()
}

func (d *dispatcher) importRun(list int64, qs []*queued) {
	works := make([]*contactWork, len(qs))
	for i, q := range qs {
		works[i] = q.w
	}
	d.s.importContacts(d.ctx, list, works)
	d.mu.Lock()
	d.imports--
	d.importing -= len(qs)
	for _, q := range qs {
		close(q.done)
	}
	d.mu.Unlock()
	d.wake()
}

// counts is what /status shows of the queue: contacts waiting to be sent,
// contacts written alone in flight, contacts in running imports, and
// imports in flight.
func (d *dispatcher) counts() (waiting, sending, importing, imports int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.queue {
		if !q.gone && !q.locked {
			waiting++
		}
	}
	return waiting, d.singles + d.lone, d.importing, d.imports
}
