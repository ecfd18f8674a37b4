package e2e

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
	"github.com/tajo/tajo/pipeline/pipelinetest"
)

// BenchmarkRecencySweep measures one daily sweep over b.N customers with
// orders, end to end (pages of batch_size through the default chain into
// the file sink), counted in the output file: one op = one customer whose
// RECENCY line reached the sink.
func BenchmarkRecencySweep(b *testing.B) {
	for _, broker := range []string{"none", "{embedded: {fsync: false}}"} {
		b.Run(broker, func(b *testing.B) {
			dir := b.TempDir()
			now := time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)
			var in bytes.Buffer
			for i := range b.N {
				in.Write(orderEvent(b, int64(100000+i), int64(1+i), fmt.Sprintf("c%d@example.com", i), now.Add(-5*24*time.Hour)))
			}
			if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), in.Bytes(), 0o600); err != nil {
				b.Fatal(err)
			}
			cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: %s
pipeline: {progress_interval: 1h}
sources:
  file: {path: in.jsonl, follow: true}
sinks:
  file: {path: out.jsonl}
`, dir, broker)), func(string) (string, bool) { return "", false })
			if err != nil {
				b.Fatal(err)
			}
			clock := pipelinetest.NewClock(now)
			log := logrus.New()
			log.SetOutput(io.Discard)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- pipeline.NewRunner(cfg, log, pipeline.WithClock(clock)).Run(ctx) }()
			out := filepath.Join(dir, "out.jsonl")
			lines := func() int {
				data, _ := os.ReadFile(out)
				return bytes.Count(data, []byte("\n"))
			}
			for lines() < b.N {
				time.Sleep(20 * time.Millisecond)
			}
			b.ResetTimer()
			clock.Add(24 * time.Hour)
			for lines() < 2*b.N {
				time.Sleep(5 * time.Millisecond)
			}
			b.StopTimer()
			cancel()
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "customers/s")
		})
	}
}
