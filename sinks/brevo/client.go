package brevo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/redirect"
)

// DefaultBaseURL is Brevo's production API root.
const DefaultBaseURL = "https://api.brevo.com/v3"

// Brevo's documented per-request limits. Where the documentation says "KB"
// without saying which, the decimal reading is used: it is the smaller one,
// so a request that fits here fits Brevo under either reading.
const (
	MaxListContactsPerCall = 150
	MaxEventsPerBatch      = 200
	MaxEventBatchBytes     = 512_000
	MaxEventPropsBytes     = 50_000
	MaxProductsPerBatch    = 100
	MaxOrdersPerBatch      = 1000
	// MaxImportBytes is Brevo's recommended ceiling for an import's JSON
	// body (the hard limit is 10 MB; 8 MB is what the docs advise).
	MaxImportBytes = 8_000_000
)

// Config configures a Client. Only APIKey is required.
type Config struct {
	// APIKey masks itself wherever the Config is printed or encoded; New
	// reveals it once, into the Client.
	APIKey config.Secret
	// BaseURL defaults to DefaultBaseURL; tests point it at a brevotest.Server.
	BaseURL string
	// Timeout bounds each HTTP request (default 30s). A context deadline
	// shorter than it wins.
	Timeout time.Duration
	// HTTPClient replaces the default client; its Timeout is then the
	// caller's business.
	HTTPClient *http.Client
	UserAgent  string
	// PollInterval is the wait between import process polls (default 2s).
	PollInterval time.Duration
	// ImportMaxBytes caps each /contacts/import request body (default
	// MaxImportBytes); larger imports are split into several processes.
	ImportMaxBytes int
	// EventBatchMaxBytes caps each /events/batch body (default
	// MaxEventBatchBytes).
	EventBatchMaxBytes int
}

// String masks the key, so printing a Config (%v, %+v) cannot leak it.
func (c Config) String() string {
	return fmt.Sprintf("brevo.Config{BaseURL: %q, APIKey: %s}", c.BaseURL, maskKey(c.APIKey.Reveal()))
}

// GoString masks the key for %#v too.
func (c Config) GoString() string { return c.String() }

func maskKey(k string) string {
	if len(k) < 12 {
		return "****"
	}
	return "…" + k[len(k)-4:]
}

// RateLimit is what Brevo said about its rate limit on one response.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Duration
	Route     string
	Seen      time.Time
}

// Client talks to Brevo. It is safe for concurrent use.
type Client struct {
	key       string
	base      string
	http      *http.Client
	userAgent string
	poll      time.Duration
	importMax int
	eventMax  int

	mu      sync.Mutex
	last    RateLimit
	byRoute map[string]RateLimit
}

// New builds a Client.
func New(cfg Config) (*Client, error) {
	key := cfg.APIKey.Reveal() // the one place the key is revealed
	if strings.TrimSpace(key) == "" {
		return nil, errors.New("brevo: api key is empty: set sinks.brevo.api_key (or its env reference)")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if err := checkBaseURL(base); err != nil {
		shown := base
		if u, perr := url.Parse(base); perr == nil {
			shown = u.Redacted() // a password in the URL stays out of the message
		}
		return nil, fmt.Errorf("brevo: base url %q %w", shown, err)
	}
	c := &Client{
		key:       key,
		base:      strings.TrimRight(base, "/"),
		http:      cfg.HTTPClient,
		userAgent: cfg.UserAgent,
		poll:      cfg.PollInterval,
		importMax: cfg.ImportMaxBytes,
		eventMax:  cfg.EventBatchMaxBytes,
		byRoute:   map[string]RateLimit{},
	}
	if c.http == nil {
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		c.http = &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				TLSHandshakeTimeout:   10 * time.Second,
				ResponseHeaderTimeout: timeout,
				MaxIdleConnsPerHost:   16,
				IdleConnTimeout:       90 * time.Second,
			},
		}
	}
	c.http = redirect.KeepHome(c.http, "api-key", "the api-key")
	if c.userAgent == "" {
		c.userAgent = "tajo-brevo/1 (+https://github.com/tajo/tajo)"
	}
	if c.poll <= 0 {
		c.poll = 2 * time.Second
	}
	if c.importMax <= 0 {
		c.importMax = MaxImportBytes
	}
	if c.eventMax <= 0 || c.eventMax > MaxEventBatchBytes {
		c.eventMax = MaxEventBatchBytes
	}
	return c, nil
}

// KeyHint returns the key masked to its last four characters, the most of
// it that may appear in a message. Short keys are fully masked.
func (c *Client) KeyHint() string { return maskKey(c.key) }

func (c *Client) keyHintSuffix() string {
	if h := c.KeyHint(); h != "****" {
		return " ending in " + h
	}
	return ""
}

