package brevo

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
)

func init() {
	pipeline.RegisterSink("brevo", NewSinkConfig, func(spec any, env pipeline.Env) (pipeline.Sink, error) {
		return NewSink(*spec.(*SinkConfig), env)
	})
}

// Sink delivers tajo.event.v1 records to Brevo: contacts, lists, events,
// orders, products and categories, as the rules table in mapping.go says.
//
// One Write is planned record by record, grouped by endpoint and sent in
// dependency order (contacts, then lists, events and orders; the catalogue
// alongside). Each record's outcome is the worst of its calls: a record is
// delivered only when everything it asked for is. A Fatal answer (401/403,
// a list that does not exist, a wrongly typed attribute) fails the whole
// Write, so it can never be mistaken for a per-record rejection. A record
// the sink sends nothing for (a test order, a type without a rule, a
// refund without a known buyer; see nothingToSend) is reported as a
// pipeline.Skip with its reason, so the history says skipped.
type Sink struct {
	cfg    SinkConfig
	log    *logrus.Entry
	client *Client
	disc   *Discipline
	now    func() time.Time

	// sent is the durable record of the custom events Brevo accepted.
	sent *sentLog

	// disp queues the contact writes of every Write in flight
	// (dispatch.go); imports learns when an import ends (completion.go).
	disp    *dispatcher
	imports *completion

	// events queues the custom events of every Write in flight
	// (eventqueue.go).
	events *eventQueue

	// checks takes what Brevo said of the key (checks.go).
	checks      pipeline.CheckReporter
	keyReported atomic.Bool

	// known is what Brevo holds per contact (known.go).
	known *knownContacts

	mu    sync.Mutex
	attrs map[string]AttrType // known to exist in Brevo with this type
}

// NewSink builds a sink; nothing is sent before Open.
func NewSink(cfg SinkConfig, env pipeline.Env) (*Sink, error) {
	log := env.Log
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	disc := NewDiscipline(&http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}, DisciplineConfig{Timeout: cfg.Timeout, Initial: cfg.Concurrency.Initial, Max: cfg.Concurrency.Max, TotalRate: cfg.RateLimit, Retries: 2, RateShare: cfg.RateShare})
	client, err := New(Config{
		APIKey: cfg.APIKey, BaseURL: cfg.BaseURL, HTTPClient: &http.Client{Transport: disc},
		PollInterval: cfg.ImportPollInterval, ImportMaxBytes: cfg.Batch.Import.MaxBytes, EventBatchMaxBytes: cfg.Batch.Events.MaxBytes,
	})
	if err != nil {
		return nil, pipeline.Stop(err)
	}
	s := &Sink{cfg: cfg, log: log, client: client, disc: disc, now: time.Now, checks: env.Checks,
		attrs: map[string]AttrType{}, known: newKnownContacts(env.Journal, env.Name)}
	// Without a state store (tools, tests) sent events are remembered in
	// memory only; tajo run always has one.
	s.sent = newSentLog(env.State, env.Name, cfg.Events.DedupeWindow, func() time.Time { return s.now() })
	s.disp = newDispatcher(s)
	s.events = newEventQueue(s)
	s.imports = &completion{client: client, budget: newPollBudget(cfg.Import.PollsPerHour)}
	if cfg.Import.NotifyURL != "" {
		if env.HTTP == nil {
			return nil, pipeline.Stop(fmt.Errorf("brevo sink: import.notify_url is set but the webhook listener is off (server.listen is empty): Brevo's call would find nothing; set server.listen, or leave import.notify_url empty to poll"))
		}
		s.imports.notify = newNotifier(cfg.Import.NotifyURL, env.HTTP)
	}
	return s, nil
}

// Pipeline implements pipeline.PipelinedSink: sinks.brevo.pipeline batches
// are written at once, their contacts gathered in one queue.
func (s *Sink) Pipeline() int { return max(s.cfg.Pipeline, 1) }

// Client returns the underlying client (for tools and tests).
func (s *Sink) Client() *Client { return s.client }

// Discipline returns the transport, for its statistics.
func (s *Sink) Discipline() *Discipline { return s.disc }

// Open checks the key, makes every declared attribute exist with its
// type and checks that every configured list exists. A refused key, a type
// mismatch or a missing list is Fatal; Brevo being briefly unavailable is
// retried for a while.
func (s *Sink) Open(ctx context.Context) error {
	want := s.cfg.attributeTypes()
	var err error
	for attempt := 1; attempt <= 6; attempt++ {
		err = s.client.EnsureAttributes(ctx, want)
		s.reportKey(err)
		if err == nil {
			err = s.client.CheckLists(ctx, s.cfg.AllListIDs())
		}
		if err == nil {
			break
		}
		if pipeline.ClassOf(err) != pipeline.Retryable || ctx.Err() != nil {
			return fmt.Errorf("brevo sink: %w", err)
		}
		s.log.WithError(err).Warn("brevo sink: Brevo unavailable at start, retrying")
		if !sleepCtx(ctx, time.Duration(attempt)*time.Second) {
			return ctx.Err()
		}
	}
	if err != nil {
		return fmt.Errorf("brevo sink: %w", err)
	}
	s.mu.Lock()
	for k, v := range want {
		s.attrs[k] = v
	}
	s.mu.Unlock()
	// Events a previous run left in flight (killed between a request and
	// its answer's commit) are looked up in Brevo before anything is sent.
	if err := s.resolveInFlight(ctx); err != nil {
		if pipeline.ClassOf(err) == pipeline.Fatal {
			return fmt.Errorf("brevo sink: %w", err)
		}
		s.log.WithError(err).Warn("brevo sink: resolving events left in flight")
	}
	// What Brevo holds per contact, read before the first write.
	if err := s.readContacts(ctx); err != nil {
		return fmt.Errorf("brevo sink: reading Brevo's contacts: %w", err)
	}
	return nil
}

