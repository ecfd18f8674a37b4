package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/plugins"
)

// Plugin is the Shopify source plugin (`tajo plugin shopify`): it answers
// the webhooks of every configured store on one endpoint, routed by
// X-Shopify-Shop-Domain, and streams each store's backfill and
// reconciliation. It holds no read position of its own: the host persists
// the position of every acked batch and hands it back to Open.
type Plugin struct {
	log *logrus.Logger

	mu     sync.Mutex
	cfg    *Config
	stores map[string]*storeConf // by shop domain
	app    Secrets               // the top-level secrets, for shops not configured
	dedupe *dedupe
	sync   *syncer // backfill and reconciliation; nil before Open

	stopOnce sync.Once
	stopped  chan struct{}
	bg       context.Context // background work (pruning, sync), ended by Stop
	cancel   context.CancelFunc
}

// storeConf is one store as the webhook path needs it.
type storeConf struct {
	Store
	secrets Secrets
}

var (
	_ plugins.SourcePlugin    = (*Plugin)(nil)
	_ plugins.WebhookFinisher = (*Plugin)(nil)
)

// New returns an unconfigured plugin.
func New() *Plugin {
	bg, cancel := context.WithCancel(context.Background())
	return &Plugin{log: plugins.Logrus(), stopped: make(chan struct{}), bg: bg, cancel: cancel}
}

// Specify describes the plugin.
func (p *Plugin) Specify(context.Context) (plugins.Spec, error) {
	return plugins.Spec{
		Name: "shopify", Version: "1", Webhooks: true,
		Summary: "Shopify stores: verified webhooks, bulk backfill and scheduled reconciliation",
	}, nil
}

// Configure decodes the connector's configuration (validated by the host
// already; validated again here, since a plugin binary may be launched by
// an older host) and opens the dedupe window in state_dir.
func (p *Plugin) Configure(_ context.Context, raw []byte) error {
	cfg := NewConfig().(*Config)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("%w: shopify: %v", plugins.ErrInvalidConfig, err)
	}
	if err := validate(cfg); err != nil {
		return fmt.Errorf("%w: shopify: %v", plugins.ErrInvalidConfig, err)
	}
	stores := map[string]*storeConf{}
	for _, s := range cfg.StoreList() {
		stores[s.ShopURL] = &storeConf{Store: s, secrets: Secrets{Current: s.APISecret, Previous: s.PreviousAPISecret}}
	}
	d, err := openDedupe(cfg.StateDir, cfg.DedupeWindow)
	if err != nil {
		return err
	}
	p.log.SetLevel(logLevel(cfg))
	p.mu.Lock()
	old := p.dedupe
	p.cfg, p.stores, p.dedupe = cfg, stores, d
	p.app = Secrets{Current: cfg.APISecret, Previous: cfg.PreviousAPISecret}
	p.mu.Unlock()
	if old != nil {
		old.close()
	}
	go d.pruneLoop(p.bg, 10*time.Minute)
	p.log.WithField("stores", len(stores)).Info("shopify configured")
	return nil
}

func logLevel(c *Config) logrus.Level {
	if c.Debug {
		return logrus.DebugLevel
	}
	switch c.LogLevel {
	case "trace", "verbose":
		return logrus.TraceLevel
	case "debug":
		return logrus.DebugLevel
	case "warn":
		return logrus.WarnLevel
	case "error":
		return logrus.ErrorLevel
	}
	return logrus.InfoLevel
}

// validate runs Config.Validate outside the host's config loader.
func validate(c *Config) error {
	var pr config.Problems
	c.Validate(&pr, "connectors.shopify")
	return pr.Err()
}

// Open starts the backfill and reconciliation of every store from the
// cursors in position (nil: first start).
func (p *Plugin) Open(_ context.Context, position []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg == nil {
		return fmt.Errorf("%w: shopify: Open before Configure", plugins.ErrInvalidConfig)
	}
	pos, err := decodePosition(position)
	if err != nil {
		// A position this plugin cannot read would restart every backfill
		// from scratch without saying so; refuse instead.
		return fmt.Errorf("%w: shopify: %v", plugins.ErrFatal, err)
	}
	if p.sync != nil {
		p.sync.stop()
	}
	p.sync = newSyncer(p.bg, p.cfg, pos, p.log)
	return nil
}

