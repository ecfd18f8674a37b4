//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	kafka "github.com/segmentio/kafka-go"

	"github.com/tajo/tajo/schemas"
)

// shopifyRun is a `tajo run` with a Shopify connector and no sink: the
// ingest half only, so what a test reads from Kafka is exactly what the
// connector produced.
type shopifyRun struct {
	t       *testing.T
	cmd     *exec.Cmd
	dir     string
	http    string // host:port of server.listen
	kafka   string // host:port of the embedded broker
	logPath string
	// lastCount is the topic's size at the last successful count.
	lastCount int64
}

// newShopifyRun picks the listeners and the log of a run in dir; start
// runs tajo on a configuration that uses r.http and r.kafka.
func newShopifyRun(t *testing.T, dir string) *shopifyRun {
	return &shopifyRun{t: t, dir: dir, http: freeAddr(t), kafka: freeAddr(t), logPath: filepath.Join(dir, "tajo.log")}
}

// startShopify writes a pipeline with connectors.shopify set to
// connector (YAML, indented under it) and starts tajo on it.
func startShopify(t *testing.T, dir, connector string) *shopifyRun {
	t.Helper()
	r := newShopifyRun(t, dir)
	cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: %q}
control: {listen: ""}
log: {level: info}
broker: {partitions: 4, embedded: {listen: %q}}
pipeline: {progress_interval: 2s}
connectors:
  shopify:
%s
`, dir, r.http, r.kafka, indentBy(connector, "    "))
	path := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r.start(path)
	return r
}

func indentBy(s, prefix string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

func (r *shopifyRun) start(cfgPath string) {
	t := r.t
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(tajoBin, "run", "-c", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := r.cmd
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + r.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tajo did not come up:\n%s", r.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *shopifyRun) logTail() string {
	b, _ := os.ReadFile(r.logPath)
	return tail(string(b), 40)
}

func (r *shopifyRun) webhookURL() string { return "http://" + r.http + "/webhooks/shopify" }

// stop sends SIGINT and waits for a clean exit.
func (r *shopifyRun) stop() {
	r.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			r.t.Errorf("tajo exit: %v\n%s", err, r.logTail())
		}
	case <-time.After(60 * time.Second):
		r.t.Errorf("tajo did not stop")
	}
}

// pluginPid finds the `tajo plugin shopify` child of the running tajo.
func (r *shopifyRun) pluginPid() int {
	pid := r.cmd.Process.Pid
	// Go starts processes from any thread: each lists its own children.
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var all []string
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		all = append(all, strings.Fields(string(b))...)
	}
	for _, f := range all {
		c, _ := strconv.Atoi(f)
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c))
		if bytes.Contains(cl, []byte("plugin\x00shopify")) {
			return c
		}
	}
	return 0
}

// kafkaCount is how many messages the events topic holds.
func (r *shopifyRun) kafkaCount() int64 {
	var n int64
	for p := 0; p < 4; p++ {
		conn, err := kafka.DialLeader(context.Background(), "tcp", r.kafka, "tajo.events.v1", p)
		if err != nil {
			return -1
		}
		first, last, err := conn.ReadOffsets()
		conn.Close()
		if err != nil {
			return -1
		}
		n += last - first
	}
	return n
}

// kafkaMsg is one message of the events topic.
type kafkaMsg struct {
	Partition int
	Offset    int64
	Key       string
	Value     []byte
	Event     *schemas.Event
}

// kafkaEvents reads the whole events topic, partition by partition, in
// offset order.
func (r *shopifyRun) kafkaEvents() []kafkaMsg {
	t := r.t
	var out []kafkaMsg
	for p := 0; p < 4; p++ {
		conn, err := kafka.DialLeader(context.Background(), "tcp", r.kafka, "tajo.events.v1", p)
		if err != nil {
			t.Fatal(err)
		}
		first, last, err := conn.ReadOffsets()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if last == first {
			continue
		}
		rd := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{r.kafka}, Topic: "tajo.events.v1", Partition: p, MaxBytes: 16 << 20})
		if err := rd.SetOffset(first); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		for {
			m, err := rd.ReadMessage(ctx)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("reading partition %d: %v", p, err)
				}
				break
			}
			ev, err := schemas.DecodeEvent(m.Value)
			if err != nil {
				t.Fatalf("partition %d offset %d is not an event: %v", p, m.Offset, err)
			}
			out = append(out, kafkaMsg{Partition: p, Offset: m.Offset, Key: string(m.Key), Value: m.Value, Event: ev})
			if m.Offset >= last-1 {
				break
			}
		}
		cancel()
		rd.Close()
	}
	return out
}

// waitKafka waits until the topic holds at least n messages.
func (r *shopifyRun) waitKafka(n int64, d time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := r.kafkaCount()
		if got >= 0 {
			r.lastCount = got
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d messages on Kafka after %s, want %d\n%s", got, d, n, r.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// webhookFixture reads a Shopify webhook body from the connector's
// testdata and lets edit change it (ids stay exact 64-bit numbers).
func webhookFixture(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "sources", "shopify", "testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// postWebhook posts body with headers and returns the status.
func postWebhook(url string, body []byte, hdr http.Header) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// kafkaScan calls fn with every message of the events topic, partition by
// partition in offset order, fetching in large batches: reading 300,000
// messages one by one takes longer than producing them.
func (r *shopifyRun) kafkaScan(fn func(partition int, key, value []byte)) {
	t := r.t
	for p := 0; p < 4; p++ {
		var conn *kafka.Conn
		dial := func() {
			c, err := kafka.DialLeader(context.Background(), "tcp", r.kafka, "tajo.events.v1", p)
			if err != nil {
				t.Fatal(err)
			}
			conn = c
		}
		dial()
		first, last, err := conn.ReadOffsets()
		if err != nil {
			t.Fatal(err)
		}
		off, stuck := first, 0
		for off < last {
			if conn == nil {
				dial()
			}
			if _, err := conn.Seek(off, kafka.SeekAbsolute); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			b := conn.ReadBatch(1, 64<<20)
			before := off
			var rerr error
			for {
				m, err := b.ReadMessage()
				if err != nil {
					rerr = err
					break
				}
				fn(p, m.Key, m.Value)
				off = m.Offset + 1
			}
			b.Close()
			if !errors.Is(rerr, io.EOF) {
				// kafka-go closes a connection whose batch ended in an
				// error (a fetch cut inside a compressed batch, a
				// deadline): go on from the next offset on a new one.
				conn.Close()
				conn = nil
			}
			if off == before {
				if stuck++; stuck == 3 {
					t.Fatalf("partition %d: no message read at offset %d of [%d, %d): %v", p, off, first, last, rerr)
				}
			} else {
				stuck = 0
			}
		}
		if conn != nil {
			conn.Close()
		}
	}
}

// startSimulator runs the Shopify store simulator as its own process (the
// test binary is race-instrumented; a simulator inside it would be the
// bottleneck of what is measured) and returns its admin_url.
func startSimulator(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport (\n\t\"os\"\n\n\t\"github.com/tajo/tajo/sources/shopify/shopifytest\"\n)\n\nfunc main() { os.Exit(shopifytest.Main(os.Args[1:])) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "shopify-sim")
	if out, err := exec.Command("go", "build", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("building the simulator: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"-listen", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := (&net.Dialer{}).Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatal("the simulator did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
