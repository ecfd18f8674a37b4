package pipeline

import (
	"context"
	"testing"
)

// A sink that deliberately sends nothing for a record reports a *SkipError
// as that record's outcome: the record is handled (acked, not retried, not
// dead-lettered) and the history says "skipped" with the sink's reason,
// never "delivered".
func TestSinkSkipIsRecordedAsSkipped(t *testing.T) {
	in := &fakeInput{n: 100}
	var sink *funcSink
	sink = &funcSink{write: func(batch []*Record) error {
		if sink.calls.Load() > 3 {
			return nil // so that a retried skip fails the test instead of hanging it
		}
		errs := make([]error, len(batch))
		for i, r := range batch {
			if value(r)%2 == 0 {
				errs[i] = Skip("test order")
			}
		}
		return &BatchError{Errs: errs}
	}}
	dl := &memDeadLetters{}
	rec := &memRecorder{}
	f := newFlow("t", in, nil, []NamedSink{{"brevo", sink}, {"history", rec}}, dl, testPipelineConfig(), quietLog())
	f.useHistory("history", rec)
	if err := f.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, o := range rec.outs {
		count[o.Stage+"/"+o.Result]++
		if o.Result == ResultSkipped && o.Reason != "test order" {
			t.Fatalf("skip reason %q", o.Reason)
		}
	}
	if count["brevo/skipped"] != 50 || count["brevo/delivered"] != 50 || len(count) != 2 {
		t.Fatalf("outcomes %v, want 50 skipped and 50 delivered", count)
	}
	if len(dl.dls) != 0 {
		t.Fatalf("%d skipped records dead-lettered", len(dl.dls))
	}
	if sink.calls.Load() > 2 {
		t.Fatalf("%d writes: skipped records were retried", sink.calls.Load())
	}
	if in.ackedCount() != 100 {
		t.Fatalf("acked %d, want 100", in.ackedCount())
	}
}
