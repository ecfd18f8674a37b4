package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/backoff"
	"github.com/tajo/tajo/pipeline/redirect"
)

// DefaultAPIVersion is the Admin API version tajo pins: the newest stable
// quarterly release, supported for at least a year from October 2026.
const DefaultAPIVersion = "2026-10"

// Config configures a Client. The yaml names are the connector's keys.
type Config struct {
	Shop        string `yaml:"shop"`         // <name>.myshopify.com
	AccessToken string `yaml:"access_token"` // never logged, never sent anywhere but the Admin API
	APIVersion  string `yaml:"api_version"`  // default DefaultAPIVersion
	// AdminURL replaces https://{shop} as the base of the Admin API, to
	// point the client at a simulator.
	AdminURL string `yaml:"admin_url"`

	Timeout      time.Duration `yaml:"timeout"`       // per request; default 30s
	MaxRetries   int           `yaml:"max_retries"`   // 429/5xx/network attempts after the first; default 8
	BackoffBase  time.Duration `yaml:"backoff_base"`  // default 500ms
	BackoffMax   time.Duration `yaml:"backoff_max"`   // default 60s
	PollInterval time.Duration `yaml:"poll_interval"` // bulk operation polling; default 2s
	// MaxLineBytes bounds one JSONL line of a bulk result (default 16 MiB);
	// MaxResponseBytes one GraphQL answer (default 32 MiB).
	MaxLineBytes     int `yaml:"max_line_bytes"`
	MaxResponseBytes int `yaml:"max_response_bytes"`

	HTTPClient *http.Client       `yaml:"-"`
	Log        logrus.FieldLogger `yaml:"-"`
}