// Read returns the next batch of backfilled or reconciled events.
func (p *Plugin) Read(ctx context.Context) ([]plugins.Record, error) {
	p.mu.Lock()
	s := p.sync
	p.mu.Unlock()
	if s == nil {
		return nil, errors.New("shopify: Read before Open")
	}
	select {
	case <-p.stopped:
		return nil, io.EOF
	default:
	}
	return s.read(ctx, p.stopped)
}

// Ack has nothing to release: the host persisted the position first.
func (p *Plugin) Ack(context.Context, [][]byte) error { return nil }

// HandleWebhook judges one delivery, in the order its answer depends on:
// method, signature (401, before anything in the request is trusted; the
// compliance topics too), shop (404 for a store not configured), headers
// and body (400), then the dedupe window and the topic's sync setting.
func (p *Plugin) HandleWebhook(ctx context.Context, req plugins.WebhookRequest) (plugins.WebhookResponse, error) {
	received := time.Now()
	info := plugins.WebhookInfo{
		Shop:       strings.ToLower(header(req.Header, HeaderShopDomain)),
		Topic:      header(req.Header, HeaderTopic),
		WebhookID:  header(req.Header, HeaderWebhookID),
		APIVersion: header(req.Header, HeaderAPIVersion),
		HMAC:       "missing",
	}
	info.Shop, info.Topic, info.WebhookID, info.APIVersion = clip(info.Shop), clip(info.Topic), clip(info.WebhookID), clip(info.APIVersion)
	if req.Method != http.MethodPost {
		return answer(info, http.StatusMethodNotAllowed, "POST only"), nil
	}
	p.mu.Lock()
	cfg, stores, app, dd := p.cfg, p.stores, p.app, p.dedupe
	p.mu.Unlock()
	if cfg == nil || dd == nil {
		return plugins.WebhookResponse{}, errors.New("shopify: webhook before Configure or after Teardown")
	}
	st := stores[info.Shop]
	sig := HMACHeader(req.Header)
	if sig != "" {
		info.HMAC = "invalid"
	}
	var err error
	switch {
	case st != nil:
		err = VerifyHMAC(req.Body, sig, st.secrets)
	case app != (Secrets{}):
		err = VerifyHMAC(req.Body, sig, app)
	case info.Shop == "" && sig != "":
		// Without a shop there is no telling whose secret signed it; any
		// configured one that verifies gives the verdict its name.
		err = verifyAny(req.Body, sig, stores)
	case sig != "":
		// No secret can judge the signature of a shop we do not serve.
		return answer(info, http.StatusNotFound, "unknown shop"), nil
	default:
		err = VerifyHMAC(req.Body, sig, app)
	}
	if err != nil {
		return answer(info, HTTPStatus(err), http.StatusText(HTTPStatus(err))), nil
	}
	info.HMAC = "valid"
	if info.Shop == "" {
		return answer(info, http.StatusBadRequest, "missing header "+HeaderShopDomain), nil
	}
	if st == nil {
		return answer(info, http.StatusNotFound, "unknown shop"), nil
	}
	w, err := ParseHeaders(req.Header, req.Body, received)
	if err != nil {
		return answer(info, HTTPStatus(err), err.Error()), nil
	}
	t, ok := LookupTopic(w.Topic)
	if !ok {
		p.log.WithFields(logrus.Fields{"shop": w.Shop, "topic": clip(w.Topic)}).Debug("unsupported topic acknowledged")
		return answer(info, http.StatusOK, "topic not used"), nil
	}
	if !topicEnabled(cfg.Sync, t.Name) {
		return answer(info, http.StatusOK, "topic not synced"), nil
	}
	dup, token, err := dd.claim(ctx, dedupeKey(w.Shop, w.WebhookID))
	if err != nil {
		return plugins.WebhookResponse{}, fmt.Errorf("shopify: dedupe window: %w", err)
	}
	if dup {
		return answer(info, http.StatusOK, "duplicate"), nil
	}
	ev, err := Normalize(w)
	if err == nil {
		var value []byte
		if value, err = marshalData(ev); err == nil {
			if cfg.LogWebhooks {
				p.log.WithFields(logrus.Fields{"shop": ev.Shop, "topic": ev.Topic, "event_id": ev.ID, "webhook_id": w.WebhookID, "api_version": w.APIVersion}).Info("webhook")
			}
			resp := answer(info, http.StatusOK, "ok")
			resp.Records = []plugins.Record{{Key: []byte(ev.Shop), Value: value, Time: ev.OccurredAt}}
			resp.DoneToken = token
			return resp, nil
		}
	}
	_ = dd.finish(token, false)
	return answer(info, HTTPStatus(err), err.Error()), nil
}

