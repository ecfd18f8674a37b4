package plugins_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/plugins/echo"
)

func seqPos(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// TestRPCs drives every RPC of the protocol through the gRPC adapters
// against an in-process plugin.
func TestRPCs(t *testing.T) {
	ctx := ctxFor(t, 30*time.Second)
	log, _ := testLog(t)
	impl := echo.New()
	p, err := plugins.ServeTest(ctx, "echo", impl, log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	sp := p.Source()

	if err := p.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	spec, err := sp.Specify(ctx)
	if err != nil || spec.Name != "echo" || !spec.Webhooks || !strings.Contains(spec.ConfigSchema, `"count"`) {
		t.Fatalf("specify: %+v, %v", spec, err)
	}

	err = sp.Configure(ctx, []byte(`{"count":25,"bogus":1}`))
	if !errors.Is(err, plugins.ErrInvalidConfig) || pipeline.ClassOf(err) != pipeline.Fatal || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("configure with an unknown key: %v (class %s), want a fatal ErrInvalidConfig naming the key", err, pipeline.ClassOf(err))
	}
	if err := sp.Configure(ctx, []byte(`{"count":25,"eof":true,"key":"k"}`)); err != nil {
		t.Fatalf("configure: %v", err)
	}
	if err := sp.Open(ctx, []byte("bad")); err == nil || pipeline.ClassOf(err) != pipeline.Retryable {
		t.Fatalf("open at a bad position: %v, want a retryable error", err)
	}
	if err := sp.Open(ctx, seqPos(4)); err != nil {
		t.Fatalf("open: %v", err)
	}
	if got := impl.Opened(); string(got) != string(seqPos(4)) {
		t.Fatalf("plugin opened at %x, want %x", got, seqPos(4))
	}

	var recs []plugins.Record
	for {
		b, err := sp.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		recs = append(recs, b...)
	}
	if len(recs) != 20 {
		t.Fatalf("read %d records after position 4 of 25, want 20", len(recs))
	}
	if r := recs[0]; string(r.Key) != "k" || string(r.Value) != `{"seq":5}` || string(r.Position) != string(seqPos(5)) || r.Time.IsZero() {
		t.Fatalf("first record %+v", r)
	}
	if _, err := sp.Read(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the end: %v, want io.EOF again", err)
	}

	// Acks reach the plugin in order, on the stream, after the end too.
	if err := sp.Ack(ctx, [][]byte{recs[0].Position, recs[1].Position}); err != nil {
		t.Fatal(err)
	}
	if err := sp.Ack(ctx, [][]byte{recs[2].Position}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "acks at the plugin", func() bool { return len(impl.Acked()) == 3 })
	for i, a := range impl.Acked() {
		if string(a) != string(recs[i].Position) {
			t.Fatalf("ack %d at the plugin is %x, want %x", i, a, recs[i].Position)
		}
	}

	resp, err := sp.HandleWebhook(ctx, plugins.WebhookRequest{
		Method: "POST", Path: "/webhooks/echo", Body: []byte("hello"),
		Header: http.Header{"X-Echo-Records": {"2"}},
	})
	if err != nil || resp.Status != 200 || string(resp.Body) != "ok" || resp.Header.Get("Content-Type") != "text/plain" || len(resp.Records) != 2 || string(resp.Records[1].Value) != "hello#1" {
		t.Fatalf("webhook: %+v, %v", resp, err)
	}
	resp, err = sp.HandleWebhook(ctx, plugins.WebhookRequest{Method: "POST", Header: http.Header{"X-Echo-Status": {"401"}}})
	if err != nil || resp.Status != 401 || len(resp.Records) != 0 {
		t.Fatalf("webhook with a bad signature: %+v, %v", resp, err)
	}

	msg, err := sp.TestConnection(ctx)
	if err != nil || !strings.HasPrefix(msg, "environment: ") {
		t.Fatalf("test connection: %q, %v", msg, err)
	}
	if err := sp.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := sp.Teardown(ctx); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	p.Kill()
	if err := p.Ping(ctx); !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("ping after kill: %v, want ErrUnavailable", err)
	}
	if _, err := sp.Specify(ctx); err == nil || pipeline.ClassOf(err) != pipeline.Retryable {
		t.Fatalf("call after kill: %v, want a retryable error", err)
	}
}

// TestStopEndsRead: Stop makes a blocked Read of an unbounded plugin return.
func TestStopEndsRead(t *testing.T) {
	ctx := ctxFor(t, 20*time.Second)
	log, _ := testLog(t)
	p, err := plugins.ServeTest(ctx, "echo", echo.New(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	sp := p.Source()
	if err := sp.Configure(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := sp.Open(ctx, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sp.Read(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("read returned %v with nothing to read", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := sp.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("read after stop: %v, want io.EOF", err)
	}
}

// hookOnly is the smallest useful plugin: WebhookOnly plus the rest.
type hookOnly struct{ plugins.WebhookOnly }

func (hookOnly) Specify(context.Context) (plugins.Spec, error) {
	return plugins.Spec{Name: "hooks", Webhooks: true}, nil
}
func (hookOnly) Configure(context.Context, []byte) error { return nil }
func (hookOnly) HandleWebhook(_ context.Context, r plugins.WebhookRequest) (plugins.WebhookResponse, error) {
	return plugins.WebhookResponse{Records: []plugins.Record{{Value: r.Body}}}, nil
}
func (hookOnly) TestConnection(context.Context) (string, error) { return "ok", nil }
func (hookOnly) Teardown(context.Context) error                 { return nil }

// TestWebhookOnly: a plugin without a stream runs under the host, answers
// webhooks after the ack, and closes cleanly.
func TestWebhookOnly(t *testing.T) {
	log, _ := testLog(t)
	src, _, srv := newHarness(t, plugins.SourceConfig{Launcher: func(ctx context.Context) (*plugins.Plugin, error) {
		return plugins.ServeTest(ctx, "hooks", hookOnly{}, log)
	}})
	ctx := ctxFor(t, 20*time.Second)
	res := post(srv, "/webhooks/echo", []byte("x"), nil)
	recs, err := src.Read(ctx, 5)
	if err != nil || len(recs) != 1 {
		t.Fatalf("read %d, %v", len(recs), err)
	}
	notYet(t, res, 50*time.Millisecond)
	if err := src.Ack(ctx, positions(recs)); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, res); r.status != 200 {
		t.Fatalf("answered %d", r.status)
	}
	if err := src.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}
