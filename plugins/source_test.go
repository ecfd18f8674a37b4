package plugins_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/plugins/echo"
)

// TestSourceAcceptance runs the engine's source suite on a plugin-backed
// source: positions persist on ack and a new source resumes after them.
func TestSourceAcceptance(t *testing.T) {
	st := openState(t)
	log, _ := testLog(t)
	pipelinetest.SourceAcceptance(t, pipelinetest.SourceHarness{
		New: func(t *testing.T) pipeline.Source {
			l := &inProcess{log: log}
			return plugins.NewSource(plugins.SourceConfig{
				Name: "echo", Launcher: l.launch, State: st, Log: log,
				Config: []byte(`{"count":40,"eof":true,"no_webhooks":true}`),
			})
		},
		Want:    40,
		Bounded: true,
	})
}

// newHarness opens an echo source with its webhooks mounted on a test
// server.
func newHarness(t *testing.T, cfg plugins.SourceConfig) (*plugins.Source, *inProcess, *httptest.Server) {
	t.Helper()
	log, _ := testLog(t)
	l := &inProcess{log: log}
	cfg.Name = "echo"
	cfg.Log = log
	if cfg.Launcher == nil {
		cfg.Launcher = l.launch
	}
	src := plugins.NewSource(cfg)
	mux := http.NewServeMux()
	src.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if err := src.Open(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close(context.Background()) })
	return src, l, srv
}

type result struct {
	status int
	body   string
	err    error
}

// post sends a webhook in the background.
func post(srv *httptest.Server, path string, body []byte, hdr map[string]string) <-chan result {
	out := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- result{status: resp.StatusCode, body: string(b)}
	}()
	return out
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("webhook never answered")
	}
	return result{}
}

func notYet(t *testing.T, ch <-chan result, d time.Duration) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("webhook answered %d %q before its records were acked", r.status, r.body)
	case <-time.After(d):
	}
}

func positions(recs []*pipeline.Record) []pipeline.Position {
	out := make([]pipeline.Position, len(recs))
	for i, r := range recs {
		out[i] = r.Position
	}
	return out
}

// TestWebhookAnsweredAfterAck is invariant 1 at the ingress: the 200 waits
// for the engine's ack of every record the webhook produced.
func TestWebhookAnsweredAfterAck(t *testing.T) {
	src, _, srv := newHarness(t, plugins.SourceConfig{})
	ctx := ctxFor(t, 20*time.Second)
	res := post(srv, "/webhooks/echo/orders-create", []byte(`{"id":1}`), map[string]string{"X-Echo-Records": "3"})
	var got []*pipeline.Record
	for len(got) < 3 {
		recs, err := src.Read(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, recs...)
	}
	if string(got[0].Value) != `{"id":1}#0` || string(got[2].Value) != `{"id":1}#2` || string(got[0].Key) != "echo" {
		t.Fatalf("records %q, %q", got[0].Value, got[2].Value)
	}
	notYet(t, res, 200*time.Millisecond)
	if err := src.Ack(ctx, positions(got[:2])); err != nil {
		t.Fatal(err)
	}
	notYet(t, res, 200*time.Millisecond)
	if err := src.Ack(ctx, positions(got[2:])); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, res); r.status != 200 || r.body != "ok" {
		t.Fatalf("answer %d %q, want 200 ok", r.status, r.body)
	}
}