// shopRE is the anchored myshopify rule of shopify.ValidShopDomain,
// repeated here so that the shopify package (whose plugin drives this
// client) can import admin without an import cycle.
var shopRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$`)

func validShop(s string) bool { return len(s) <= 253 && shopRE.MatchString(s) }

// Client talks to one shop's Admin GraphQL API. It is safe for concurrent
// use; concurrent callers share one view of the shop's cost bucket.
type Client struct {
	cfg      Config
	endpoint string
	hc       *http.Client
	log      logrus.FieldLogger
	bucket   bucket
	retry    backoff.Policy

	mu    sync.Mutex
	stats Stats
	// version is the X-Shopify-API-Version last answered, to notice when
	// Shopify falls forward from the pinned version.
	version string
}

// Stats counts what the client did; tests and metrics read it.
type Stats struct {
	Requests     int           // HTTP requests to the GraphQL endpoint
	Retries      int           // re-sent after 429, 5xx or a network error
	Throttled    int           // THROTTLED answers received
	ThrottleWait time.Duration // time spent waiting for the cost bucket
	BackoffWait  time.Duration // time spent in retry backoff
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if !validShop(cfg.Shop) {
		return nil, pipeline.Stop(fmt.Errorf("shopify admin: shop %q is not <name>.myshopify.com", cfg.Shop))
	}
	if cfg.AccessToken == "" {
		return nil, pipeline.Stop(fmt.Errorf("shopify admin: no access token configured for %s", cfg.Shop))
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 8
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = 16 << 20
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 32 << 20
	}
	base := "https://" + cfg.Shop
	if cfg.AdminURL != "" {
		u, err := url.Parse(cfg.AdminURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, pipeline.Stop(fmt.Errorf("shopify admin: admin_url %q is not an http(s) URL", cfg.AdminURL))
		}
		base = strings.TrimRight(cfg.AdminURL, "/")
	}
	c := &Client{
		cfg:      cfg,
		endpoint: fmt.Sprintf("%s/admin/api/%s/graphql.json", base, url.PathEscape(cfg.APIVersion)),
		hc:       cfg.HTTPClient,
		log:      cfg.Log,
		// Full jitter: every client of a shop draws on the same quota,
		// and spreading their retries over the whole wait thins the herd.
		retry: backoff.Policy{Initial: cfg.BackoffBase, Max: cfg.BackoffMax, Multiplier: 2, FullJitter: true, MaxAttempts: cfg.MaxRetries + 1},
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	c.hc = redirect.KeepHome(c.hc, tokenHeader, "the access token")
	if c.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		c.log = l
	}
	c.log = c.log.WithField("shop", cfg.Shop)
	return c, nil
}

// tokenHeader carries the Admin API access token.
const tokenHeader = "X-Shopify-Access-Token"

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.ThrottleWait = c.bucket.waited()
	return s
}

// APIVersion is the version Shopify last answered with
// (X-Shopify-API-Version), which differs from the pinned one after a fall
// forward; before the first answer, the pinned version. Events built from
// this client's objects carry it.
func (c *Client) APIVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != "" {
		return c.version
	}
	return c.cfg.APIVersion
}

func (c *Client) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// Cost is the extensions.cost of an answer.
type Cost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
}

// ThrottleStatus is the shop's cost bucket as Shopify last reported it.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// GraphQLError is one entry of a response's errors.
type GraphQLError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

type response struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *Cost `json:"cost"`
	} `json:"extensions"`
}

// Do runs one GraphQL operation and decodes data into out. It waits for
// the cost bucket before sending when the last known state says the query
// would be throttled, waits out THROTTLED answers, and retries 429, 5xx
// and network errors with backoff (honouring Retry-After). estimate is the
// expected cost (0 if unknown). Errors are classed for the pipeline:
// refused credentials and broken queries stop it (pipeline.Stop), what may
// pass with time is pipeline.Retry.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, estimate float64, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return pipeline.Stop(fmt.Errorf("shopify admin: encode variables: %w", err))
	}
	op := operationName(query)
	retries := 0
	for throttled := 0; ; {
		if err := c.bucket.wait(ctx, estimate); err != nil {
			return pipeline.Retry(err)
		}
		resp, retry, err := c.post(ctx, op, body)
		if err != nil {
			if !retry || c.retry.Exhausted(retries+1) || ctx.Err() != nil {
				return err
			}
			retries++
			c.count(func(s *Stats) { s.Retries++ })
			if werr := c.backoff(ctx, retries, err); werr != nil {
				return werr
			}
			continue
		}
		if resp.Extensions.Cost != nil {
			c.bucket.observe(*resp.Extensions.Cost)
			if estimate < resp.Extensions.Cost.RequestedQueryCost {
				estimate = resp.Extensions.Cost.RequestedQueryCost
			}
		}
		gerrs, err := parseErrors(resp.Errors)
		if err != nil {
			return pipeline.Retry(fmt.Errorf("shopify admin %s: %w", op, err))
		}
		if isThrottled(gerrs) {
			// The next loop waits until the bucket holds estimate again.
			// A bound stops a shop whose bucket never refills (another app
			// draining it) from pinning the client forever.
			c.count(func(s *Stats) { s.Throttled++ })
			if throttled++; throttled > 50 {
				return pipeline.Retry(fmt.Errorf("shopify admin %s: still throttled after %d waits", op, throttled))
			}
			if resp.Extensions.Cost == nil {
				c.bucket.drain()
			}
			continue
		}
		if len(gerrs) > 0 {
			return classifyGraphQL(op, gerrs)
		}
		if len(resp.Data) == 0 || string(resp.Data) == "null" {
			return pipeline.Retry(fmt.Errorf("shopify admin %s: answer has no data", op))
		}
		if out != nil {
			if err := json.Unmarshal(resp.Data, out); err != nil {
				return pipeline.Stop(fmt.Errorf("shopify admin %s: unexpected answer shape: %w", op, err))
			}
		}
		return nil
	}
}

// post sends one request; retry says whether a failure may pass.
func (c *Client) post(ctx context.Context, op string, body []byte) (*response, bool, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, false, pipeline.Stop(fmt.Errorf("shopify admin: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(tokenHeader, c.cfg.AccessToken)
	c.count(func(s *Stats) { s.Requests++ })
	res, err := c.hc.Do(req)
	if re := (*redirect.Error)(nil); errors.As(err, &re) {
		// Retrying cannot help: the address itself sends us elsewhere.
		return nil, false, pipeline.Stop(fmt.Errorf("shopify admin %s: %w: check admin_url (or the shop domain %s)", op, re, c.cfg.Shop))
	}
	if err != nil {
		// url.Error carries the endpoint, never the token (a header).
		return nil, true, pipeline.Retry(fmt.Errorf("shopify admin %s: %w", op, err))
	}
	defer res.Body.Close()
	c.noteVersion(res.Header.Get("X-Shopify-API-Version"))
	raw, err := io.ReadAll(io.LimitReader(res.Body, int64(c.cfg.MaxResponseBytes)+1))
	if err != nil {
		return nil, true, pipeline.Retry(fmt.Errorf("shopify admin %s: reading answer: %w", op, err))
	}
	switch code := res.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return nil, false, pipeline.Stop(fmt.Errorf("shopify admin: the access token was refused for shop %s (HTTP %d): reinstall the app or update access_token", c.cfg.Shop, code))
	case code == http.StatusTooManyRequests || code >= 500:
		return nil, true, &retryAfter{
			err:   pipeline.Retry(fmt.Errorf("shopify admin %s: HTTP %d: %s", op, code, excerpt(raw))),
			after: parseRetryAfter(res.Header.Get("Retry-After"), time.Now()),
		}
	case code == http.StatusNotFound:
		return nil, false, pipeline.Stop(fmt.Errorf("shopify admin: %s answered 404: the shop does not exist or API version %s is not served", c.cfg.Shop, c.cfg.APIVersion))
	case code != http.StatusOK:
		return nil, false, pipeline.Stop(fmt.Errorf("shopify admin %s: HTTP %d: %s", op, code, excerpt(raw)))
	}
	if len(raw) > c.cfg.MaxResponseBytes {
		return nil, false, pipeline.Stop(fmt.Errorf("shopify admin %s: answer larger than %d bytes", op, c.cfg.MaxResponseBytes))
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		// A cut-off body is what a dropped connection looks like: retry.
		return nil, true, pipeline.Retry(fmt.Errorf("shopify admin %s: answer is not valid JSON (%v): %s", op, err, excerpt(raw)))
	}
	return &r, false, nil
}

func (c *Client) noteVersion(v string) {
	if v == "" {
		return
	}
	c.mu.Lock()
	changed := v != c.version
	c.version = v
	c.mu.Unlock()
	if changed && v != c.cfg.APIVersion {
		c.log.WithFields(logrus.Fields{"pinned": c.cfg.APIVersion, "served": v}).
			Warn("shopify admin: Shopify served another API version than the pinned one (fell forward); update api_version")
	}
}

// retryAfter carries the server's requested delay with a retryable error.
type retryAfter struct {
	err   error
	after time.Duration
}

func (r *retryAfter) Error() string { return r.err.Error() }
func (r *retryAfter) Unwrap() error { return r.err }

// RetryAfter makes the server's wait a floor of the backoff (and of the
// engine's, should the error reach it).
func (r *retryAfter) RetryAfter() time.Duration { return r.after }

// parseRetryAfter reads seconds or an HTTP date; 0 if absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 86400 {
		return time.Duration(f * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff sleeps before retry n: exponential with full jitter, and at
// least the Retry-After the server gave, up to backoff_max (a server
// asking for an hour does not park the caller that long; its own retry
// comes later).
func (c *Client) backoff(ctx context.Context, n int, cause error) error {
	d := c.retry.Wait(n, min(backoff.ServerWait(cause), c.cfg.BackoffMax))
	c.count(func(s *Stats) { s.BackoffWait += d })
	c.log.WithFields(logrus.Fields{"attempt": n, "wait": d}).Debug("shopify admin: retrying: ", cause)
	return sleep(ctx, d)
}

// sleep is backoff.Sleep with a cut-short wait classed for the pipeline:
// a stopping caller may try again.
func sleep(ctx context.Context, d time.Duration) error {
	if err := backoff.Sleep(ctx, d); err != nil {
		return pipeline.Retry(err)
	}
	return nil
}

// parseErrors reads errors, which Shopify sends as a list of objects and,
// on some failures, as a bare string or object.
func parseErrors(raw json.RawMessage) ([]GraphQLError, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []GraphQLError
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("unexpected errors shape: %w", err)
		}
		return list, nil
	}
	return []GraphQLError{{Message: excerpt(raw)}}, nil
}

func isThrottled(errs []GraphQLError) bool {
	for _, e := range errs {
		if e.Extensions.Code == "THROTTLED" || strings.EqualFold(e.Message, "Throttled") {
			return true
		}
	}
	return false
}

func classifyGraphQL(op string, errs []GraphQLError) error {
	msgs := make([]string, 0, len(errs))
	retry := true
	for _, e := range errs {
		m := e.Message
		if e.Extensions.Code != "" {
			m += " [" + e.Extensions.Code + "]"
		}
		msgs = append(msgs, m)
		if e.Extensions.Code != "INTERNAL_SERVER_ERROR" && e.Extensions.Code != "SERVICE_UNAVAILABLE" {
			retry = false
		}
	}
	err := fmt.Errorf("shopify admin %s: GraphQL errors: %s", op, clip(strings.Join(msgs, "; "), 500))
	if retry {
		return pipeline.Retry(err)
	}
	// ACCESS_DENIED (a missing scope), MAX_COST_EXCEEDED or a schema error
	// will not pass by retrying.
	return pipeline.Stop(err)
}

func operationName(q string) string {
	q = strings.TrimSpace(q)
	for _, kw := range []string{"query ", "mutation "} {
		if rest, ok := strings.CutPrefix(q, kw); ok {
			if i := strings.IndexAny(rest, "( {"); i > 0 {
				return rest[:i]
			}
		}
	}
	return "query"
}

func excerpt(b []byte) string { return clip(strings.ToValidUTF8(string(b), "�"), 200) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
