package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/broker"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/kafka"
	"github.com/tajo/tajo/pipeline/server"
	"github.com/tajo/tajo/pipeline/state"
)

// TransformBuilder builds the transform chain from the configuration. Stages
// that live outside the engine (transforms/) register one.
type TransformBuilder func(cfg *config.Config, env Env) ([]NamedTransform, error)

var (
	builderMu         sync.Mutex
	transformBuilders []TransformBuilder
)

// RegisterTransforms adds a builder; chains from several builders run in
// registration order.
func RegisterTransforms(b TransformBuilder) {
	builderMu.Lock()
	defer builderMu.Unlock()
	transformBuilders = append(transformBuilders, b)
}

// EventsTopic is the topic every source writes and the processing flow reads.
func EventsTopic(b config.Broker) string { return b.TopicPrefix + ".events.v1" }

// Runner runs a whole pipeline.yaml until it is stopped.
type Runner struct {
	cfg *config.Config
	log *logrus.Logger

	// clock is the timers' time and Env.Now (WithClock); the wall clock
	// by default.
	clock Clock

	mu      sync.Mutex
	flows   []*flow
	timers  []*timerInput
	sources []namedSource
	sinks   []NamedSink
	start   time.Time
	// addr and controlAddr are the bound webhook and control listener
	// addresses once Run has started them.
	addr, controlAddr string
}