// TestWebhookStatuses: the plugin's verdict on a bad request is answered at
// once; the host enforces the body limit before the plugin sees anything.
func TestWebhookStatuses(t *testing.T) {
	_, _, srv := newHarness(t, plugins.SourceConfig{MaxBodyBytes: 1024})
	for _, st := range []string{"401", "400", "404"} {
		if r := wait(t, post(srv, "/webhooks/echo", []byte("x"), map[string]string{"X-Echo-Status": st})); r.status != atoi(st) {
			t.Fatalf("plugin said %s, host answered %d", st, r.status)
		}
	}
	if r := wait(t, post(srv, "/webhooks/echo", bytes.Repeat([]byte("a"), 1025), nil)); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over the limit got %d, want 413", r.status)
	}
	// A good request that produces nothing (an ignored topic) needs no ack.
	if r := wait(t, post(srv, "/webhooks/echo", bytes.Repeat([]byte("a"), 1024), map[string]string{"X-Echo-Records": "0"})); r.status != 200 {
		t.Fatalf("a body at the limit with no records got %d, want 200", r.status)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestWebhookNotAckedIs503: records never acked in time, or a shutdown
// while waiting, answer 503 so the sender retries; never 200.
func TestWebhookNotAckedIs503(t *testing.T) {
	src, _, srv := newHarness(t, plugins.SourceConfig{WebhookTimeout: 300 * time.Millisecond})
	ctx := ctxFor(t, 20*time.Second)
	if r := wait(t, post(srv, "/webhooks/echo", []byte("never acked"), nil)); r.status != 503 {
		t.Fatalf("unacked webhook got %d, want 503", r.status)
	}
	// Its record still flows (at-least-once): the retry is a duplicate.
	recs, err := src.Read(ctx, 10)
	if err != nil || len(recs) != 1 || string(recs[0].Value) != "never acked" {
		t.Fatalf("read %v, %v", recs, err)
	}
	if err := src.Ack(ctx, positions(recs)); err != nil {
		t.Fatal(err)
	}

	src2, _, srv2 := newHarness(t, plugins.SourceConfig{})
	res := post(srv2, "/webhooks/echo", []byte("in flight"), nil)
	if _, err := src2.Read(ctx, 10); err != nil {
		t.Fatal(err)
	}
	notYet(t, res, 100*time.Millisecond)
	if err := src2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, res); r.status != 503 {
		t.Fatalf("webhook in flight at shutdown got %d, want 503", r.status)
	}
	if r := wait(t, post(srv2, "/webhooks/echo", []byte("after"), nil)); r.status != 503 {
		t.Fatalf("webhook after shutdown got %d, want 503", r.status)
	}
}

// TestAckOrder interleaves stream and webhook records: acks persist the
// last plugin position, reach the plugin in order with only its own
// positions, and release each webhook exactly when its last record is acked.
func TestAckOrder(t *testing.T) {
	st := openState(t)
	src, l, srv := newHarness(t, plugins.SourceConfig{State: st, Config: []byte(`{"count":6}`)})
	ctx := ctxFor(t, 20*time.Second)
	var stream []*pipeline.Record
	for len(stream) < 6 {
		recs, err := src.Read(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, recs...)
	}
	a := post(srv, "/webhooks/echo", []byte("a"), map[string]string{"X-Echo-Records": "2"})
	hookA, err := src.Read(ctx, 10)
	if err != nil || len(hookA) != 2 {
		t.Fatalf("webhook a: %d records, %v", len(hookA), err)
	}
	b := post(srv, "/webhooks/echo", []byte("b"), nil)
	hookB, err := src.Read(ctx, 10)
	if err != nil || len(hookB) != 1 {
		t.Fatalf("webhook b: %d records, %v", len(hookB), err)
	}
	// The engine's order: s0 s1 a0 s2 a1 b0 s3 … (positions as read).
	order := []*pipeline.Record{stream[0], stream[1], hookA[0], stream[2], hookA[1], hookB[0], stream[3]}
	if err := src.Ack(ctx, positions(order[:4])); err != nil {
		t.Fatal(err)
	}
	notYet(t, a, 100*time.Millisecond)
	if err := src.Ack(ctx, positions(order[4:5])); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, a); r.status != 200 {
		t.Fatalf("webhook a: %d", r.status)
	}
	notYet(t, b, 100*time.Millisecond)
	if err := src.Ack(ctx, positions(order[5:])); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, b); r.status != 200 {
		t.Fatalf("webhook b: %d", r.status)
	}
	if got, _ := st.Get("plugins.echo", "position"); string(got) != string(seqPos(3)) {
		t.Fatalf("persisted position %x, want %x", got, seqPos(3))
	}
	e, _ := l.last()
	eventually(t, 5*time.Second, "acks at the plugin", func() bool { return len(e.Acked()) == 4 })
	for i, pos := range e.Acked() {
		if string(pos) != string(seqPos(uint64(i))) {
			t.Fatalf("plugin ack %d = %x, want %x", i, pos, seqPos(uint64(i)))
		}
	}
	if err := src.Ack(ctx, []pipeline.Position{[]byte("zz")}); pipeline.ClassOf(err) != pipeline.Fatal {
		t.Fatalf("ack of a foreign position: %v, want fatal", err)
	}
}

