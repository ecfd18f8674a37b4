package pipeline

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// pipelinedSink lets up to n writes run at once and records what each saw.
type pipelinedSink struct {
	n       int
	mu      sync.Mutex
	active  int
	peak    int
	seqs    map[uint64][]int // batch number → first record of each call
	failFor uint64           // the batch whose first call fails (retryable)
	failed  atomic.Bool
	release chan struct{}
}

func (s *pipelinedSink) Open(context.Context) error  { return nil }
func (s *pipelinedSink) Close(context.Context) error { return nil }
func (s *pipelinedSink) Pipeline() int               { return s.n }

func (s *pipelinedSink) Write(ctx context.Context, batch []*Record) error {
	seq := BatchSeq(ctx)
	first, _ := strconv.Atoi(string(batch[0].Value))
	s.mu.Lock()
	s.active++
	s.peak = max(s.peak, s.active)
	s.seqs[seq] = append(s.seqs[seq], first)
	s.mu.Unlock()
	<-s.release
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
	if seq == s.failFor && s.failed.CompareAndSwap(false, true) {
		return Retry(errors.New("503"))
	}
	return nil
}

// A PipelinedSink gets up to Pipeline() writes at once, each batch
// numbered in the order it was handed over (a retry keeps its number),
// and every record is still acked, in order.
func TestPipelinedSinkOverlapsWritesInOrder(t *testing.T) {
	in := &fakeInput{n: 2000}
	sink := &pipelinedSink{n: 4, seqs: map[uint64][]int{}, failFor: 3, release: make(chan struct{})}
	cfg := testPipelineConfig()
	f := newFlow("t", in, nil, []NamedSink{{"s", sink}}, &memDeadLetters{}, cfg, quietLog())
	done := make(chan error)
	go func() { done <- f.run(context.Background()) }()
	waitFor(t, "four writes in flight", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.active == 4
	})
	close(sink.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sink.peak != 4 {
		t.Fatalf("at most %d writes at once, want Pipeline() = 4", sink.peak)
	}
	if got := in.ackedCount(); got != 2000 {
		t.Fatalf("acked %d, want 2000", got)
	}
	// Batch k starts where batch k-1 ended: the numbers are the order.
	last := -1
	for seq := uint64(1); seq <= uint64(len(sink.seqs)); seq++ {
		calls := sink.seqs[seq]
		if len(calls) == 0 {
			t.Fatalf("no batch numbered %d of %d", seq, len(sink.seqs))
		}
		if calls[0] <= last {
			t.Fatalf("batch %d starts at record %d, after batch %d's %d", seq, calls[0], seq-1, last)
		}
		last = calls[0]
		if seq == sink.failFor && len(calls) != 2 {
			t.Fatalf("batch %d was written %d times, want its retry under the same number", seq, len(calls))
		}
	}
}
