package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify/admin"
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
	sync   *syncer               // backfill and reconciliation; nil before Open

	stopOnce sync.Once
	stopped  chan struct{}
	bg       context.Context // background work (sync), ended by Stop
	cancel   context.CancelFunc
}

// storeConf is one store as the webhook path needs it.
type storeConf struct {
	Store
	secrets Secrets
	// admin confirms deletions with the Admin API (confirm.go); nil
	// without an access token.
	admin *admin.Client
}

var _ plugins.SourcePlugin = (*Plugin)(nil)

// New returns an unconfigured plugin.
func New() *Plugin {
	bg, cancel := context.WithCancel(context.Background())
	return &Plugin{log: plugins.Logrus(), stopped: make(chan struct{}), bg: bg, cancel: cancel}
}

// Specify describes the plugin. Once configured, it also tells the host
// how Shopify signs webhooks and with which secrets, so that the host
// authenticates each request while reading it (plugins.WebhookSigning):
// a configured shop by its own current and previous secret, any other
// shop (or none) by the app-level ones. HandleWebhook verifies again.
//
// And it names each delivery for the host's dedupe window
// (plugins.WebhookDedupe): X-Shopify-Webhook-Id per shop domain, kept
// dedupe_window. Shopify delivers at least once and retries whatever it
// did not see answered 2xx; the host answers the copies of a delivery it
// answered 2xx without calling the plugin.
func (p *Plugin) Specify(context.Context) (plugins.Spec, error) {
	spec := plugins.Spec{
		Name: "shopify", Version: "1", Webhooks: true,
		Summary: "Shopify stores: verified webhooks, bulk backfill and scheduled reconciliation",
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg != nil {
		sg := &plugins.WebhookSigning{
			Scheme:           plugins.SchemeHMACSHA256Base64,
			SignatureHeaders: []string{HeaderHMAC, strings.TrimPrefix(HeaderHMAC, "X-")},
			KeyHeaders:       []string{HeaderShopDomain, strings.TrimPrefix(HeaderShopDomain, "X-")},
			Secrets:          map[string][]string{},
			Default:          p.app.list(),
		}
		for shop, st := range p.stores {
			sg.Secrets[shop] = st.secrets.list()
		}
		spec.Signing = sg
		spec.Dedupe = &plugins.WebhookDedupe{
			IDHeaders:    []string{HeaderWebhookID, strings.TrimPrefix(HeaderWebhookID, "X-")},
			ScopeHeaders: sg.KeyHeaders,
			Window:       p.cfg.DedupeWindow,
		}
	}
	return spec, nil
}

// Configure decodes the connector's configuration (validated by the host
// already; validated again here, since a plugin binary may be launched by
// an older host) and removes the dedupe window an older tajo kept in
// state_dir (legacyWindowFile).
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
		stores[s.ShopURL] = &storeConf{Store: s, secrets: Secrets{Current: s.APISecret.Reveal(), Previous: s.PreviousAPISecret.Reveal()}, admin: deletionClient(s)}
	}
	p.log.SetLevel(logLevel(cfg))
	removeLegacyWindow(cfg.StateDir, p.log)
	p.mu.Lock()
	p.cfg, p.stores = cfg, stores
	p.app = Secrets{Current: cfg.APISecret.Reveal(), Previous: cfg.PreviousAPISecret.Reveal()}
	p.mu.Unlock()
	p.log.WithField("stores", len(stores)).Info("shopify configured")
	return nil
}

// ConnectorLogLevel implements plugins.LogLeveler: debug and log_level
// are the level of the plugin's own logger and of the host's for this
// connector's lines, so `debug: true` shows them with log.level info.
func (c *Config) ConnectorLogLevel() logrus.Level { return logLevel(c) }

