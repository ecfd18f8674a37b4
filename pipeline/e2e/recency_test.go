package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/tajo/tajo/schemas"
	_ "github.com/tajo/tajo/sinks/file"
	_ "github.com/tajo/tajo/sources/file"
	_ "github.com/tajo/tajo/transforms"
)

// contactLine is what the file sink wrote for one event.
type contactLine struct {
	ID          string                 `json:"id"`
	Type        string                 `json:"type"`
	Source      string                 `json:"source"`
	Identifiers struct{ Email string } `json:"identifiers"`
	Attrs       map[string]any         `json:"attributes"`
}

func readOut(t *testing.T, path string) []contactLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []contactLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l contactLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, sc.Bytes())
		}
		out = append(out, l)
	}
	return out
}

// orderEvent is an orders/create envelope as the Shopify source writes it.
func orderEvent(t testing.TB, id, customer int64, email string, at time.Time) []byte {
	t.Helper()
	data := fmt.Sprintf(`{"id":%d,"total_price":"80.00","created_at":%q,"customer":{"id":%d,"email":%q},"line_items":[{"product_id":7,"quantity":1,"price":"80.00"}]}`,
		id, at.Format(time.RFC3339), customer, email)
	entity := fmt.Sprint(id)
	ev := schemas.Event{
		Schema: schemas.EventSchema, ID: schemas.NewID("test", "orders/create", entity),
		Source: "shopify", Shop: "shop.myshopify.com", Topic: "orders/create", Type: schemas.TypeOrderPlaced,
		OccurredAt: at, ReceivedAt: at, Entity: schemas.Entity{Kind: schemas.KindOrder, ID: entity},
		Data: json.RawMessage(data),
	}
	b, err := json.Marshal(&ev)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// recencyOf returns zoe's RECENCY in the last line of type typ, or -1.
func recencyOf(lines []contactLine, typ string) float64 {
	r := -1.0
	for _, l := range lines {
		if l.Type == typ && l.Identifiers.Email == "zoe@example.com" {
			if v, ok := l.Attrs["RECENCY"].(float64); ok {
				r = v
			}
		}
	}
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An order placed 10 days ago gives RECENCY 10; a simulated day later the
// daily sweep sends RECENCY 11 through the whole chain to the sink,
// without any new event; a restart the same day sends nothing again.
func TestRecencySweepMovesRecencyOnSimulatedTime(t *testing.T) {
	for _, broker := range []string{"none", "{embedded: {fsync: false}}"} {
		t.Run(broker, func(t *testing.T) {
			dir := t.TempDir()
			now := time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)
			if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), orderEvent(t, 1001, 42, "zoe@example.com", now.Add(-10*24*time.Hour)), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: %s
pipeline: {batch_wait: 5ms, commit_interval: 50ms, progress_interval: 1h, shutdown_timeout: 1s}
sources:
  file: {path: in.jsonl, follow: true}
sinks:
  file: {path: out.jsonl}
`, dir, broker)), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			clock := pipelinetest.NewClock(now)
			run := func() func() {
				log := logrus.New()
				log.SetOutput(io.Discard)
				ctx, cancel := context.WithCancel(context.Background())
				errc := make(chan error, 1)
				go func() { errc <- pipeline.NewRunner(cfg, log, pipeline.WithClock(clock)).Run(ctx) }()
				return func() {
					cancel()
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
				}
			}
			out := filepath.Join(dir, "out.jsonl")
			stop := run()
			waitFor(t, "the order with RECENCY 10", func() bool { return recencyOf(readOut(t, out), schemas.TypeOrderPlaced) == 10 })

			clock.Add(24 * time.Hour)
			waitFor(t, "the sweep's RECENCY 11", func() bool { return recencyOf(readOut(t, out), "customer_recency_updated") == 11 })
			stop()
			lines := readOut(t, out)
			var sweep []contactLine
			for _, l := range lines {
				if l.Type == "customer_recency_updated" {
					sweep = append(sweep, l)
				}
			}
			if len(lines) != 2 || len(sweep) != 1 || sweep[0].Source != "tajo.recency_sweep" || sweep[0].Attrs["ORDER_COUNT"] != 1.0 || sweep[0].Attrs["TOTAL_SPENT"] != 80.0 {
				t.Fatalf("want the order and one sweep event with the contact's attributes, got %+v", lines)
			}

			// A restart later the same day: the sweep already ran, nothing
			// is sent again; the next day's sweep sends RECENCY 12.
			clock.Add(time.Hour)
			stop = run()
			time.Sleep(300 * time.Millisecond)
			if n := len(readOut(t, out)); n != 2 {
				t.Fatalf("a restart the same day sent %d more lines", n-2)
			}
			clock.Add(23 * time.Hour)
			waitFor(t, "the next day's RECENCY 12", func() bool { return recencyOf(readOut(t, out), "customer_recency_updated") == 12 })
			stop()
		})
	}
}
