package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/config"
)

// The backoff is the one pipeline.retry describes: initial, then ×
// multiplier after each failure, capped at max, spread by ±jitter.
func TestBackoffFollowsTheRetryKeys(t *testing.T) {
	parse := func(retry string) config.Retry {
		t.Helper()
		cfg, err := config.Parse([]byte("version: 1\ndata_dir: "+t.TempDir()+"\npipeline: {retry: "+retry+"}\n"), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Pipeline.Retry
	}
	r := parse("{initial: 100ms, max: 1s, multiplier: 3, jitter: 0}")
	want := []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 900 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if got := backoff(r, i+1); got != w {
			t.Errorf("initial 100ms, multiplier 3, max 1s: wait before retry %d is %s, want %s", i+1, got, w)
		}
	}
	// jitter 0.5 spreads the first wait over 50ms..150ms, and uses the
	// range: 1000 draws reach its outer tenths at both ends.
	r = parse("{initial: 100ms, max: 1s, multiplier: 3, jitter: 0.5}")
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := backoff(r, 1)
		if d < 50*time.Millisecond || d > 150*time.Millisecond {
			t.Fatalf("jitter 0.5 gave a first wait of %s, outside 50ms..150ms", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 60*time.Millisecond || hi < 140*time.Millisecond {
		t.Errorf("jitter 0.5: first waits span %s..%s, want about 50ms..150ms", lo, hi)
	}
}

// A flow waits pipeline.retry.initial before retrying a failed write: an
// hour's initial wait holds the second attempt, a millisecond's does not.
func TestRetryInitialIsTheFlowsFirstWait(t *testing.T) {
	calls := func(initial time.Duration, window time.Duration) int64 {
		sink := &funcSink{}
		sink.write = func([]*Record) error {
			if sink.calls.Load() == 1 {
				return Retry(errors.New("503 from the service"))
			}
			return nil
		}
		cfg := testPipelineConfig()
		cfg.Retry = config.Retry{Initial: initial, Max: 2 * time.Hour, Multiplier: 2}
		cfg.ShutdownTimeout = 50 * time.Millisecond // the stop cuts the hour's wait short
		f := newFlow("t", &heldInput{n: 1}, nil, []NamedSink{{"s", sink}}, &memDeadLetters{}, cfg, quietLog())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.run(ctx) }()
		for deadline := time.Now().Add(window); time.Now().Before(deadline) && sink.calls.Load() < 2; {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return sink.calls.Load()
	}
	if n := calls(time.Hour, 300*time.Millisecond); n != 1 {
		t.Errorf("retry.initial 1h: %d writes within 300ms, want 1 (the retry waits an hour)", n)
	}
	if n := calls(time.Millisecond, 10*time.Second); n != 2 {
		t.Errorf("retry.initial 1ms: %d writes within 10s, want 2", n)
	}
}

// heldInput emits n records and then holds, like a source with nothing new.
type heldInput struct{ n int }

func (h *heldInput) run(ctx context.Context, emit func(int32, any, *Record) bool) error {
	for i := range h.n {
		if !emit(0, i, &Record{Value: []byte("0")}) {
			return nil
		}
	}
	<-ctx.Done()
	return nil
}

func (*heldInput) ack(context.Context, map[int32][]any) error { return nil }
func (*heldInput) ackEvery() time.Duration                    { return 0 }

// pipeline.batch_wait is how long a partial batch waits to fill: three
// records of a batch of 100 reach the sink after 20ms, not while an
// hour's wait runs.
func TestBatchWaitFlushesAPartialBatch(t *testing.T) {
	writes := func(wait, window time.Duration) int64 {
		sink := &funcSink{}
		cfg := testPipelineConfig()
		cfg.BatchSize, cfg.BatchWait = 100, wait
		f := newFlow("t", &heldInput{n: 3}, nil, []NamedSink{{"s", sink}}, &memDeadLetters{}, cfg, quietLog())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.run(ctx) }()
		for deadline := time.Now().Add(window); time.Now().Before(deadline) && sink.calls.Load() == 0; {
			time.Sleep(5 * time.Millisecond)
		}
		n := sink.calls.Load()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n > 0 && sink.deliveredCount() != 3 {
			t.Errorf("batch_wait %s: delivered %d records, want the 3 in one batch", wait, sink.deliveredCount())
		}
		return n
	}
	if n := writes(time.Hour, 300*time.Millisecond); n != 0 {
		t.Errorf("batch_wait 1h: the partial batch was written within 300ms (%d writes)", n)
	}
	if n := writes(20*time.Millisecond, 10*time.Second); n != 1 {
		t.Errorf("batch_wait 20ms: %d writes within 10s, want the partial batch written once", n)
	}
}
