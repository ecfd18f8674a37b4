package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
)

// sized emits the records of one test, then waits (a webhook source with
// nothing more to say); it counts what was acked.
type sized struct {
	mu    sync.Mutex
	recs  []*pipeline.Record
	acked int
}

func (s *sized) Open(context.Context) error  { return nil }
func (s *sized) Close(context.Context) error { return nil }
func (s *sized) Read(ctx context.Context, max int) ([]*pipeline.Record, error) {
	s.mu.Lock()
	n := min(max, len(s.recs))
	out := s.recs[:n]
	s.recs = s.recs[n:]
	s.mu.Unlock()
	if n == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return out, nil
}
func (s *sized) Ack(_ context.Context, pos []pipeline.Position) error {
	s.mu.Lock()
	s.acked += len(pos)
	s.mu.Unlock()
	return nil
}

func (s *sized) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

// collect keeps the values it is given, by key.
type collect struct {
	mu  sync.Mutex
	got map[string]int
}

func (c *collect) Open(context.Context) error  { return nil }
func (c *collect) Close(context.Context) error { return nil }
func (c *collect) Write(_ context.Context, batch []*pipeline.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range batch {
		c.got[string(r.Key)] = len(r.Value)
	}
	return nil
}

func (c *collect) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

var (
	sizedSource = &sized{}
	collectSink = &collect{got: map[string]int{}}
)

func init() {
	pipeline.RegisterSource("sized", func() any { return &struct{}{} }, func(any, pipeline.Env) (pipeline.Source, error) {
		return sizedSource, nil
	})
	pipeline.RegisterSink("collect", func() any { return &struct{}{} }, func(any, pipeline.Env) (pipeline.Sink, error) {
		return collectSink, nil
	})
}

// incompressible returns a JSON string value of n bytes that compression
// cannot shrink much (hex of random bytes).
func incompressible(n int) []byte {
	b := make([]byte, n/2)
	rand.Read(b)
	return []byte(`"` + hex.EncodeToString(b)[:n-2] + `"`)
}

// envelopeOf returns a JSON value of about n bytes shaped like a customer
// envelope (data and raw).
func envelopeOf(i, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"id":"evt-%d","data":{"note":`, i)
	b.Write(incompressible(n / 2))
	b.WriteString(`},"raw":{"note":`)
	b.Write(incompressible(n / 2))
	b.WriteString(`}}`)
	return b.Bytes()
}

func runConfig(t *testing.T, dir, broker string, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: {%s}
pipeline: {retry: {initial: 10ms, max: 100ms, max_attempts: 5}, %s}
sources:
  sized: {}
sinks:
  collect: {}
`, dir, broker, extra)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// orderOf returns a JSON order of about n bytes with many line items: it
// compresses like a real one.
func orderOf(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":"evt-order","data":{"line_items":[`)
	for i := 0; b.Len() < n-32; i++ {
		fmt.Fprintf(&b, `{"id":%d,"sku":"SKU-%05d","title":"Linen shirt, size %d","quantity":1,"price":"49.00"},`, i, i%5000, i%7)
	}
	b.WriteString(`{}]}}`)
	return b.Bytes()
}

// A burst of 500 envelopes of 5 KB (one batch, 2.5 MB), a 2 MB order and,
// between them, one event over every limit: everything but that one
// reaches the sink; that one is in the dead-letter file with its size and
// the limit, and acked, so the source is not stuck behind it. Through the
// embedded broker, and through a broker whose topic takes 1 MiB messages.
// Before, the first batch failed with "Message Size Too Large" and was
// retried until the flow gave up.
func TestLargeEnvelopesAndAnOversizedEvent(t *testing.T) {
	ext, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "tajo.events.v1"),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "1048576"}))
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	for _, tc := range []struct {
		name, broker string
		limit        int
	}{
		{"embedded broker", "compression: lz4", 16 << 20},
		{"1 MiB broker", fmt.Sprintf("brokers: [%q], compression: lz4", ext.ListenAddrs()[0]), 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) { largeEnvelopes(t, tc.broker, tc.limit) })
	}
}

