package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
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
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: "127.0.0.1:0"}
broker: none
sources:
  counting: {}
sinks:
  budget_probe: {}
  control_probe: {}
`, dir)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	r := pipeline.NewRunner(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); r.ControlAddr() == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the control listener never started")
		}
	}
	token, err := os.ReadFile(filepath.Join(dir, "control.token"))
	if err != nil {
		t.Fatal(err)
	}
	get := func() string {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+r.ControlAddr()+"/status", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct {
			Sinks json.RawMessage `json:"sinks"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
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
