package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// This file is the history path of a flow: the sink that history.sink
// names is not one of the fan-out sinks. It receives each record once,
// after every other sink has handled it, together with what happened to
// it there and in the transforms, so it decodes the record once and
// writes one batch per table. The record is released (and so acked) only
// once that write succeeded: invariant 1 counts the history as a sink.

// HistorySink is a sink that can keep the sync history (history.sink):
// each record's own copy and the outcomes of the other sinks and the
// transforms, the webhook log and the connection checks. The engine never
// calls its Write in a flow that keeps history; it hands it HistoryEntries.
type HistorySink interface {
	Sink
	// RecordHistory stores one batch of entries. Like Write it returns
	// nil, a classified error for the whole batch, or a *BatchError with
	// one error per entry: a Rejected entry's own copy goes to the
	// dead-letter path, a Retryable one is offered again with the entries
	// that are left. Storing an entry twice is harmless: rows are keyed by
	// event id and stage.
	RecordHistory(ctx context.Context, entries []HistoryEntry) error
	WebhookLogger
	CheckRecorder
}

// HistoryEntry is one record, once, with everything that happened to it.
type HistoryEntry struct {
	Record *Record
	// Own is true when the record is routed to the history sink itself
	// (Record.Sinks allows it): the sink stores it as its own Write would
	// (its delivered row, the commerce amounts). False for a record only
	// other sinks or the transforms saw.
	Own bool
	// Outcomes are what the other sinks and the transforms did with
	// Record, in the order they finished.
	Outcomes []Outcome
}

// history is a flow's history sink and the queue of batches that every
// other sink has handled.
type history struct {
	name string
	sink HistorySink
	ch   chan *historyBatch
}

// historyBatch gathers the entries of one processed batch while the fan-out
// sinks deliver it; the last sink to finish hands it to the history.
type historyBatch struct {
	f       *flow
	mu      sync.Mutex
	entries []HistoryEntry
	index   map[*Record]int // entry of each record
	refs    []*ackRef       // one hold per input record, released after the write
	pending int             // shares not yet reported: one per sink batch, one for process
}

func newHistoryBatch(f *flow, n int) *historyBatch {
	return &historyBatch{f: f, index: make(map[*Record]int, n), refs: make([]*ackRef, 0, n)}
}

// hold keeps ref unreleased until the batch is in the history.
func (b *historyBatch) hold(ref *ackRef) {
	if b == nil {
		return
	}
	ref.pending.Add(1)
	b.refs = append(b.refs, ref)
}

// entry returns the index of rec's entry, adding it (own: routed to the
// history sink) the first time. Called by process only, before the batch
// is shared.
func (b *historyBatch) entry(rec *Record, own bool) int {
	if i, ok := b.index[rec]; ok {
		b.entries[i].Own = b.entries[i].Own || own
		return i
	}
	b.index[rec] = len(b.entries)
	b.entries = append(b.entries, HistoryEntry{Record: rec, Own: own})
	return len(b.entries) - 1
}

// note adds outcomes of the transforms (each under its own record's entry).
func (b *historyBatch) note(outs []Outcome) {
	if b == nil {
		return
	}
	for _, o := range outs {
		i := b.entry(o.Record, false)
		b.entries[i].Outcomes = append(b.entries[i].Outcomes, o)
	}
}

// entryOutcome is an outcome for the entry at ent.
type entryOutcome struct {
	ent int
	o   Outcome
}

// report adds one sink batch's outcomes; the last share hands the batch to
// the history. False when the flow failed meanwhile.
func (b *historyBatch) report(outs []entryOutcome) bool {
	b.mu.Lock()
	for _, eo := range outs {
		b.entries[eo.ent].Outcomes = append(b.entries[eo.ent].Outcomes, eo.o)
	}
	b.pending--
	last := b.pending == 0
	b.mu.Unlock()
	if !last {
		return true
	}
	select {
	case b.f.history.ch <- b:
		return true
	case <-b.f.failed:
		return false
	}
}

// historyLoop writes the batches every other sink has handled, in the
// order they complete.
func (f *flow) historyLoop(ctx context.Context) {
	h := f.history
	for b := range h.ch {
		if !f.recordHistory(ctx, h, b) {
			for range h.ch {
			}
			return
		}
	}
}

// recordHistory writes a batch's entries until each is stored or its own
// copy dead-lettered, then releases the batch's records.
func (f *flow) recordHistory(ctx context.Context, h *history, b *historyBatch) bool {
	ents := b.entries
	recs := make([]*Record, len(ents))
	for i := range ents {
		recs[i] = ents[i].Record
	}
	ok := f.writeAll(ctx, "sink:"+h.name, recs,
		func(ctx context.Context, idx []int, _ []*Record) error {
			batch := ents
			if len(idx) < len(ents) {
				batch = make([]HistoryEntry, len(idx))
				for j, i := range idx {
					batch[j] = ents[i]
				}
			}
			return h.sink.RecordHistory(ctx, batch)
		},
		func(i int, result, _ string, _ int, _ time.Duration) {
			if result == ResultDelivered && ents[i].Own {
				f.stats.Delivered.Add(1)
			}
		})
	if !ok {
		return false
	}
	releaseAll(b.refs)
	return true
}

// useHistory takes the sink named name out of the fan-out and makes it the
// flow's history.
func (f *flow) useHistory(name string, s HistorySink) {
	f.history = &history{name: name, sink: s, ch: make(chan *historyBatch, 2)}
	for i, w := range f.sinks {
		if w.Name == name {
			f.sinks = append(f.sinks[:i:i], f.sinks[i+1:]...)
			break
		}
	}
}

// namedSink returns the enabled sink that key (history.sink,
// dead_letter.sink) names, as the interface T that role needs. Validation
// refuses the same names earlier (config.Ability, read from the sink's
// registered type); this is the run's own check, for a configuration that
// did not come through it.
func namedSink[T any](byName map[string]Sink, key, name, role, fix string) (T, error) {
	var zero T
	s, ok := byName[name]
	if !ok {
		return zero, fmt.Errorf("%s: %q is not an enabled sink", key, name)
	}
	t, ok := s.(T)
	if !ok {
		return zero, fmt.Errorf("%s: sink %q cannot %s; %s", key, name, role, fix)
	}
	return t, nil
}
