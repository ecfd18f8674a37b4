package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tajo/tajo/pipeline"
)

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
// After answering, and without delaying the answer, the request goes to
// the webhook log (SourceConfig.Webhooks) and its final status to the
// plugin (WebhookFinisher).
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var info WebhookInfo
	var size int
	status := http.StatusOK
	defer func() { s.logWebhook(start, info, status, size) }()

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	size = len(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
			http.Error(w, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBodyBytes), status)
			return
		}
		status = http.StatusBadRequest
		http.Error(w, "could not read the request body", status)
		return
	}
	inst := s.current()
	if inst == nil {
		status = unavailable(w, "plugin is restarting")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.WebhookTimeout)
	defer cancel()
	resp, err := inst.p.Source().HandleWebhook(ctx, WebhookRequest{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, RemoteAddr: r.RemoteAddr,
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