// logLevel is log_level (verbose is trace), raised to debug by debug:
// true.
func logLevel(c *Config) logrus.Level {
	lv := logrus.InfoLevel
	switch c.LogLevel {
	case "trace", "verbose":
		lv = logrus.TraceLevel
	case "debug":
		lv = logrus.DebugLevel
	case "warn":
		lv = logrus.WarnLevel
	case "error":
		lv = logrus.ErrorLevel
	}
	if c.Debug && lv < logrus.DebugLevel {
		lv = logrus.DebugLevel
	}
	return lv
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
// method, signature (401 for any bad or missing one, before anything in
// the request is trusted: a configured shop is judged by its own secrets,
// any other by the app-level ones, and without those it is a 401 too),
// then the body (400 only when it is not JSON) and the topic's sync
// setting. Copies of a delivery already answered 2xx do not get here: the
// host answers them (Specify's WebhookDedupe).
//
// Every authenticated JSON delivery is answered 200 once its event is on
// Kafka (DESIGN.md invariant 7): one that cannot be normalized (missing
// headers, a shop not configured, a topic tajo does not know, no entity
// id, a destructive topic whose body does not fit it, a customers/delete
// whose customer the Admin API still has) travels as a
// schemas.TypeDeliveryUnprocessable event with its body, headers and the
// reason, which the chain puts in the error history. A customers/delete
// the Admin API could not confirm in time is answered 503, for Shopify to
// send again.
func (p *Plugin) HandleWebhook(ctx context.Context, req plugins.WebhookRequest) (plugins.WebhookResponse, error) {
	received := time.Now()
	info := plugins.WebhookInfo{
		Shop:       strings.ToLower(header(req.Header, HeaderShopDomain)),
		Topic:      header(req.Header, HeaderTopic),
		WebhookID:  header(req.Header, HeaderWebhookID),
		APIVersion: header(req.Header, HeaderAPIVersion),
		HMAC:       "missing",
	}
	if req.Method != http.MethodPost {
		return answer(unverified(info), http.StatusMethodNotAllowed, "POST only"), nil
	}
	p.mu.Lock()
	cfg, stores, app := p.cfg, p.stores, p.app
	p.mu.Unlock()
	if cfg == nil {
		return plugins.WebhookResponse{}, errors.New("shopify: webhook before Configure or after Teardown")
	}
	st := stores[info.Shop]
	sig := HMACHeader(req.Header)
	if sig != "" {
		info.HMAC = "invalid"
	}
	secrets := app
	if st != nil {
		secrets = st.secrets
	}
	if err := VerifyHMAC(req.Body, sig, secrets); err != nil {
		// With no secret of ours to judge it, a signature is unverifiable,
		// which is unauthorized: Shopify requires 401 here, configured
		// shop or not.
		return answer(unverified(info), http.StatusUnauthorized, http.StatusText(http.StatusUnauthorized)), nil
	}
	info.HMAC = "valid"
	info.Shop, info.Topic, info.WebhookID, info.APIVersion = clip(info.Shop), clip(info.Topic), clip(info.WebhookID), clip(info.APIVersion)
	if err := checkBody(req.Body); err != nil {
		return p.refuseBody(info, err), nil
	}
	w, herr := ParseHeaders(req.Header, req.Body, received)
	t, known := LookupTopic(w.Topic)
	if known && !topicEnabled(cfg.Sync, t.Name) {
		return answer(info, http.StatusOK, "topic not synced"), nil
	}
	var ev *schemas.Event
	switch {
	case herr != nil, st == nil:
		if !json.Valid(req.Body) {
			return p.refuseBody(info, errNotJSON), nil
		}
		reason := fmt.Sprintf("shop %s is not configured (connectors.shopify.stores)", w.Shop)
		if herr != nil {
			reason = herr.Error()
		}
		ev = Unprocessable(w, t.Kind, reason)
	default:
		var err error
		if ev, err = Normalize(w); err != nil {
			return p.refuseBody(info, err), nil
		}
		reason, err := confirmDeletion(ctx, st.admin, ev)
		if err != nil {
			p.log.WithFields(logrus.Fields{"shop": ev.Shop, "topic": ev.Topic, "webhook_id": info.WebhookID}).WithError(err).
				Warn("customers/delete answered 503: the Admin API did not confirm the deletion in time; Shopify sends it again")
			resp := answer(info, http.StatusServiceUnavailable, "the deletion could not be confirmed yet: retry later")
			resp.Header.Set("Retry-After", "60")
			return resp, nil
		}
		if reason != "" {
			ev = Unprocessable(w, t.Kind, reason)
		}
	}
	value, err := marshalData(ev)
	if err != nil {
		return plugins.WebhookResponse{}, fmt.Errorf("shopify: encoding the event: %w", err)
	}
	fields := logrus.Fields{"shop": ev.Shop, "topic": ev.Topic, "event_id": ev.ID, "webhook_id": info.WebhookID, "api_version": info.APIVersion}
	switch {
	case ev.Type == schemas.TypeDeliveryUnprocessable:
		p.log.WithFields(fields).WithField("reason", strings.Join(ev.Problems, "; ")).Warn("webhook accepted as unprocessable: it goes to the error history")
	case len(ev.Problems) > 0:
		p.log.WithFields(fields).WithField("problems", strings.Join(ev.Problems, "; ")).Info("webhook accepted without the fields it could not read")
	case cfg.LogWebhooks:
		p.log.WithFields(fields).Info("webhook")
	}
	resp := answer(info, http.StatusOK, "ok")
	resp.Records = []plugins.Record{{Key: []byte(ev.Shop), Value: value, Time: ev.OccurredAt}}
	return resp, nil
}

// refuseBody answers 400 for a signed body that is not JSON and says so at
// warn level: the webhook log has the row, this line has the reason.
func (p *Plugin) refuseBody(info plugins.WebhookInfo, err error) plugins.WebhookResponse {
	p.log.WithFields(logrus.Fields{"shop": info.Shop, "topic": info.Topic, "webhook_id": info.WebhookID}).
		WithError(err).Warn("signed webhook answered 400: its body is not JSON")
	return answer(info, http.StatusBadRequest, err.Error())
}

// unverified marks what an unauthenticated request claims: its shop is
// escaped and flagged so the webhook log never shows it as a tenant, and
// every header value is clipped and escaped.
func unverified(info plugins.WebhookInfo) plugins.WebhookInfo {
	info.Shop = plugins.Untrusted(info.Shop)
	info.Topic, info.WebhookID, info.APIVersion = quoteClip(info.Topic), quoteClip(info.WebhookID), quoteClip(info.APIVersion)
	return info
}

// quoteClip escapes control characters of an untrusted header value.
func quoteClip(s string) string {
	if s == "" {
		return ""
	}
	q := strconv.QuoteToASCII(clip(s))
	return q[1 : len(q)-1]
}

func answer(info plugins.WebhookInfo, status int, msg string) plugins.WebhookResponse {
	return plugins.WebhookResponse{
		Status: status, Info: info, Body: []byte(msg + "\n"),
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
	}
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

// Teardown stops everything.
func (p *Plugin) Teardown(ctx context.Context) error {
	_ = p.Stop(ctx)
	p.cancel()
	p.mu.Lock()
	p.cfg = nil
	p.mu.Unlock()
	return nil
}