// Close has nothing to flush: Write returns only when its batch is
// handled. It stops the dispatcher and the event queue.
func (s *Sink) Close(context.Context) error {
	s.disp.stop()
	s.events.close(s.cfg.Timeout)
	return nil
}

// outcomes collects per-record results; the worst one wins.
type outcomes struct {
	mu   sync.Mutex
	errs []error
}

func rank(err error) int {
	switch pipeline.ClassOf(err) {
	case pipeline.Fatal:
		return 3
	case pipeline.Retryable:
		return 2
	case pipeline.Rejected:
		return 1
	}
	return 0
}

func (o *outcomes) set(i int, err error) {
	if err == nil {
		return
	}
	o.mu.Lock()
	if rank(err) > rank(o.errs[i]) {
		o.errs[i] = err
	}
	o.mu.Unlock()
}

func (o *outcomes) setAll(idx []int, err error) {
	for _, i := range idx {
		o.set(i, err)
	}
}

func (o *outcomes) get(i int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.errs[i]
}

func (o *outcomes) failed(i int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.errs[i] != nil
}

// Write delivers a batch; see Sink.
func (s *Sink) Write(ctx context.Context, batch []*pipeline.Record) error {
	t := s.disp.ticket(ctx)
	defer t.close()
	if len(batch) == 0 {
		return nil
	}
	now := s.now()
	if err := s.sent.prune(); err != nil {
		// The entries stay until the next prune; nothing is sent twice.
		s.log.WithError(err).Warn("brevo sink: pruning expired sent events failed")
	}
	out := &outcomes{errs: make([]error, len(batch))}
	plans := make([]*plan, len(batch))
	for i, rec := range batch {
		p, err := s.planRecord(rec, now)
		if err != nil {
			out.set(i, err)
			continue
		}
		plans[i] = p
	}
	if err := s.ensureAttributes(ctx, plans); err != nil {
		return err
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.writeCatalog(ctx, plans, out) }()
	contacts := s.coalesce(plans)
	for _, w := range contacts {
		w.out = out
	}
	t.submit(ctx, contacts, out)
	// What the contact writes taught is durable before Write returns, so
	// before any of these records is acked (known.go).
	if err := s.known.commit(); err != nil {
		wg.Wait()
		return pipeline.Retry(err)
	}
	if err := fatalOf(out); err != nil {
		wg.Wait()
		s.reportKey(err)
		return err
	}
	wg.Add(3)
	go func() { defer wg.Done(); s.writeLists(ctx, contacts, out) }()
	go func() { defer wg.Done(); s.writeEvents(ctx, plans, out) }()
	go func() { defer wg.Done(); s.writeOrders(ctx, plans, out) }()
	wg.Wait()
	if err := fatalOf(out); err != nil {
		s.reportKey(err)
		return err
	}
	for i, p := range plans {
		if p != nil && p.skip != "" && out.errs[i] == nil {
			out.errs[i] = pipeline.Skip(p.skip)
		}
	}
	return fold(out.errs)
}

// fatalOf returns the first Fatal outcome: it stops the pipeline, and
// returning it for the whole batch keeps it from ever reading as a
// rejection of one record.
func fatalOf(o *outcomes) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.errs {
		if pipeline.ClassOf(e) == pipeline.Fatal {
			return e
		}
	}
	return nil
}

// fold turns per-record outcomes into what Write returns. A retryable
// outcome carries the wait a 429 asked for, so the engine honours it.
func fold(errs []error) error {
	any := false
	for i, e := range errs {
		if e == nil {
			continue
		}
		any = true
		if d, ok := RetryAfter(e); ok && pipeline.ClassOf(e) == pipeline.Retryable {
			errs[i] = pipeline.Retry(&waitError{err: e, wait: d})
		}
	}
	if !any {
		return nil
	}
	return &pipeline.BatchError{Errs: errs}
}

// waitError makes a 429's reset visible to the engine (pipeline.RetryAfter).
type waitError struct {
	err  error
	wait time.Duration
}

func (e *waitError) Error() string             { return e.err.Error() }
func (e *waitError) Unwrap() error             { return e.err }
func (e *waitError) RetryAfter() time.Duration { return e.wait }

// ensureAttributes creates attributes a record carries that nobody
// declared, typed by their value, before any contact is written.
func (s *Sink) ensureAttributes(ctx context.Context, plans []*plan) error {
	s.mu.Lock()
	missing := map[string]AttrType{}
	for _, p := range plans {
		if p == nil || p.rule.contact != upsert {
			continue
		}
		for k, v := range p.attrs {
			up := strings.ToUpper(k)
			if _, ok := s.attrs[up]; !ok && v != nil && v != "" {
				missing[up] = inferType(v)
			}
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	if err := s.client.EnsureAttributes(ctx, missing); err != nil {
		if pipeline.ClassOf(err) == pipeline.Rejected {
			return pipeline.Stop(fmt.Errorf("brevo sink: creating attributes %v: %w", keys(missing), err))
		}
		return err
	}
	s.mu.Lock()
	for k, v := range missing {
		s.attrs[k] = v
	}
	s.mu.Unlock()
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// parallel runs fn(0..n-1) with at most limit at a time; the discipline
// decides how many requests are really in flight.
func parallel(n, limit int, fn func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}
