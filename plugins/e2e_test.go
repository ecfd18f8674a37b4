package plugins_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	"github.com/tajo/tajo/plugins"
	_ "github.com/tajo/tajo/sinks/file"
)

type e2eConfig struct {
	Count uint64 `yaml:"count"`
}

func init() {
	// The built-in echo plugin is this test binary (see TestMain).
	pipeline.RegisterConnector("echo_e2e", func() any { return &e2eConfig{} }, plugins.ConnectorFactory("echo"))
}

// TestRunnerEndToEnd runs the real engine with the embedded Kafka broker
// and a plugin connector: generated records and a webhook's record go
// through Kafka to the file sink, and the webhook is answered 200 once its
// record is on Kafka.
func TestRunnerEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded broker")
	}
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: "127.0.0.1:0"}
control: {listen: ""}
connectors:
  echo_e2e: {count: 3}
sinks:
  file: {path: out.jsonl}
`, dir)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log, _ := testLog(t)
	r := pipeline.NewRunner(cfg, log.Logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runner: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("runner did not stop")
		}
	}()
	eventually(t, 60*time.Second, "the HTTP server", func() bool { return r.Addr() != "" })

	event := pipelinetest.Events(1)[0].Value
	resp, err := http.Post("http://"+r.Addr()+"/webhooks/echo_e2e", "application/json", bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook answered %d %q", resp.StatusCode, body)
	}
	out := filepath.Join(dir, "out.jsonl")
	eventually(t, 30*time.Second, "the webhook's event and the generated records in the sink", func() bool {
		b, _ := os.ReadFile(out)
		return bytes.Contains(b, event) && bytes.Count(b, []byte(`{"seq":`)) == 3
	})
}
