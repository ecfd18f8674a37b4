package pipeline_test

import (
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

// countingSource reads nothing and counts what it refused, like the
// Shopify source's unsigned webhook requests.
type countingSource struct{ refused atomic.Int64 }

func (*countingSource) Open(context.Context) error { return nil }
func (*countingSource) Read(ctx context.Context, _ int) ([]*pipeline.Record, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (*countingSource) Ack(context.Context, []pipeline.Position) error { return nil }
func (*countingSource) Close(context.Context) error                    { return nil }
func (s *countingSource) Counters() map[string]int64 {
	return map[string]int64{"unauthenticated": s.refused.Load()}
}

var counting = &countingSource{}

func init() {
	pipeline.RegisterSource("counting", func() any { return &struct{}{} }, func(any, pipeline.Env) (pipeline.Source, error) {
		return counting, nil
	})
}

// statusOf runs the counting source into sinks (YAML lines under sinks:)
// with a control listener, and returns a GET /status of the run, decoded
// into v.
func statusOf(t *testing.T, sinks string) func(v any) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: "127.0.0.1:0"}
broker: none
sources:
  counting: {}
sinks:
%s`, dir, sinks)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	r := pipeline.NewRunner(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); r.ControlAddr() == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the control listener never started")
		}
	}
	token, err := os.ReadFile(filepath.Join(dir, "control.token"))
	if err != nil {
		t.Fatal(err)
	}
	return func(v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+r.ControlAddr()+"/status", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
}

// GET /status shows a source's own counts (pipeline.Counter) under its
// name: the Shopify source's unauthenticated requests, which never become
// records and so are in no flow's counters.
func TestStatusShowsSourceCounters(t *testing.T) {
	counting.refused.Store(7)
	get := statusOf(t, "  control_probe: {}\n")
	var st struct {
		Sources []pipeline.SourceStatus `json:"sources"`
	}
	get(&st)
	if len(st.Sources) != 1 || st.Sources[0].Name != "counting" || st.Sources[0].Counters["unauthenticated"] != 7 {
		t.Fatalf("/status sources: %+v", st.Sources)
	}
}
