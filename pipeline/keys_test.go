package pipeline_test

// Tests of the runner's own keys (DESIGN.md invariant 9): each sets the key
// in a pipeline.yaml and shows what it changes from outside the runner.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/broker"
	"github.com/tajo/tajo/pipeline/config"
)

// endlessSource returns as many records as it is asked for, at once, and
// records each Read's max.
type endlessSource struct {
	mu    sync.Mutex
	asked []int
	next  uint64
}

func (*endlessSource) Open(context.Context) error { return nil }
func (s *endlessSource) Read(ctx context.Context, max int) ([]*pipeline.Record, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, max)
	recs := make([]*pipeline.Record, max)
	for i := range recs {
		pos := make(pipeline.Position, 8)
		binary.BigEndian.PutUint64(pos, s.next)
		s.next++
		recs[i] = &pipeline.Record{Key: []byte("k"), Value: []byte("{}"), Position: pos}
	}
	return recs, nil
}
func (*endlessSource) Ack(context.Context, []pipeline.Position) error { return nil }
func (*endlessSource) Close(context.Context) error                    { return nil }

// batchSink records the size of every batch it is written, and mounts
// GET /keys/slow on the webhook listener: an answer that takes a second.
type batchSink struct {
	mu    sync.Mutex
	sizes []int
}

func (*batchSink) Open(context.Context) error  { return nil }
func (*batchSink) Close(context.Context) error { return nil }
func (s *batchSink) Write(_ context.Context, b []*pipeline.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sizes = append(s.sizes, len(b))
	return nil
}

func (s *batchSink) batches() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sizes...)
}

func sinkRecords() int {
	n := 0
	for _, b := range sinkBatches() {
		n += b
	}
	return n
}

// The latest run's source and sink (a runner builds its own).
var (
	keysSource atomic.Pointer[endlessSource]
	keysSink   atomic.Pointer[batchSink]
)

// sinkBatches is what the latest run's sink was written, nil before it
// is built.
func sinkBatches() []int {
	if s := keysSink.Load(); s != nil {
		return s.batches()
	}
	return nil
}

func init() {
	pipeline.RegisterSource("keys_endless", func() any { return &struct{}{} }, func(any, pipeline.Env) (pipeline.Source, error) {
		s := &endlessSource{}
		keysSource.Store(s)
		return s, nil
	})
	pipeline.RegisterSink("keys_batches", func() any { return &struct{}{} }, func(_ any, env pipeline.Env) (pipeline.Sink, error) {
		s := &batchSink{}
		keysSink.Store(s)
		if env.HTTP != nil {
			env.HTTP.HandleFunc("GET /keys/slow", func(w http.ResponseWriter, _ *http.Request) {
				time.Sleep(time.Second)
				io.WriteString(w, "slow answer")
			})
		}
		return s, nil
	})
}

// syncBuffer is a log output the test reads while the runner writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRunner runs the configuration (data_dir is added) until the test
// ends, logging to out (nil: discarded).
func startRunner(t *testing.T, yaml string, out io.Writer) *pipeline.Runner {
	t.Helper()
	keysSource.Store(nil)
	keysSink.Store(nil)
	cfg, err := config.Parse([]byte("version: 1\ndata_dir: "+t.TempDir()+"\n"+yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	if out == nil {
		out = io.Discard
	}
	log.SetOutput(out)
	r := pipeline.NewRunner(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return r
}

// pipeline.batch_size bounds both what a source is asked for and the
// batches the sinks get. With batch_wait at an hour only a full batch is
// handed on, so had the size been ignored (500) nothing would arrive.
func TestBatchSizeBoundsSourceReadsAndBatches(t *testing.T) {
	startRunner(t, `server: {listen: ""}
control: {listen: ""}
broker: none
pipeline: {batch_size: 7, batch_wait: 1h, max_in_flight: 50}
sources: {keys_endless: {}}
sinks: {keys_batches: {}}
`, nil)
	waitFor(t, "5 batches", func() bool { return len(sinkBatches()) >= 5 })
	for i, n := range sinkBatches()[:5] {
		if n != 7 {
			t.Errorf("batch %d has %d records, want batch_size 7", i, n)
		}
	}
	src := keysSource.Load()
	src.mu.Lock()
	defer src.mu.Unlock()
	for i, max := range src.asked {
		if max != 7 {
			t.Fatalf("read %d asked the source for %d records, want batch_size 7", i, max)
		}
	}
}

// pipeline.progress_interval paces the progress log: at 20ms, three
// progress lines (one per flow, with its counters) come well within the
// 10s of the default.
func TestProgressIntervalPacesTheProgressLog(t *testing.T) {
	out := &syncBuffer{}
	startRunner(t, `server: {listen: ""}
control: {listen: ""}
broker: none
pipeline: {progress_interval: 20ms}
sources: {generator: {count: 0, rate: 10}}
sinks: {keys_batches: {}}
`, out)
	lines := func() int { return strings.Count(out.String(), " in_flight=") }
	deadline := time.Now().Add(5 * time.Second)
	for lines() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := lines(); n < 3 {
		t.Fatalf("%d progress lines in 5s with progress_interval 20ms, want at least 3:\n%s", n, out.String())
	}
}

// server.read_timeout cuts a client that never finishes its request, and
// server.write_timeout an answer that is not written in time: the client
// gets no answer rather than a late one. Both defaults (10s, 30s) are
// longer than the test waits.
func TestServerTimeoutsCutSlowRequestsAndAnswers(t *testing.T) {
	r := startRunner(t, `server: {listen: "127.0.0.1:0", read_timeout: 200ms, write_timeout: 200ms}
control: {listen: ""}
broker: none
sources: {generator: {count: 0, rate: 10}}
sinks: {keys_batches: {}}
`, nil)
	waitFor(t, "the webhook listener", func() bool { return r.Addr() != "" })

	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /webhooks/shopify HTTP/1.1\r\nHost: 127.0.0.1\r\n") // the headers never end
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held an unfinished request after %s; read_timeout is 200ms", time.Since(start).Round(time.Millisecond))
	}

	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + r.Addr() + "/keys/slow")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("an answer written after 1s reached the client (%d %q); write_timeout is 200ms", resp.StatusCode, b)
	}
}

// broker.topic_prefix names the events topic: with prefix acme the
// sources write, and the processing half reads, acme.events.v1.
func TestTopicPrefixNamesTheEventsTopic(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Log: logrus.NewEntry(logrus.New())})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	startRunner(t, fmt.Sprintf(`server: {listen: ""}
control: {listen: ""}
broker: {brokers: [%q], topic_prefix: acme}
sources: {generator: {count: 3, rate: 0}}
sinks: {keys_batches: {}}
`, b.Addrs()[0]), nil)
	waitFor(t, "3 records through the topic", func() bool { return sinkRecords() >= 3 })
	conn, err := kafkago.Dial("tcp", b.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions()
	if err != nil {
		t.Fatal(err)
	}
	topics := map[string]bool{}
	for _, p := range parts {
		topics[p.Topic] = true
	}
	if !topics["acme.events.v1"] || topics["tajo.events.v1"] {
		t.Fatalf("topics on the broker %v, want acme.events.v1 (topic_prefix acme) and no tajo.events.v1", topics)
	}
}