// NewRunner returns a runner for a validated configuration.
func NewRunner(cfg *config.Config, log *logrus.Logger, opts ...Option) *Runner {
	r := &Runner{cfg: cfg, log: log, clock: wallClock{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

type closer struct {
	name string
	fn   func() error
}

// Run builds every component, runs until ctx is canceled (a graceful stop:
// intake stops, in-flight batches drain, what was handled is committed) or
// a fatal error, then closes everything. It returns nil after a graceful
// stop and the fatal error otherwise.
func (r *Runner) Run(ctx context.Context) (err error) {
	cfg := r.cfg
	log := logrus.NewEntry(r.log)
	r.start = time.Now()
	var closers []closer
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			if cerr := closers[i].fn(); cerr != nil {
				log.WithError(cerr).Warnf("closing %s", closers[i].name)
			}
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	st, err := state.Open(filepath.Join(cfg.DataDir, "state.db"))
	if err != nil {
		return err
	}
	closers = append(closers, closer{"state store", st.Close})
	// The state that changes with every record, committed once per batch
	// by the chain's last stage (JournalStage); closed after every flow
	// stopped and before state.db.
	journal, err := OpenJournal(st, cfg.DataDir)
	if err != nil {
		return err
	}
	closers = append(closers, closer{"state journal", journal.Close})

	var srv, ctl *server.Server
	if cfg.Server.Listen != "" {
		srv = server.New(cfg.Server.Listen, cfg.Server.ReadTimeout, cfg.Server.WriteTimeout)
	}
	if cfg.Control.Listen != "" {
		token, err := server.ControlToken(cfg.DataDir, cfg.Control.Token.Reveal())
		if err != nil {
			return err
		}
		ctl = server.NewControl(cfg.Control.Listen, token, cfg.Server.ReadTimeout, r.Status)
	}
	var webhooks WebhookLogger
	checks := newCheckLog(log.WithField("component", "checks"))
	env := func(name string) Env {
		e := Env{Name: name, DataDir: cfg.DataDir, Log: log.WithField("component", name), State: st, Journal: journal,
			PluginsDir: cfg.Path(cfg.Plugins.Dir), PluginSHA256: cfg.Plugins.Pins(), Webhooks: webhooks, Checks: checks,
			Now: r.clock.Now}
		if srv != nil {
			e.HTTP = srv.Mux
		}
		if ctl != nil {
			e.Control = ctl.Mux
		}
		return e
	}

	sinks, hist, dlq, cls, err := buildSinks(ctx, cfg, env, checks)
	closers = append(closers, cls...)
	// After the sinks' closers, so it runs before them: the checks of a
	// sink that failed to open are written while the history is open.
	closers = append(closers, closer{"connection checks", checks.close})
	if err != nil {
		return err
	}
	if hist != nil {
		webhooks = hist
	}
	sources, cls, err := buildSources(ctx, cfg, env)
	closers = append(closers, cls...)
	if err != nil {
		return err
	}
	var transforms []NamedTransform
	builderMu.Lock()
	builders := append([]TransformBuilder(nil), transformBuilders...)
	builderMu.Unlock()
	for _, b := range builders {
		ts, err := b(cfg, env("transforms"))
		if err != nil {
			return fmt.Errorf("transforms: %w", err)
		}
		transforms = append(transforms, ts...)
	}
	for _, t := range transforms {
		if c, ok := t.Transform.(Closer); ok {
			closers = append(closers, closer{"transform " + t.Name, func() error { return c.Close(context.Background()) }})
		}
	}

	// The transforms' timers (the RECENCY sweep) feed the flow that runs
	// the chain: with a broker through the events topic, else directly.
	var timers []*timerInput
	if cfg.Broker.None || len(sinks) > 0 {
		timers = findTimers(transforms, r.clock, cfg.Pipeline, log)
	}
	if len(transforms) > 0 {
		// Its Close is the journal closer above.
		transforms = append(transforms, JournalStage(journal))
	}

	// The flows that deliver to the sinks hand each record once to the
	// history sink (history.sink), which is then not among their fan-out
	// sinks.
	withHistory := func(f *flow) *flow {
		if hist != nil {
			f.useHistory(cfg.History.Sink, hist)
		}
		return f
	}
	var flows []*flow
	if cfg.Broker.None {
		if len(sources) != 1 {
			return fmt.Errorf("broker: none runs exactly one source, %d are enabled", len(sources))
		}
		s := sources[0]
		var in input = &sourceInput{name: s.name, src: s.src, max: cfg.Pipeline.BatchSize, retry: cfg.Pipeline.Retry, log: log.WithField("source", s.name)}
		if len(timers) > 0 {
			in = &mergedInput{src: in, timers: timers}
		}
		flows = append(flows, withHistory(newFlow("pipeline:"+s.name, in, transforms, sinks, dlq, cfg.Pipeline, log)))
	} else {
		addrs := cfg.Broker.Brokers
		if len(addrs) == 0 {
			b, err := broker.Start(broker.Options{
				Listen: cfg.Broker.Embedded.Listen, DataDir: filepath.Join(cfg.DataDir, "broker"),
				Fsync: cfg.Broker.Embedded.Fsync, SASL: cfg.Broker.Embedded.SASL, Log: log,
				// Topics of an older tajo, created without a limit of their
				// own, take the one tajo gives the topics it creates.
				MaxMessageBytes: kafka.TopicMaxMessageBytes, Retention: cfg.Broker.Retention,
			})
			if err != nil {
				return err
			}
			closers = append(closers, closer{"embedded broker", func() error { b.Close(); return nil }})
			addrs = b.Addrs()
			log.WithField("addr", addrs[0]).Info("embedded broker started")
		}
		conn, err := kafka.NewConn(cfg.Broker, addrs)
		if err != nil {
			return err
		}
		topic := EventsTopic(cfg.Broker)
		if err := conn.EnsureTopics(ctx, kafka.Topic{Name: topic, Partitions: cfg.Broker.Partitions, ReplicationFactor: cfg.Broker.ReplicationFactor}); err != nil {
			return err
		}
		limit := conn.MaxMessage(ctx, topic)
		log.WithFields(logrus.Fields{"topic": topic, "max_message_bytes": limit.Bytes, "from": limit.Source}).Info("kafka message size limit")
		for _, s := range sources {
			p := conn.NewProducer(topic, cfg.Pipeline.BatchSize, limit)
			closers = append(closers, closer{"kafka producer", p.Close})
			in := &sourceInput{name: s.name, src: s.src, max: cfg.Pipeline.BatchSize, retry: cfg.Pipeline.Retry, log: log.WithField("source", s.name)}
			f := newFlow("ingest:"+s.name, in, nil, []NamedSink{{Name: "kafka", Sink: &producer{p: p}}}, dlq, cfg.Pipeline, log)
			f.eager = true
			flows = append(flows, f)
		}
		// A timer writes to the topic like a source: its tick is done once
		// every replica has its records (acks=all).
		for _, t := range timers {
			p := conn.NewProducer(topic, cfg.Pipeline.BatchSize, limit)
			closers = append(closers, closer{"kafka producer", p.Close})
			f := newFlow("ingest:timer:"+t.name, t, nil, []NamedSink{{Name: "kafka", Sink: &producer{p: p}}}, dlq, cfg.Pipeline, log)
			f.eager = true
			flows = append(flows, f)
		}
		if len(sinks) > 0 {
			rd := conn.NewReader(topic, cfg.Broker.ConsumerGroup)
			closers = append(closers, closer{"kafka reader", rd.Close})
			in := &kafkaInput{r: rd, every: cfg.Pipeline.CommitInterval, retry: cfg.Pipeline.Retry, log: log.WithField("topic", topic)}
			flows = append(flows, withHistory(newFlow("process:"+topic, in, transforms, sinks, dlq, cfg.Pipeline, log)))
		}
	}
	r.mu.Lock()
	r.flows, r.timers, r.sources, r.sinks = flows, timers, sources, sinks
	r.mu.Unlock()

	for _, l := range []struct {
		s     *server.Server
		name  string
		addr  *string
		serve string
	}{
		{srv, "webhook listener", &r.addr, "/healthz and the connectors' endpoints (/webhooks/…)"},
		{ctl, "control listener", &r.controlAddr, "/status, /api/history; bearer token: control.token or data_dir/" + server.ControlTokenFile},
	} {
		if l.s == nil {
			continue
		}
		addr, err := l.s.Start()
		if err != nil {
			return err
		}
		r.mu.Lock()
		*l.addr = addr
		r.mu.Unlock()
		closers = append(closers, closer{l.name, func() error {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return l.s.Shutdown(c)
		}})
		log.WithFields(logrus.Fields{"addr": "http://" + addr, "serves": l.serve}).Info(l.name)
	}
	return r.runFlows(ctx, flows, serverErr(srv), serverErr(ctl), log)
}

// serverErr is where a listener reports failing; nil (which never
// delivers) for a disabled one.
func serverErr(s *server.Server) <-chan error {
	if s == nil {
		return nil
	}
	return s.Err()
}

func (r *Runner) runFlows(ctx context.Context, flows []*flow, webErr, ctlErr <-chan error, log *logrus.Entry) error {
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(flows))
	var wg sync.WaitGroup
	for _, f := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.run(run); err != nil {
				errs <- fmt.Errorf("%s: %w", f.name, err)
				cancel()
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	progress := time.NewTicker(r.cfg.Pipeline.ProgressInterval)
	defer progress.Stop()
	log.Infof("pipeline running: %d flow(s); Ctrl-C stops it cleanly", len(flows))
	var first error
loop:
	for {
		select {
		case <-progress.C:
			r.logProgress(log)
		case err := <-webErr:
			first = err
			cancel()
		case err := <-ctlErr:
			first = err
			cancel()
		case <-run.Done():
			break loop
		case <-allDone:
			break loop
		}
	}
	if ctx.Err() != nil {
		log.Info("stopping: intake stopped, draining in-flight batches")
	}
	<-allDone
	close(errs)
	for err := range errs {
		if first == nil {
			first = err
		} else {
			log.WithError(err).Error("flow failed")
		}
	}
	r.logProgress(log)
	return first
}

func (r *Runner) logProgress(log *logrus.Entry) {
	elapsed := time.Since(r.start).Seconds()
	for _, f := range r.snapshotFlows() {
		s := f.stats
		log.WithFields(logrus.Fields{
			"in": s.In.Load(), "delivered": s.Delivered.Load(), "rejected": s.Rejected.Load(),
			"filtered": s.Filtered.Load(), "acked": s.Acked.Load(), "in_flight": f.tr.inFlight(),
			"retries": s.Retries.Load(), "rate_per_s": int64(float64(s.In.Load()) / max(elapsed, 0.001)),
		}).Info(f.name)
	}
	for _, t := range r.snapshotTimers() {
		s := t.status()
		fields := logrus.Fields{"ticks": s.Ticks, "records": s.Records, "retries": s.Retries}
		if !s.LastRun.IsZero() {
			fields["last_run"] = s.LastRun.Format(time.RFC3339)
		}
		if !s.NextRun.IsZero() {
			fields["next_run"] = s.NextRun.Format(time.RFC3339)
		}
		log.WithFields(fields).Info("timer:" + s.Name)
	}
}

func (r *Runner) snapshotTimers() []*timerInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*timerInput(nil), r.timers...)
}

func (r *Runner) snapshotFlows() []*flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*flow(nil), r.flows...)
}