// LastRateLimit returns the rate-limit headers of the most recent response.
func (c *Client) LastRateLimit() RateLimit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// RateLimits returns the last rate-limit headers seen per route, since
// Brevo's limits differ by endpoint.
func (c *Client) RateLimits() map[string]RateLimit {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]RateLimit, len(c.byRoute))
	for k, v := range c.byRoute {
		out[k] = v
	}
	return out
}

func (c *Client) noteRateLimit(route string, h http.Header) (reset time.Duration) {
	lim, okL := headerInt(h, "x-sib-ratelimit-limit")
	rem, okR := headerInt(h, "x-sib-ratelimit-remaining")
	reset, okS := headerSeconds(h, "x-sib-ratelimit-reset")
	if !okL && !okR && !okS {
		return 0
	}
	rl := RateLimit{Limit: lim, Remaining: rem, Reset: reset, Route: route, Seen: time.Now()}
	c.mu.Lock()
	c.last = rl
	c.byRoute[route] = rl
	c.mu.Unlock()
	return reset
}

func headerInt(h http.Header, name string) (int, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil {
			return 0, false
		}
		n = int(f)
	}
	return n, true
}

// headerSeconds reads a seconds value, integer or fractional.
func headerSeconds(h http.Header, name string) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// maxErrorBody bounds how much of an error answer is read: enough for any
// Brevo error model, too little for a hostile proxy to exhaust memory.
const maxErrorBody = 64 << 10

// maxResponseBody bounds successful answers (a contact with many attributes
// or an attribute list is far below it).
const maxResponseBody = 32 << 20

// request describes one call.
type request struct {
	method string
	route  string // template for labels and errors, e.g. "GET /contacts/{identifier}"
	path   string // escaped path under the base URL
	query  url.Values
	body   []byte // JSON body, nil for none
	out    any    // decoded on 2xx when non-nil and the body is non-empty
}

// do performs one request and returns the HTTP status of a 2xx answer, or a
// classified error.
func (c *Client) do(ctx context.Context, r request) (int, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return 0, fmt.Errorf("brevo %s: building request: %w", r.route, err)
	}
	req.Header.Set("api-key", c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may hold an email address; keep
		// the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var re *redirect.Error
		if errors.As(err, &re) {
			// Retrying cannot help: the address itself sends us elsewhere.
			return 0, pipeline.Stop(fmt.Errorf("brevo %s: %w: set sinks.brevo.base_url to Brevo's API root (%s) or a proxy that does not redirect", r.route, err, DefaultBaseURL))
		}
		return 0, transportError(r.route, err)
	}
	defer resp.Body.Close()
	reset := c.noteRateLimit(r.route, resp.Header)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		if err != nil {
			return 0, transportError(r.route, fmt.Errorf("reading response: %w", err))
		}
		if r.out != nil && len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, r.out); err != nil {
				return 0, transportError(r.route, fmt.Errorf("decoding %d response: %w", resp.StatusCode, err))
			}
		}
		return resp.StatusCode, nil
	}

	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ae := &APIError{Status: resp.StatusCode, Route: r.route, body: data}
	var em struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Metadata struct {
			DuplicateIdentifiers []string `json:"duplicate_identifiers"`
		} `json:"metadata"`
	}
	if json.Unmarshal(data, &em) == nil {
		ae.Code, ae.Message = em.Code, em.Message
		ae.DuplicateIdentifiers = em.Metadata.DuplicateIdentifiers
	}
	if ae.Code == "" {
		ae.Code = "http_" + strconv.Itoa(resp.StatusCode)
	}
	if ae.Message == "" && len(data) > 0 && !json.Valid(data) {
		ae.Message = truncate(string(data), 200)
	}
	ae.Message = scrub(ae.Message, c.key)
	if resp.StatusCode == http.StatusTooManyRequests {
		ae.RetryAfter = reset
		if ae.RetryAfter <= 0 {
			// Brevo documents no Retry-After, but a proxy may add one.
			if s, ok := headerSeconds(resp.Header, "Retry-After"); ok {
				ae.RetryAfter = s
			} else {
				ae.RetryAfter = time.Second
			}
		}
	}
	return 0, c.classify(ae)
}

// postJSON marshals v and posts it.
func (c *Client) postJSON(ctx context.Context, route, path string, v, out any) (int, error) {
	b, err := jsonMarshal(v)
	if err != nil {
		return 0, fmt.Errorf("brevo %s: encoding body: %w", route, err)
	}
	return c.do(ctx, request{method: http.MethodPost, route: route, path: path, body: b, out: out})
}

// jsonMarshal encodes without HTML escaping: Brevo stores the text, not a
// web page, and "\u003c" costs six bytes of the size limits for each "<".
func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// chunk splits n items into consecutive [lo, hi) ranges of at most size.
func chunk(n, size int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}
