package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	_ "github.com/tajo/tajo/sinks/file"
	_ "github.com/tajo/tajo/sources/generator"
)

// BenchmarkPipeline measures generator → sink end to end, one op = one
// event, counted in the output file (what reached the sink, not engine
// counters). "none" (no Kafka) is the baseline the Kafka runs compare to;
// run with -benchtime=100000x so start-up is amortised.
func BenchmarkPipeline(b *testing.B) {
	for _, bc := range []struct{ name, broker string }{
		{"generator-file-nobroker", "broker: none"},
		{"generator-kafka-file", "broker: {embedded: {fsync: false}}"},
		{"generator-kafka-file-fsync", "broker: {embedded: {fsync: true}}"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			yaml := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
%s
pipeline: {progress_interval: 1h, batch_size: 1000, max_in_flight: 20000}
sources:
  generator: {count: %d, rate: 0, shops: [a.myshopify.com, b.myshopify.com, c.myshopify.com, d.myshopify.com]}
sinks:
  file: {path: out.jsonl}
`, dir, bc.broker, b.N)
			cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
			if err != nil {
				b.Fatal(err)
			}
			log := logrus.New()
			log.SetOutput(io.Discard)
			r := pipeline.NewRunner(cfg, log)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			out := filepath.Join(dir, "out.jsonl")
			b.ReportAllocs()
			b.ResetTimer()
			go func() { done <- r.Run(ctx) }()
			var first time.Time
			finished := false
			for !finished {
				n := delivered(r)
				if n > 0 && first.IsZero() {
					first = time.Now()
				}
				if n >= b.N {
					break
				}
				select {
				case err := <-done:
					// Without a broker a bounded source ends the run.
					if err != nil {
						b.Fatalf("runner stopped: %v", err)
					}
					finished = true
				case <-time.After(2 * time.Millisecond):
				}
			}
			steady := time.Since(first)
			b.StopTimer()
			cancel()
			if !finished {
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
			if n := countLines(out); n != b.N {
				b.Fatalf("%d lines in the sink, want %d", n, b.N)
			}
			if steady > 0 {
				b.ReportMetric(float64(b.N)/steady.Seconds(), "events/s")
			}
		})
	}
}

// delivered is how many records reached the sinks of the last flow (the
// processing flow, or the only one without a broker).
func delivered(r *pipeline.Runner) int {
	st := r.Stats()
	if len(st) == 0 {
		return 0
	}
	return int(st[len(st)-1].Delivered)
}

func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}
