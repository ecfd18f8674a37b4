package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
)

// Requests whose sender is not yet authenticated are bounded: at most
// maxUnauthenticatedReads bodies are being read at a time (beyond it:
// 503 with Retry-After, which Shopify retries), so a flood of unsigned
// 5 MiB requests costs at most 32 × MaxBodyBytes of memory, not one body
// per connection. The slot is held only while reading and verifying, not
// while the records wait for Kafka.
const maxUnauthenticatedReads = 32

// At most this many refused (unauthenticated) requests per second reach
// the webhook log; all are counted (Source.Unauthenticated).
const unauthenticatedLogPerSecond = 10

// ingress is the webhook endpoint's own state; its zero value is ready.
type ingress struct {
	once  sync.Once
	reads chan struct{}

	refused  atomic.Int64 // requests answered without authentication
	mu       sync.Mutex
	second   int64 // the Unix second sampled counts belong to
	sampled  int
	reported int64 // refused, as of the last report line
}

func (g *ingress) slots() chan struct{} {
	g.once.Do(func() { g.reads = make(chan struct{}, maxUnauthenticatedReads) })
	return g.reads
}

// sample reports whether a refused request may go to the webhook log.
func (g *ingress) sample(now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := now.Unix(); s != g.second {
		g.second, g.sampled = s, 0
	}
	g.sampled++
	return g.sampled <= unauthenticatedLogPerSecond
}

// Unauthenticated is how many webhook requests were refused before their
// sender was authenticated (bad or missing signature, too many unsigned
// requests at once, a body over the limit), since NewSource.
func (s *Source) Unauthenticated() int64 { return s.ingress.refused.Load() }

var _ pipeline.Counter = (*Source)(nil)

// Counters implements pipeline.Counter: /status shows the unauthenticated
// count under the source's name.
func (s *Source) Counters() map[string]int64 {
	return map[string]int64{"unauthenticated": s.Unauthenticated()}
}

// reportUnauthenticated logs, once a minute when there were any, how many
// requests were refused unauthenticated: the webhook log only samples them.
func (s *Source) reportUnauthenticated() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		n := s.ingress.refused.Load()
		if d := n - s.ingress.reported; d > 0 {
			s.log.WithFields(logrus.Fields{"last_minute": d, "total": n}).Warn("webhook requests refused without a valid signature")
		}
		s.ingress.reported = n
	}
}

// Untrusted is how a name taken from an unauthenticated request (a shop
// domain) is stored: escaped, so no control character reaches a terminal
// that prints it, clipped, and marked so it is never taken for a tenant.
func Untrusted(s string) string {
	if s == "" {
		return ""
	}
	const max = 64
	if len(s) > max {
		s = s[:max]
	}
	return "unverified:" + strconv.QuoteToASCII(s)
}

// Mount routes POST and every other method on /webhooks/<name> (and paths
// below it, e.g. /webhooks/shopify/orders-create) to the plugin. A nil mux
// (server.listen is empty) mounts nothing.
func (s *Source) Mount(mux *http.ServeMux) {
	if mux == nil {
		return
	}
	p := s.WebhookPath()
	mux.Handle(p, s)
	mux.Handle(p+"/", s)
	go s.reportUnauthenticated()
}

// WebhookPath is where Mount routes the plugin's webhooks.
func (s *Source) WebhookPath() string { return "/webhooks/" + s.cfg.Name }