func largeEnvelopes(t *testing.T, broker string, limit int) {
	dir := t.TempDir()
	var recs []*pipeline.Record
	for i := 0; i < 500; i++ {
		recs = append(recs, &pipeline.Record{Key: []byte(fmt.Sprintf("e%03d", i)), Value: envelopeOf(i, 5000), Position: pipeline.Position{byte(i)}})
	}
	recs = append(recs, &pipeline.Record{Key: []byte("huge"), Value: envelopeOf(0, 20<<20)})
	recs = append(recs, &pipeline.Record{Key: []byte("order"), Value: orderOf(2 << 20)})
	sizedSource.recs, sizedSource.acked = recs, 0
	collectSink.got = map[string]int{}

	cfg := runConfig(t, dir, broker, "batch_size: 500")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pipeline.NewRunner(cfg, quietLog()).Run(ctx) }()
	deadline := time.After(2 * time.Minute)
	for collectSink.count() < 501 || sizedSource.ackedCount() < 502 {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run ended with %d of 501 records delivered, %d acked: %v", collectSink.count(), sizedSource.ackedCount(), err)
		case <-deadline:
			cancel()
			t.Fatalf("%d of 501 records delivered, %d of 502 acked", collectSink.count(), sizedSource.ackedCount())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok := collectSink.got["huge"]; ok || collectSink.got["order"] < 2<<20-64 {
		t.Fatalf("huge delivered: %v, order: %d bytes", ok, collectSink.got["order"])
	}
	f, err := os.Open(filepath.Join(dir, "dead-letter.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var lines []struct{ Stage, Class, Code, Reason, Key string }
	for sc.Scan() {
		var l struct{ Stage, Class, Code, Reason, Key string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 1 {
		t.Fatalf("%d dead letters, want 1", len(lines))
	}
	l := lines[0]
	if l.Key != "huge" || l.Class != "rejected" || l.Code != "kafka_message_too_large" ||
		!strings.Contains(l.Reason, fmt.Sprintf("the limit is %d bytes", limit)) || !strings.Contains(l.Reason, "event of 2097") {
		t.Fatalf("dead letter: %+v", l)
	}
}

// A broker that stops answering keeps the ingest flow retrying; a stop
// still returns once pipeline.shutdown_timeout has passed, with the
// unwritten records unacked (their webhooks are answered with an error and
// redelivered by Shopify).
func TestShutdownDoesNotWaitForAProduceRetryLoop(t *testing.T) {
	// A full tracker blocks the input; a full queue blocks the batching.
	for _, inFlight := range []int{20, 10000} {
		t.Run(fmt.Sprint("max_in_flight ", inFlight), func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1))
			if err != nil {
				t.Fatal(err)
			}
			var recs []*pipeline.Record
			for i := 0; i < 200; i++ {
				recs = append(recs, &pipeline.Record{Key: []byte(fmt.Sprintf("e%03d", i)), Value: []byte(`{}`)})
			}
			sizedSource.recs, sizedSource.acked = recs, 0
			collectSink.got = map[string]int{}
			cfg := runConfig(t, t.TempDir(), fmt.Sprintf("brokers: [%q], write_timeout: 1s", c.ListenAddrs()[0]),
				fmt.Sprintf("batch_size: 10, batch_wait: 1ms, max_in_flight: %d, shutdown_timeout: 500ms", inFlight))
			cfg.Pipeline.Retry.MaxAttempts = 0 // retry forever
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- pipeline.NewRunner(cfg, quietLog()).Run(ctx) }()
			for collectSink.count() == 0 {
				select {
				case err := <-done:
					t.Fatalf("run ended before delivering: %v", err)
				case <-time.After(20 * time.Millisecond):
				}
			}
			c.Close()
			time.Sleep(300 * time.Millisecond) // let the producer enter its retry loop
			cancel()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("run did not return a minute after the stop (shutdown_timeout: 500ms)")
			}
			if a := sizedSource.ackedCount(); a >= 200 {
				t.Fatalf("%d acked: records were acked without being written", a)
			}
		})
	}
}
