package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/tajo/tajo/pipeline"
)

// budgetSink has a status of its own (pipeline.StatusReporter), like the
// Brevo sink's rate budget, read anew at every call.
type budgetSink struct{ waiting atomic.Int64 }

func (*budgetSink) Open(context.Context) error                      { return nil }
func (*budgetSink) Close(context.Context) error                     { return nil }
func (*budgetSink) Write(context.Context, []*pipeline.Record) error { return nil }
func (s *budgetSink) Status() any {
	return map[string]any{"contacts_waiting": s.waiting.Load()}
}

var budget = &budgetSink{}

func init() {
	pipeline.RegisterSink("budget_probe", func() any { return &struct{}{} }, func(any, pipeline.Env) (pipeline.Sink, error) {
		return budget, nil
	})
}

// GET /status lists a sink's own status (pipeline.StatusReporter) under
// "sinks" by the sink's name, as it is at the request; a sink without one
// (control_probe) is not listed.
func TestStatusShowsSinkStatus(t *testing.T) {
	status := statusOf(t, "  budget_probe: {}\n  control_probe: {}\n")
	get := func() string {
		t.Helper()
		var st struct {
			Sinks json.RawMessage `json:"sinks"`
		}
		status(&st)
		var b bytes.Buffer
		if err := json.Compact(&b, st.Sinks); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	budget.waiting.Store(3)
	if got, want := get(), `[{"name":"budget_probe","status":{"contacts_waiting":3}}]`; got != want {
		t.Fatalf("/status sinks: %s, want %s", got, want)
	}
	budget.waiting.Store(5)
	if got, want := get(), `[{"name":"budget_probe","status":{"contacts_waiting":5}}]`; got != want {
		t.Fatalf("/status sinks after a change: %s, want %s", got, want)
	}
}