// FlowStatus is one flow's counters in /status.
type FlowStatus struct {
	Name      string `json:"name"`
	In        int64  `json:"in"`
	Delivered int64  `json:"delivered"`
	Rejected  int64  `json:"rejected"`
	Filtered  int64  `json:"filtered"`
	Acked     int64  `json:"acked"`
	InFlight  int    `json:"in_flight"`
	Retries   int64  `json:"retries"`
}

// Stats returns every flow's counters.
func (r *Runner) Stats() []FlowStatus {
	var out []FlowStatus
	for _, f := range r.snapshotFlows() {
		s := f.stats
		out = append(out, FlowStatus{
			Name: f.name, In: s.In.Load(), Delivered: s.Delivered.Load(), Rejected: s.Rejected.Load(),
			Filtered: s.Filtered.Load(), Acked: s.Acked.Load(), InFlight: f.tr.inFlight(), Retries: s.Retries.Load(),
		})
	}
	return out
}

// Counter is a source with counts of its own for /status, beside its
// flow's: name → count since it started (a plugin source's
// "unauthenticated": webhook requests refused before their sender was
// authenticated, which never become records).
type Counter interface {
	Counters() map[string]int64
}

// SourceStatus is a Counter source's counts in /status.
type SourceStatus struct {
	Name     string           `json:"name"`
	Counters map[string]int64 `json:"counters"`
}