// TestInvalidConfigIsFatal: a configuration the plugin refuses stops the
// pipeline at Open, and the process is not left running.
func TestInvalidConfigIsFatal(t *testing.T) {
	log, _ := testLog(t)
	l := &inProcess{log: log}
	src := plugins.NewSource(plugins.SourceConfig{Name: "echo", Launcher: l.launch, Log: log, Config: []byte(`{"count":"many"}`)})
	err := src.Open(ctxFor(t, 20*time.Second))
	if !errors.Is(err, plugins.ErrInvalidConfig) || pipeline.ClassOf(err) != pipeline.Fatal || !strings.Contains(err.Error(), "configure") {
		t.Fatalf("open: %v (class %s)", err, pipeline.ClassOf(err))
	}
	_, p := l.last()
	if err := p.Ping(context.Background()); !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("plugin still answers after a failed open: %v", err)
	}
	if err := src.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestLargeWebhook: a body near the limit crosses gRPC (whose default
// message cap is 4 MiB) in both directions.
func TestLargeWebhook(t *testing.T) {
	src, _, srv := newHarness(t, plugins.SourceConfig{})
	ctx := ctxFor(t, 30*time.Second)
	body := bytes.Repeat([]byte("x"), 4<<20+512<<10)
	res := post(srv, "/webhooks/echo", body, nil)
	recs, err := src.Read(ctx, 10)
	if err != nil || len(recs) != 1 || len(recs[0].Value) != len(body) {
		t.Fatalf("read %d records, %v", len(recs), err)
	}
	if err := src.Ack(ctx, positions(recs)); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, res); r.status != 200 {
		t.Fatalf("large webhook answered %d %q", r.status, r.body)
	}
}

// refusing is an echo plugin whose configuration is refused, as after an
// operator broke it between two starts.
type refusing struct{ *echo.Plugin }

func (refusing) Configure(context.Context, []byte) error {
	return fmt.Errorf("%w: api secret rejected", plugins.ErrInvalidConfig)
}

// TestRestartBackoffAndFatal: a plugin that keeps failing to start is
// retried with growing waits; once it starts it serves again; a restart
// that meets a fatal error ends supervision and Read reports it, for good.
func TestRestartBackoffAndFatal(t *testing.T) {
	log, hook := testLog(t)
	ctx := ctxFor(t, 30*time.Second)
	var mu sync.Mutex
	var calls int
	var current *plugins.Plugin
	launch := func(ctx context.Context) (*plugins.Plugin, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		var impl plugins.SourcePlugin = echo.New()
		switch {
		case calls >= 2 && calls <= 4:
			return nil, errors.New("exec: no such file")
		case calls == 6:
			impl = refusing{echo.New()}
		}
		p, err := plugins.ServeTest(ctx, "echo", impl, log)
		current = p
		return p, err
	}
	crash := func() {
		mu.Lock()
		p := current
		mu.Unlock()
		p.Kill()
	}
	src := plugins.NewSource(plugins.SourceConfig{
		Name: "echo", Launcher: launch, Log: log, Config: []byte(`{"count":1}`),
		RestartInitial: 20 * time.Millisecond, RestartMax: 60 * time.Millisecond, HealthInterval: 50 * time.Millisecond,
	})
	if err := src.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	if _, err := src.Read(ctx, 1); err != nil {
		t.Fatal(err)
	}
	crash() // crash 1: three failed launches, then a good one
	eventually(t, 10*time.Second, "the fifth launch", func() bool {
		for _, e := range hook.AllEntries() {
			if e.Message == "plugin restarted" {
				return true
			}
		}
		return false
	})
	var waits []time.Duration
	for _, e := range hook.AllEntries() {
		if e.Message == "plugin failed; restarting" {
			waits = append(waits, e.Data["wait"].(time.Duration))
		}
	}
	if len(waits) != 4 || waits[1] < waits[0] || waits[3] > 72*time.Millisecond {
		t.Fatalf("restart waits %v: want 4, growing, capped at 60ms ±20%%", waits)
	}
	crash() // crash 2: the configuration is now refused
	readCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var err error
	for err == nil { // the restarted plugin re-sent the unacked record
		_, err = src.Read(readCtx, 1)
	}
	for i := 0; i < 2; i++ {
		if !errors.Is(err, plugins.ErrInvalidConfig) || pipeline.ClassOf(err) != pipeline.Fatal {
			t.Fatalf("read %d after a refused restart: %v, want the fatal configuration error", i, err)
		}
		_, err = src.Read(readCtx, 1)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 6 {
		t.Fatalf("%d launches, want no more after the fatal one", calls)
	}
}
