package shopifytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tajo/tajo/sources/shopify"
)

// Delivery is one webhook as Shopify would send it. Redeliveries (retries,
// duplicates) reuse WebhookID; EventID identifies the upstream event.
type Delivery struct {
	Topic       string
	Body        []byte
	WebhookID   string
	EventID     string
	TriggeredAt time.Time
}

// SendOption changes how deliveries are sent.
type SendOption func(*sendConfig)

type sendConfig struct {
	copies     int
	retries    int
	retryDelay time.Duration
	secret     *string
	shuffle    *uint64
	client     *http.Client
}

// Duplicates sends each delivery n times concurrently with the same
// webhook id, as Shopify does when an answer is late.
func Duplicates(n int) SendOption { return func(c *sendConfig) { c.copies = max(1, n) } }

// Retries re-sends a delivery (same id, same body, as Shopify's retry
// does) up to n more times while the answer is not 2xx, waiting delay
// between attempts.
func Retries(n int, delay time.Duration) SendOption {
	return func(c *sendConfig) { c.retries, c.retryDelay = n, delay }
}

// WithSecret signs with another secret (a rotated or wrong one).
func WithSecret(secret string) SendOption { return func(c *sendConfig) { c.secret = &secret } }

// Reordered makes SendAll deliver in a shuffled order (deterministic for a
// seed): Shopify does not order webhooks.
func Reordered(seed uint64) SendOption { return func(c *sendConfig) { c.shuffle = &seed } }

// WithClient sets the HTTP client (default: a client with Shopify's 5 s
// delivery timeout).
func WithClient(hc *http.Client) SendOption { return func(c *sendConfig) { c.client = hc } }

// Result reports what the receiver answered.
type Result struct {
	Statuses []int // every answer, in completion order
	Attempts int
}

// OK reports whether at least one attempt was answered 2xx.
func (r Result) OK() bool {
	for _, s := range r.Statuses {
		if s >= 200 && s < 300 {
			return true
		}
	}
	return false
}

var webhookSeq atomic.Int64

// NewDelivery stamps a body with fresh webhook and event ids.
func (s *Store) NewDelivery(topic string, body []byte) Delivery {
	n := webhookSeq.Add(1)
	return Delivery{
		Topic: topic, Body: body, TriggeredAt: time.Now().UTC(),
		WebhookID: fmt.Sprintf("b54557e4-bdd9-4b37-8a5f-%012x", n),
		EventID:   fmt.Sprintf("98880550-7158-44d4-b7cd-%012x", n),
	}
}

// SendWebhook posts body to url as a signed Shopify delivery of topic.
func (s *Store) SendWebhook(ctx context.Context, url, topic string, body []byte, opts ...SendOption) (Result, error) {
	return s.Deliver(ctx, url, s.NewDelivery(topic, body), opts...)
}

// Deliver posts d with every header Shopify sends.
func (s *Store) Deliver(ctx context.Context, url string, d Delivery, opts ...SendOption) (Result, error) {
	c := s.sendConfig(opts)
	var (
		mu  sync.Mutex
		res Result
		wg  sync.WaitGroup
		err error
	)
	for range c.copies {
		wg.Go(func() {
			for attempt := 0; ; attempt++ {
				status, e := s.post(ctx, c, url, d)
				mu.Lock()
				res.Attempts++
				if e != nil && err == nil {
					err = e
				}
				if e == nil {
					res.Statuses = append(res.Statuses, status)
				}
				mu.Unlock()
				if e == nil && status >= 200 && status < 300 || attempt >= c.retries || ctx.Err() != nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(c.retryDelay):
				}
			}
		})
	}
	wg.Wait()
	return res, err
}

// SendAll delivers ds one after another (in a shuffled order with
// Reordered), returning one Result per delivery in the order of ds.
func (s *Store) SendAll(ctx context.Context, url string, ds []Delivery, opts ...SendOption) ([]Result, error) {
	c := s.sendConfig(opts)
	order := make([]int, len(ds))
	for i := range order {
		order[i] = i
	}
	if c.shuffle != nil {
		r := rand.New(rand.NewPCG(*c.shuffle, 0x7a6a6f))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	out := make([]Result, len(ds))
	for _, i := range order {
		r, err := s.Deliver(ctx, url, ds[i], opts...)
		out[i] = r
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *Store) sendConfig(opts []SendOption) sendConfig {
	c := sendConfig{copies: 1}
	for _, o := range opts {
		o(&c)
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: 5 * time.Second}
	}
	return c
}

func (s *Store) post(ctx context.Context, c sendConfig, url string, d Delivery) (int, error) {
	secret := s.opts.Secret
	if c.secret != nil {
		secret = *c.secret
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set(shopify.HeaderTopic, d.Topic)
	h.Set(shopify.HeaderHMAC, shopify.Sign(d.Body, secret))
	h.Set(shopify.HeaderShopDomain, s.opts.Shop)
	h.Set(shopify.HeaderAPIVersion, s.opts.APIVersion)
	h.Set(shopify.HeaderWebhookID, d.WebhookID)
	h.Set(shopify.HeaderEventID, d.EventID)
	h.Set(shopify.HeaderTriggeredAt, d.TriggeredAt.Format(time.RFC3339Nano))
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// The helpers below render generated objects as REST webhook bodies
// (snake_case, integer ids, decimal-string money), the shape Shopify
// posts; Normalize decodes them back to CustomerAt/OrderAt/… .

// CustomerWebhook is the customers/create|update body of customer i.
func (s *Store) CustomerWebhook(i int) []byte { return mustJSON(s.CustomerAt(i)) }

// OrderWebhook is the orders/create|updated|paid body of order j.
func (s *Store) OrderWebhook(j int) []byte { return mustJSON(s.OrderAt(j)) }

// ProductWebhook is the products/create|update body of product k.
func (s *Store) ProductWebhook(k int) []byte { return mustJSON(s.ProductAt(k)) }

// CheckoutWebhook is the checkouts/create|update body of checkout i.
func (s *Store) CheckoutWebhook(i int) []byte { return mustJSON(s.CheckoutAt(i)) }

func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("shopifytest: %v", err)) // generated objects always marshal
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
