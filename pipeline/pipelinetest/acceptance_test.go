package pipelinetest

import (
	"context"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// memSink stores ids; it checks the suite itself against a known-good sink.
type memSink struct{ ids []string }

func (m *memSink) Open(context.Context) error  { return nil }
func (m *memSink) Close(context.Context) error { return nil }
func (m *memSink) Write(_ context.Context, b []*pipeline.Record) error {
	for _, r := range b {
		ev, err := schemas.DecodeEvent(r.Value)
		if err != nil {
			return pipeline.Reject("invalid", err)
		}
		m.ids = append(m.ids, ev.ID)
	}
	return nil
}

func TestSuiteAcceptsAGoodSink(t *testing.T) {
	m := &memSink{}
	SinkAcceptance(t, SinkHarness{
		New:       func(*testing.T) pipeline.Sink { return m },
		Delivered: func(*testing.T) []string { return m.ids },
	})
}

func TestEventsAreValidEnvelopes(t *testing.T) {
	seen := map[string]bool{}
	for i, r := range Events(100) {
		ev, err := schemas.DecodeEvent(r.Value)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if seen[ev.ID] {
			t.Fatalf("duplicate id %s", ev.ID)
		}
		seen[ev.ID] = true
	}
}