// ServeHTTP hands one request to the plugin. The plugin's answer is sent
// as is, except that a response carrying records waits until the engine
// has acked every one of them, i.e. until they are durably on Kafka: the
// sender never gets a 2xx for an event tajo could still lose. Whenever
// that cannot be known in time (plugin crashed or restarting, timeout,
// shutdown) the answer is 503 and the sender retries; duplicates are
// harmless downstream.
//
// When the plugin declared how its webhooks are signed (Spec.Signing),
// the request is authenticated here first: a missing signature or one no
// candidate secret can have made is a 401 before the body is read, and
// the body is hashed as it is read, so that nothing of an unauthenticated
// request ever reaches the plugin. A body over MaxBodyBytes is a 413,
// before it is read when its Content-Length says so.
//
// An authenticated copy of a delivery already answered 2xx (Spec.Dedupe)
// is answered 200 "duplicate" here, without reaching the plugin; a copy
// of one still being handled waits for that one's outcome (deliveries).
//
// After answering, and without delaying the answer, the request goes to
// the webhook log (SourceConfig.Webhooks; refused unauthenticated ones
// sampled), a 2xx to the window of delivered ids and the final status to
// the plugin (WebhookFinisher).
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var info WebhookInfo
	var size int
	status := http.StatusOK
	defer func() {
		if info.HMAC != "valid" && status != http.StatusOK {
			s.refused(start, info, status, size)
			return
		}
		s.logWebhook(start, info, status, size)
	}()

	s.mu.Lock()
	v := s.signing
	s.mu.Unlock()
	var check *bodyCheck
	if v != nil {
		if r.Method != http.MethodPost {
			status = http.StatusMethodNotAllowed
			http.Error(w, "POST only", status)
			return
		}
		var verdict string
		check, verdict = v.start(r.Header)
		info = WebhookInfo{Shop: Untrusted(v.key(r.Header)), HMAC: verdict}
		if check == nil {
			status = http.StatusUnauthorized
			http.Error(w, "Unauthorized", status)
			return
		}
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		status = tooLarge(w, s.cfg.MaxBodyBytes)
		return
	}
	select {
	case s.ingress.slots() <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "1")
		status = http.StatusServiceUnavailable
		http.Error(w, "service unavailable: too many requests being read; retry later", status)
		return
	}
	body, err := readBody(r, s.cfg.MaxBodyBytes, check)
	<-s.ingress.slots()
	size = len(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = tooLarge(w, s.cfg.MaxBodyBytes)
			return
		}
		status = http.StatusBadRequest
		http.Error(w, "could not read the request body", status)
		return
	}
	if check != nil && !check.ok() {
		status = http.StatusUnauthorized
		http.Error(w, "Unauthorized", status)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.WebhookTimeout)
	defer cancel()
	if check != nil {
		info.HMAC = "valid"
		if key, scope, id := s.dedupe.key(r.Header); key != "" {
			dup, c, err := s.dedupe.claim(ctx, key)
			switch {
			case err != nil:
				s.log.WithField("webhook_id", id).Warn("webhook answered 503: a copy of the same delivery was still being handled")
				status = unavailable(w, "a copy of this delivery is still being handled")
				return
			case dup != nil:
				info = duplicateInfo(scope, id, dup)
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = io.WriteString(w, "duplicate\n")
				return
			}
			// Runs before the log's defer, with the status answered and
			// the plugin's Info.
			defer func() { s.dedupe.finish(c, status, info) }()
		}
	}
	inst := s.current()
	if inst == nil {
		status = unavailable(w, "plugin is restarting")
		return
	}
	resp, err := inst.p.Source().HandleWebhook(ctx, WebhookRequest{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr,
	})
	if err != nil {
		s.log.WithError(err).WithField("path", r.URL.Path).Warn("webhook not handled: the plugin did not answer")
		status = unavailable(w, "plugin did not answer")
		return
	}
	info = resp.Info
	if len(resp.DoneToken) > 0 {
		defer func() { s.webhookDone(resp.DoneToken, status) }()
	}
	if len(resp.Records) > 0 {
		if err := s.deliver(ctx, resp.Records); err != nil {
			s.log.WithError(err).WithFields(map[string]any{"path": r.URL.Path, "records": len(resp.Records)}).Warn("webhook answered 503: its records were not acked in time")
			status = unavailable(w, "not yet durable")
			return
		}
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if resp.Status != 0 {
		status = resp.Status
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}

// readBody reads at most limit bytes (a larger body is a
// *http.MaxBytesError), hashing them into check as they arrive.
func readBody(r *http.Request, limit int64, check *bodyCheck) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// ReadFrom wants MinRead bytes free before it reads again, to see
		// the end of the body: without them a body of the announced size
		// is copied once more.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	var src io.Reader = http.MaxBytesReader(nil, r.Body, limit)
	if check != nil {
		src = io.TeeReader(src, check)
	}
	// Read straight into buf: io.Copy through a MultiWriter would take a
	// 32 KB buffer per request.
	_, err := buf.ReadFrom(src)
	return buf.Bytes(), err
}

func tooLarge(w http.ResponseWriter, limit int64) int {
	// The rest of the body is not read: the connection closes after this.
	w.Header().Set("Connection", "close")
	http.Error(w, fmt.Sprintf("request body larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
	return http.StatusRequestEntityTooLarge
}

// webhookDone tells the running plugin, in the background, how a request
// was answered. The current process may not be the one that judged the
// request (it crashed meanwhile); tokens are self-describing for that.
func (s *Source) webhookDone(token []byte, status int) {
	inst := s.current()
	if inst == nil {
		return
	}
	f, ok := inst.p.Source().(WebhookFinisher)
	if !ok {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, doneTimeout)
		defer cancel()
		if err := f.WebhookDone(ctx, token, status); err != nil && s.ctx.Err() == nil {
			s.log.WithError(err).Debug("plugin not told how a webhook was answered")
		}
	}()
}

const doneTimeout = 10 * time.Second

func unavailable(w http.ResponseWriter, why string) int {
	w.Header().Set("Retry-After", "5")
	http.Error(w, "service unavailable: "+why+"; retry later", http.StatusServiceUnavailable)
	return http.StatusServiceUnavailable
}

// deliver queues a webhook's records for Read and waits until the last of
// them is acked; acks arrive in order, so the others are acked too.
func (s *Source) deliver(ctx context.Context, recs []Record) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	first := s.nextSeq
	s.nextSeq += uint64(len(recs))
	last := s.nextSeq - 1
	acked := make(chan struct{})
	s.waiters[last] = acked
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, last)
		s.mu.Unlock()
	}()
	batch := make([]*pipeline.Record, len(recs))
	for i, r := range recs {
		batch[i] = &pipeline.Record{Key: r.Key, Value: r.Value, Time: r.Time, Position: webhookPosition(first + uint64(i))}
	}
	select {
	case s.hooks <- batch:
	case <-ctx.Done():
		return fmt.Errorf("queueing: %w", ctx.Err())
	case <-s.done:
		return errClosed
	}
	select {
	case <-acked:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the ack: %w", ctx.Err())
	case <-s.done:
		return errClosed
	}
}
