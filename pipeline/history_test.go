package pipeline

import (
	"context"
	"testing"
	"time"
)

// While the history cannot be written, the other sinks still deliver but
// nothing is acked: the history is one of the sinks invariant 1 waits for.
func TestHistoryDownHoldsCommits(t *testing.T) {
	in := &fakeInput{n: 300}
	brevo := &funcSink{}
	hist := &memRecorder{fails: 1 << 30}
	f := newFlow("t", in, nil, []NamedSink{{"brevo", brevo}, {"history", hist}}, &memDeadLetters{}, testPipelineConfig(), quietLog())
	f.useHistory("history", hist)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.run(ctx) }()
	waitFor(t, "brevo to have every record", func() bool { return brevo.deliveredCount() == 300 })
	time.Sleep(50 * time.Millisecond) // the history keeps retrying meanwhile
	cancel()
	<-done
	if n := in.ackedCount(); n != 0 {
		t.Fatalf("acked %d records whose history was never stored", n)
	}
}

// Each record reaches the history once, in one entry holding the outcome
// of every other sink, whatever the sinks' batches and retries; filtered
// records once too, with the transform's outcome.
func TestHistoryEntryPerRecord(t *testing.T) {
	in := &fakeInput{n: 500, lanes: 3}
	flaky := 0
	a := &funcSink{write: func(batch []*Record) error {
		errs := make([]error, len(batch))
		for i, r := range batch {
			if value(r)%3 == 0 && flaky < 20 {
				flaky++
				errs[i] = Retry(context.DeadlineExceeded)
			}
		}
		return &BatchError{Errs: errs}
	}}
	b := &funcSink{}
	hist := &memRecorder{fails: 2}
	chain := []NamedTransform{{"drop_tenth", transformFunc(func(r *Record) ([]*Record, error) {
		if value(r)%10 == 0 {
			return nil, Skip("duplicate event id")
		}
		return []*Record{r}, nil
	})}}
	f := newFlow("t", in, chain, []NamedSink{{"a", a}, {"b", b}, {"history", hist}}, &memDeadLetters{}, testPipelineConfig(), quietLog())
	f.useHistory("history", hist)
	if err := f.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(hist.entries) != 500 {
		t.Fatalf("%d records reached the history, want 500", len(hist.entries))
	}
	for v, n := range hist.entries {
		if n != 1 {
			t.Fatalf("record %d reached the history in %d entries", v, n)
		}
	}
	per := map[int]map[string]int{}
	for _, o := range hist.outs {
		v := value(o.Record)
		if per[v] == nil {
			per[v] = map[string]int{}
		}
		per[v][o.Stage]++
	}
	for v, stages := range per {
		want := map[string]int{"a": 1, "b": 1}
		if v%10 == 0 {
			want = map[string]int{"transform:drop_tenth": 1}
		}
		if len(stages) != len(want) || stages["a"] != want["a"] || stages["b"] != want["b"] || stages["transform:drop_tenth"] != want["transform:drop_tenth"] {
			t.Fatalf("record %d: outcomes %v, want %v", v, stages, want)
		}
	}
	if hist.own != 450 {
		t.Errorf("%d entries with the history's own copy, want 450 (the records not filtered)", hist.own)
	}
	if in.ackedCount() != 500 {
		t.Fatalf("acked %d, want 500", in.ackedCount())
	}
}
