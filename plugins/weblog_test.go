package plugins_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins"
)

type memWebhookLog struct {
	mu   sync.Mutex
	logs []pipeline.WebhookLog
}

func (m *memWebhookLog) LogWebhooks(_ context.Context, logs []pipeline.WebhookLog) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs = append(m.logs, logs...)
	return nil
}

func (m *memWebhookLog) all() []pipeline.WebhookLog {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.logs)
}

// TestWebhookLogAndDone: every answer, the host's own (413) and the
// plugin's, reaches the webhook log with what the plugin said about the
// delivery; the plugin learns the final status of the deliveries it asked
// about: 200 once durable, 503 when the records were not acked in time.
func TestWebhookLogAndDone(t *testing.T) {
	wl := &memWebhookLog{}
	src, l, srv := newHarness(t, plugins.SourceConfig{Webhooks: wl, MaxBodyBytes: 64, WebhookTimeout: 500 * time.Millisecond})
	ctx := ctxFor(t, 20*time.Second)

	res := post(srv, "/webhooks/echo", []byte(`{"id":1}`), map[string]string{"X-Echo-Id": "w1"})
	recs, err := src.Read(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Ack(ctx, positions(recs)); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, res); r.status != 200 {
		t.Fatalf("answer %d", r.status)
	}
	if r := wait(t, post(srv, "/webhooks/echo", []byte(`{"id":2}`), map[string]string{"X-Echo-Id": "w2"})); r.status != 503 {
		t.Fatalf("unacked webhook answered %d, want 503", r.status)
	}
	if r := wait(t, post(srv, "/webhooks/echo", make([]byte, 65), nil)); r.status != 413 {
		t.Fatalf("oversized webhook answered %d, want 413", r.status)
	}

	e, _ := l.last()
	eventually(t, 10*time.Second, "WebhookDone for both deliveries", func() bool { return len(e.Done()) == 2 })
	done := e.Done()
	slices.Sort(done)
	if !slices.Equal(done, []string{"w1=200", "w2=503"}) {
		t.Fatalf("WebhookDone calls %v", done)
	}
	eventually(t, 10*time.Second, "three webhook log entries", func() bool { return len(wl.all()) == 3 })
	byStatus := map[int]pipeline.WebhookLog{}
	for _, x := range wl.all() {
		byStatus[x.Status] = x
	}
	if w := byStatus[200]; w.WebhookID != "w1" || w.Topic != "echo" || w.HMAC != "valid" || w.Bytes != 8 || w.Latency <= 0 || w.Time.IsZero() {
		t.Fatalf("200 entry %+v", w)
	}
	if w := byStatus[503]; w.WebhookID != "w2" {
		t.Fatalf("503 entry %+v", w)
	}
	// Refused on its Content-Length: not a byte of it was read.
	if w := byStatus[413]; w.WebhookID != "" || w.Bytes != 0 {
		t.Fatalf("413 entry %+v", w)
	}
}

// busyWebhookLog refuses its first calls as a history busy behind a
// long query does (the write times out), then takes them.
type busyWebhookLog struct {
	memWebhookLog
	busy int
}

func (b *busyWebhookLog) LogWebhooks(ctx context.Context, logs []pipeline.WebhookLog) error {
	b.mu.Lock()
	if b.busy > 0 {
		b.busy--
		b.mu.Unlock()
		return pipeline.Retry(context.DeadlineExceeded)
	}
	b.mu.Unlock()
	return b.memWebhookLog.LogWebhooks(ctx, logs)
}

// TestWebhookLogWaitsForABusyHistory: entries the logger could not take
// (a chDB history held by one tajo query for longer than a write waits)
// are written once it can, not dropped.
func TestWebhookLogWaitsForABusyHistory(t *testing.T) {
	wl := &busyWebhookLog{busy: 2}
	_, _, srv := newHarness(t, plugins.SourceConfig{Webhooks: wl, MaxBodyBytes: 64})
	for i := range 3 {
		if r := wait(t, post(srv, "/webhooks/echo", make([]byte, 65), map[string]string{"X-Echo-Id": "w"})); r.status != 413 {
			t.Fatalf("request %d answered %d, want 413", i, r.status)
		}
	}
	eventually(t, 15*time.Second, "the three entries written once the history took them", func() bool { return len(wl.all()) == 3 })
}