// Status is the body of GET /status.
func (r *Runner) Status() any {
	var timers []TimerStatus
	for _, t := range r.snapshotTimers() {
		timers = append(timers, t.status())
	}
	r.mu.Lock()
	srcs := append([]namedSource(nil), r.sources...)
	snks := append([]NamedSink(nil), r.sinks...)
	r.mu.Unlock()
	var sources []SourceStatus
	for _, s := range srcs {
		if c, ok := s.src.(Counter); ok {
			sources = append(sources, SourceStatus{Name: s.name, Counters: c.Counters()})
		}
	}
	var sinks []SinkStatus
	for _, s := range snks {
		if sr, ok := s.Sink.(StatusReporter); ok {
			sinks = append(sinks, SinkStatus{Name: s.Name, Status: sr.Status()})
		}
	}
	return struct {
		Uptime  string         `json:"uptime"`
		Flows   []FlowStatus   `json:"flows"`
		Timers  []TimerStatus  `json:"timers,omitempty"`
		Sources []SourceStatus `json:"sources,omitempty"`
		Sinks   []SinkStatus   `json:"sinks,omitempty"`
	}{Uptime: time.Since(r.start).Round(time.Second).String(), Flows: r.Stats(), Timers: timers, Sources: sources, Sinks: sinks}
}

// SinkStatus is a StatusReporter sink's own status in /status.
type SinkStatus struct {
	Name   string `json:"name"`
	Status any    `json:"status"`
}

// ControlAddr is the control listener's bound address ("" before it starts
// or when control.listen is empty).
func (r *Runner) ControlAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.controlAddr
}

// Addr is the webhook listener's bound address ("" before it starts or when
// disabled).
func (r *Runner) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

type namedSource struct {
	name string
	src  Source
}

