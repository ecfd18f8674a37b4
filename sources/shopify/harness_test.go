package shopify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify"
)

// host is the shopify plugin behind the real host side: served over gRPC
// in this process (plugins.ServeTest), wrapped in plugins.Source, its
// webhooks mounted on an HTTP server, and an engine stand-in that reads
// and acks every record (optionally only after a gate opens).
type host struct {
	t     *testing.T
	src   *plugins.Source
	url   string
	state state.Store
	log   *memLog

	mu   sync.Mutex
	recs []*schemas.Event
	keys []string
	pos  []byte
}

type hostOpts struct {
	state          state.Store
	webhookTimeout time.Duration
	noReader       bool
}

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	return logrus.NewEntry(l)
}

type memLog struct {
	mu   sync.Mutex
	logs []pipeline.WebhookLog
}

func (m *memLog) LogWebhooks(_ context.Context, l []pipeline.WebhookLog) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs = append(m.logs, l...)
	return nil
}

func (m *memLog) all() []pipeline.WebhookLog {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.logs)
}

func newHost(t *testing.T, cfg *shopify.Config, o hostOpts) *host {
	t.Helper()
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	raw, err := cfg.PluginJSON() // as plugins.ConnectorFactory encodes it
	if err != nil {
		t.Fatal(err)
	}
	if o.state == nil {
		st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		o.state = st
	}
	h := &host{t: t, state: o.state, log: &memLog{}}
	log := quietLog()
	h.src = plugins.NewSource(plugins.SourceConfig{
		Name: "shopify", Config: raw, State: o.state, Log: log, Webhooks: h.log,
		WebhookTimeout: o.webhookTimeout,
		// The test server lives until the host kills it, not as long as
		// the context of the Open that launched it.
		Launcher: func(context.Context) (*plugins.Plugin, error) {
			return plugins.ServeTest(context.Background(), "shopify", shopify.New(), log)
		},
	})
	mux := http.NewServeMux()
	h.src.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/webhooks/shopify"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.src.Open(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		stop()
		<-done
		h.src.Close(context.Background())
	})
	if o.noReader {
		close(done)
		return h
	}
	go func() {
		defer close(done)
		h.pump(rctx)
	}()
	return h
}

// pump is the engine: read, "make durable", ack.
func (h *host) pump(ctx context.Context) {
	for {
		recs, err := h.src.Read(ctx, 256)
		if err != nil {
			return
		}
		h.mu.Lock()
		for _, r := range recs {
			ev, err := schemas.DecodeEvent(r.Value)
			if err != nil {
				h.t.Errorf("record is not an event: %v: %s", err, r.Value)
				continue
			}
			h.recs = append(h.recs, ev)
			h.keys = append(h.keys, string(r.Key))
		}
		h.mu.Unlock()
		pos := make([]pipeline.Position, len(recs))
		for i, r := range recs {
			pos[i] = r.Position
		}
		if err := h.src.Ack(ctx, pos); err != nil {
			return
		}
	}
}

func (h *host) events() []*schemas.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.recs)
}

func (h *host) waitEvents(n int, d time.Duration) []*schemas.Event {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for {
		evs := h.events()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d events after %s, want %d", len(evs), d, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post sends one request and returns its status and body.
func post(t *testing.T, url string, body []byte, hdr http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signed returns the headers of a genuine delivery.
func signed(shop, topic, id, secret string, body []byte) http.Header {
	h := http.Header{}
	h.Set(shopify.HeaderShopDomain, shop)
	h.Set(shopify.HeaderTopic, topic)
	h.Set(shopify.HeaderWebhookID, id)
	h.Set(shopify.HeaderAPIVersion, "2026-10")
	h.Set(shopify.HeaderTriggeredAt, "2026-11-27T11:59:00.123456789Z")
	h.Set(shopify.HeaderHMAC, shopify.Sign(body, secret))
	return h
}

// webhookConfig serves the given shops (shop → secret) without backfill.
func webhookConfig(shops map[string]string) *shopify.Config {
	c := shopify.NewConfig().(*shopify.Config)
	c.Sync.Backfill, c.Sync.ReconcileEvery = false, 0
	for _, shop := range slices.Sorted(maps.Keys(shops)) {
		c.Stores = append(c.Stores, shopify.Store{ShopURL: shop, APISecret: config.Secret(shops[shop])})
	}
	return c
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
