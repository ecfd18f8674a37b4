package pipeline

import (
	"sync"
)

// tracker keeps, per lane (a Kafka partition, or a source), the records
// taken in and not yet acknowledged upstream, and releases them only in
// order: a record's ack payload (its offset or position) becomes ready once
// it and every record before it in its lane are handled. This is where
// "commit only the highest contiguous handled offset" is enforced.
//
// It is also the back-pressure: at most max records, and at most maxBytes
// of their encoded values, are tracked at once (a record larger than
// maxBytes alone still passes), and Track blocks until older ones are
// released.
type tracker struct {
	mu       sync.Mutex
	cond     *sync.Cond
	max      int
	maxBytes int
	n        int // tracked and not yet released
	bytes    int // the sizes of those
	lanes    map[int32]*lane
	ready    map[int32][]any // released payloads waiting for the acker
	signal   chan struct{}   // non-blocking "something is ready"
	closed   bool
	pending  int // payloads in ready
}

type lane struct {
	base  uint64 // sequence number of slots[0]
	slots []slot
}

type slot struct {
	done    bool
	size    int
	payload any
}

// ticket identifies one tracked record.
type ticket struct {
	lane int32
	seq  uint64
}

func newTracker(max, maxBytes int) *tracker {
	t := &tracker{max: max, maxBytes: maxBytes, lanes: map[int32]*lane{}, ready: map[int32][]any{}, signal: make(chan struct{}, 1)}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// track registers the next record of a lane, of size bytes, blocking while
// the limits are reached. It returns false if the tracker was closed while
// waiting.
func (t *tracker) track(laneID int32, payload any, size int) (ticket, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for (t.n >= t.max || (t.n > 0 && t.maxBytes > 0 && t.bytes+size > t.maxBytes)) && !t.closed {
		t.cond.Wait()
	}
	if t.closed {
		return ticket{}, false
	}
	l := t.lanes[laneID]
	if l == nil {
		l = &lane{}
		t.lanes[laneID] = l
	}
	seq := l.base + uint64(len(l.slots))
	l.slots = append(l.slots, slot{payload: payload, size: size})
	t.n++
	t.bytes += size
	return ticket{lane: laneID, seq: seq}, true
}

// done marks a record handled and releases every record of its lane that is
// now contiguous from the head.
func (t *tracker) done(tk ticket) {
	t.mu.Lock()
	l := t.lanes[tk.lane]
	l.slots[tk.seq-l.base].done = true
	released := 0
	for released < len(l.slots) && l.slots[released].done {
		t.ready[tk.lane] = append(t.ready[tk.lane], l.slots[released].payload)
		t.bytes -= l.slots[released].size
		l.slots[released] = slot{}
		released++
	}
	if released > 0 {
		l.slots = l.slots[released:]
		l.base += uint64(released)
		// Give the backing array back once it is mostly empty.
		if cap(l.slots) > 1024 && len(l.slots) < cap(l.slots)/4 {
			l.slots = append(make([]slot, 0, len(l.slots)*2), l.slots...)
		}
		t.n -= released
		t.pending += released
		t.cond.Broadcast()
	}
	t.mu.Unlock()
	if released > 0 {
		select {
		case t.signal <- struct{}{}:
		default:
		}
	}
}

// take returns and clears the released payloads, per lane, in order.
func (t *tracker) take() map[int32][]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == 0 {
		return nil
	}
	out := t.ready
	t.ready = map[int32][]any{}
	t.pending = 0
	return out
}

// inFlight reports how many records are tracked and not yet released.
func (t *tracker) inFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// close wakes every blocked track call; they return false.
func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	t.cond.Broadcast()
	t.mu.Unlock()
}
