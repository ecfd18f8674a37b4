package pipeline_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
)

// rejectTenth rejects every 10th generated event (by the number in its
// entity) and delivers the rest to a file sink.
type rejectTenth struct{ delivered []string }

func (s *rejectTenth) Open(context.Context) error  { return nil }
func (s *rejectTenth) Close(context.Context) error { return nil }
func (s *rejectTenth) Write(_ context.Context, batch []*pipeline.Record) error {
	errs := make([]error, len(batch))
	any := false
	for i, r := range batch {
		ev, err := schemas.DecodeEvent(r.Value)
		if err != nil {
			return pipeline.Stop(err)
		}
		if n := seqOf(ev); n%10 == 0 {
			errs[i] = pipeline.Reject("invalid_parameter", fmt.Errorf("event %d: email is not valid", n))
			any = true
			continue
		}
		s.delivered = append(s.delivered, ev.ID)
	}
	if !any {
		return nil
	}
	return &pipeline.BatchError{Errs: errs}
}

// seqOf recovers the generator's sequence number from the event time
// (one second apart from 2026-01-01).
func seqOf(ev *schemas.Event) int64 {
	return int64(ev.OccurredAt.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) / time.Second)
}

var rejectSink = &rejectTenth{}

func init() {
	pipeline.RegisterSink("reject_tenth", func() any { return &struct{}{} }, func(any, pipeline.Env) (pipeline.Sink, error) {
		return rejectSink, nil
	})
}

func TestRunnerDeadLettersRejectedRecordsToFile(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: none
sources:
  generator: {count: 1000, rate: 0}
sinks:
  reject_tenth: {}
`, dir)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	if err := pipeline.NewRunner(cfg, log).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rejectSink.delivered) != 900 {
		t.Fatalf("delivered %d, want 900", len(rejectSink.delivered))
	}
	f, err := os.Open(filepath.Join(dir, "dead-letter.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var line struct {
			Stage, Class, Code, Reason, Key string
			Payload                         json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		ev, err := schemas.DecodeEvent(line.Payload)
		if err != nil {
			t.Fatalf("dead letter payload is not the event: %v", err)
		}
		want := fmt.Sprintf("event %d: email is not valid", seqOf(ev))
		if line.Stage != "sink:reject_tenth" || line.Class != "rejected" || line.Code != "invalid_parameter" || line.Reason != want || line.Key != ev.Shop {
			t.Fatalf("dead letter %s", sc.Bytes())
		}
		n++
	}
	if n != 100 {
		t.Fatalf("%d dead letters, want 100", n)
	}
	// The source position advanced past the rejected records: a second run
	// has nothing left to do.
	rejectSink.delivered = nil
	if err := pipeline.NewRunner(cfg, log).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rejectSink.delivered) != 0 {
		t.Fatalf("second run redelivered %d records", len(rejectSink.delivered))
	}
}

func TestRunnerReportsMissingComponents(t *testing.T) {
	cfg, _ := config.Parse([]byte("version: 1\ndata_dir: "+t.TempDir()+"\nserver: {listen: \"\"}\ncontrol: {listen: \"\"}\nsinks: {file: {path: o}}\nsources: {generator: {enabled: false}}\n"), func(string) (string, bool) { return "", false })
	err := pipeline.NewRunner(cfg, logrus.New()).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no source is enabled") {
		t.Fatalf("want a clear error, got %v", err)
	}
}