func buildSources(ctx context.Context, cfg *config.Config, env func(string) Env) ([]namedSource, []closer, error) {
	var out []namedSource
	var cls []closer
	for _, section := range []string{"sources", "connectors"} {
		names := slices.Sorted(maps.Keys(cfg.Components[section]))
		for _, name := range names {
			comp := cfg.Component(section, name)
			if comp == nil {
				continue
			}
			f, err := sourceFactory(section, name)
			if err != nil {
				return out, cls, err
			}
			src, err := f(comp.Spec, env(name))
			if err != nil {
				return out, cls, fmt.Errorf("%s.%s: %w", section, name, err)
			}
			if err := src.Open(ctx); err != nil {
				return out, cls, fmt.Errorf("%s.%s: open: %w", section, name, err)
			}
			cls = append(cls, closer{section + "." + name, func() error { return src.Close(context.Background()) }})
			out = append(out, namedSource{name: name, src: src})
		}
	}
	if len(out) == 0 {
		return nil, cls, errors.New("no source is enabled: enable one under sources: or connectors:")
	}
	return out, cls, nil
}

// buildSinks builds and opens the enabled sinks (the history sink first,
// so a sink whose credentials are refused in Open leaves its check in the
// history even though the run stops there) and resolves the sinks that
// history.sink and dead_letter.sink name. The history sink is also in the
// returned list: a flow without history delivers to it like any sink.
func buildSinks(ctx context.Context, cfg *config.Config, env func(string) Env, checks *checkLog) ([]NamedSink, HistorySink, DeadLetterSink, []closer, error) {
	var out []NamedSink
	var cls []closer
	byName := map[string]Sink{}
	var built []NamedSink
	for _, name := range slices.Sorted(maps.Keys(cfg.Components["sinks"])) {
		comp := cfg.Component("sinks", name)
		if comp == nil {
			continue
		}
		f, err := sinkFactory(name)
		if err != nil {
			return out, nil, nil, cls, err
		}
		s, err := f(comp.Spec, env(name))
		if err != nil {
			return out, nil, nil, cls, fmt.Errorf("sinks.%s: %w", name, err)
		}
		built = append(built, NamedSink{Name: name, Sink: s})
		byName[name] = s
	}
	var hist HistorySink
	if name := cfg.History.Sink; name != "" {
		h, err := namedSink[HistorySink](byName, "history.sink", name, "keep the sync history", "name one that can (clickhouse)")
		if err != nil {
			return out, nil, nil, cls, err
		}
		hist = h
		slices.SortStableFunc(built, func(a, b NamedSink) int {
			switch {
			case a.Name == name && b.Name != name:
				return -1
			case b.Name == name && a.Name != name:
				return 1
			}
			return 0
		})
	}
	var dl DeadLetterSink
	if name := cfg.DeadLetter.Sink; name != "" {
		d, err := namedSink[DeadLetterSink](byName, "dead_letter.sink", name, "store dead letters", "use dead_letter.path")
		if err != nil {
			return out, nil, nil, cls, err
		}
		dl = d
	}
	for _, ns := range built {
		name, s := ns.Name, ns.Sink
		if err := s.Open(ctx); err != nil {
			return out, nil, nil, cls, fmt.Errorf("sinks.%s: open: %w", name, err)
		}
		cls = append(cls, closer{"sinks." + name, func() error { return s.Close(context.Background()) }})
		out = append(out, ns)
		if hist != nil && name == cfg.History.Sink && checks != nil {
			checks.attach(hist)
		}
	}
	// Delivery order stays the configuration's (by name).
	slices.SortFunc(out, func(a, b NamedSink) int { return strings.Compare(a.Name, b.Name) })
	if dl != nil {
		return out, hist, dl, cls, nil
	}
	fdl, err := openFileDeadLetters(cfg.Path(cfg.DeadLetter.Path))
	if err != nil {
		return out, hist, nil, cls, err
	}
	cls = append(cls, closer{"dead-letter file", fdl.Close})
	return out, hist, fdl, cls, nil
}