// verifyAny checks sig against every configured store's secrets.
func verifyAny(body []byte, sig string, stores map[string]*storeConf) error {
	err := VerifyHMAC(body, sig, Secrets{})
	for _, st := range stores {
		if err = VerifyHMAC(body, sig, st.secrets); err == nil {
			return nil
		}
	}
	return err
}

func answer(info plugins.WebhookInfo, status int, msg string) plugins.WebhookResponse {
	return plugins.WebhookResponse{
		Status: status, Info: info, Body: []byte(msg + "\n"),
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
	}
}

// WebhookDone commits a delivery to the dedupe window once the host
// answered it 2xx (its event is on Kafka), and releases it otherwise.
func (p *Plugin) WebhookDone(_ context.Context, token []byte, status int) error {
	p.mu.Lock()
	dd := p.dedupe
	p.mu.Unlock()
	if dd == nil {
		return nil
	}
	return dd.finish(token, status >= 200 && status < 300)
}

// topicEnabled maps a topic to the sync.* switch that governs it. Shop
// and compliance topics always pass: a redaction request must never be
// dropped by a sync setting.
func topicEnabled(s Sync, topic string) bool {
	switch {
	case strings.HasPrefix(topic, "customer"):
		return s.Customers || topic == "customers/data_request" || topic == "customers/redact"
	case strings.HasPrefix(topic, "orders/"), strings.HasPrefix(topic, "refunds/"), strings.HasPrefix(topic, "fulfillments/"):
		return s.Orders
	case strings.HasPrefix(topic, "checkouts/"), strings.HasPrefix(topic, "carts/"):
		return s.Carts
	case strings.HasPrefix(topic, "products/"):
		return s.Products.Enabled
	case strings.HasPrefix(topic, "inventory_"):
		return s.Inventory.Enabled
	}
	return true
}

// TestConnection checks every store's Admin API and says what it saw.
func (p *Plugin) TestConnection(ctx context.Context) (string, error) {
	p.mu.Lock()
	cfg := p.cfg
	p.mu.Unlock()
	if cfg == nil {
		return "", errors.New("shopify: not configured")
	}
	checks, err := TestConnection(ctx, cfg)
	var b strings.Builder
	for _, c := range checks {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n"), err
}

// Stop ends the backfill and reconciliation; a blocked Read returns.
func (p *Plugin) Stop(context.Context) error {
	p.stopOnce.Do(func() { close(p.stopped) })
	p.mu.Lock()
	s := p.sync
	p.mu.Unlock()
	if s != nil {
		s.stop()
	}
	return nil
}

// Teardown stops everything and closes the dedupe window.
func (p *Plugin) Teardown(ctx context.Context) error {
	_ = p.Stop(ctx)
	p.cancel()
	p.mu.Lock()
	dd := p.dedupe
	p.dedupe = nil
	p.mu.Unlock()
	if dd != nil {
		return dd.close()
	}
	return nil
}
