package plugins

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/backoff"
	"github.com/tajo/tajo/pipeline/state"
)

// SourceConfig configures NewSource. Zero durations take the defaults
// named on each field.
type SourceConfig struct {
	// Name is the component's name: the log field, the state bucket
	// ("plugins.<name>") and the webhook path ("/webhooks/<name>").
	Name string
	// Launch starts the plugin process.
	Launch LaunchConfig
	// Launcher, when set, replaces Launch(ctx, cfg.Launch); tests serve
	// plugins in process with it (see ServeTest).
	Launcher func(ctx context.Context) (*Plugin, error)
	// Config is the JSON the plugin's Configure receives, on every start.
	Config []byte
	// State persists the last acked position across runs of tajo; nil
	// keeps it in memory (a restarted plugin still resumes from it).
	State state.Store
	// Journal keeps the window of delivered webhook ids (Spec.Dedupe),
	// bucket "plugins.<name>.webhooks"; nil keeps it in memory.
	Journal *state.Journal
	Log     *logrus.Entry
	// HealthInterval is how often the plugin is health-checked (5s), and
	// HealthTimeout how long a check may take (5s).
	HealthInterval, HealthTimeout time.Duration
	// RestartInitial and RestartMax bound the exponential backoff between
	// restarts after a crash (250ms, 30s). The backoff resets once a
	// plugin has stayed up for a minute.
	RestartInitial, RestartMax time.Duration
	// WebhookTimeout is how long a webhook waits for the plugin's answer
	// and for its records to be acked before answering 503 (25s, below
	// the server's default 30s write timeout). A sender that gives up
	// sooner cancels the request and retries; the records still flow, and
	// the retry is deduplicated downstream.
	WebhookTimeout time.Duration
	// MaxBodyBytes caps a webhook body (5 MiB); larger ones get 413.
	MaxBodyBytes int64
	// MaxQueuedWebhooks bounds the webhooks whose records wait for Read
	// (64); beyond it new webhooks wait, then time out with 503.
	MaxQueuedWebhooks int
	// Webhooks, when set, receives one entry per webhook answered.
	Webhooks pipeline.WebhookLogger
	// Checks, when set, receives the plugin's connection checks.
	Checks pipeline.CheckReporter
}

func (c *SourceConfig) defaults() {
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	dur(&c.HealthInterval, 5*time.Second)
	dur(&c.HealthTimeout, 5*time.Second)
	dur(&c.RestartInitial, 250*time.Millisecond)
	dur(&c.RestartMax, 30*time.Second)
	dur(&c.WebhookTimeout, 25*time.Second)
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 5 << 20
	}
	if c.MaxQueuedWebhooks <= 0 {
		c.MaxQueuedWebhooks = 64
	}
	if c.Log == nil {
		c.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	if c.Launch.Name == "" {
		c.Launch.Name = c.Name
	}
	if c.Launch.Log == nil {
		c.Launch.Log = c.Log
	}
	if c.Launch.Checks == nil {
		c.Launch.Checks = c.Checks
	}
}

// stableAfter is how long a plugin must run before a crash counts as new
// rather than as the next one of a crash loop.
const stableAfter = time.Minute

const positionKey = "position"

// Source is a pipeline.Source backed by a plugin process. It launches the
// plugin on Open, restarts it with backoff whenever it crashes or fails a
// health check (resuming after the last acked position), merges the
// plugin's Run stream with the records its webhooks produce, persists the
// last acked plugin position before telling the plugin (persist, then ack),
// and answers each webhook only once its records are acked. It kills the
// process on every error path and on Close.
type Source struct {
	cfg    SourceConfig
	log    *logrus.Entry
	bucket string

	ctx    context.Context // lives until Close
	cancel context.CancelFunc
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	mu       sync.Mutex
	inst     *instance     // nil while restarting and after Close
	changed  chan struct{} // closed whenever inst changes
	gen      uint32
	lastAck  []byte // the last acked plugin position
	webhooks bool   // the plugin answers webhooks (Spec.Webhooks)
	waiters  map[uint64]chan struct{}
	nextSeq  uint64
	closed   bool

	signing *verifier   // how webhooks are authenticated (Spec.Signing); nil: by the plugin
	dedupe  *deliveries // the window of delivered webhook ids (Spec.Dedupe)
	ingress ingress     // the webhook endpoint's bounds and counters

	hooks  chan []*pipeline.Record  // webhook records on their way to Read
	weblog chan pipeline.WebhookLog // webhook log entries on their way to cfg.Webhooks
	fatal  chan struct{}            // closed when fatalErr is set
	// fatalErr is what stopped the supervisor for good; Read returns it
	// from then on.
	fatalErr error

	// Read's goroutine only.
	pending []*pipeline.Record
	eosGen  uint32 // the instance whose end of stream Read has seen
}

var _ pipeline.Source = (*Source)(nil)

// NewSource returns a source for the plugin cfg describes; nothing starts
// before Open.
func NewSource(cfg SourceConfig) *Source {
	cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{
		cfg: cfg, log: cfg.Log.WithField("plugin", cfg.Name), bucket: "plugins." + cfg.Name,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		changed: make(chan struct{}), waiters: map[uint64]chan struct{}{},
		hooks: make(chan []*pipeline.Record, cfg.MaxQueuedWebhooks), fatal: make(chan struct{}),
		dedupe: newDeliveries(cfg.Journal, "plugins."+cfg.Name+".webhooks", cfg.WebhookTimeout),
	}
	if cfg.Webhooks != nil {
		s.weblog = make(chan pipeline.WebhookLog, webhookLogQueue)
		go s.writeWebhookLog()
	}
	return s
}

// instance is one started plugin process and the goroutines that watch it.
type instance struct {
	p       *Plugin
	gen     uint32
	started time.Time
	out     chan []Record // the pump's records, unbuffered
	eos     chan struct{} // the plugin's Read returned io.EOF
	dead    chan struct{}
	once    sync.Once
	err     error
	stop    context.CancelFunc
}

func (i *instance) fail(err error) {
	i.once.Do(func() {
		i.err = err
		close(i.dead)
	})
}

// Open loads the last acked position, starts the plugin and configures
// and opens it. A plugin that does not come up is killed and its error
// returned (fatal for a configuration it refuses).
func (s *Source) Open(ctx context.Context) error {
	if s.cfg.State != nil {
		b, err := s.cfg.State.Get(s.bucket, positionKey)
		if err != nil {
			return fmt.Errorf("plugin %s: reading the last position: %w", s.cfg.Name, err)
		}
		s.mu.Lock()
		s.lastAck = b
		s.mu.Unlock()
	}
	inst, err := s.start(ctx)
	if err != nil {
		return err
	}
	if !s.install(inst) {
		return errClosed
	}
	s.wg.Add(2)
	go s.supervise()
	go func() {
		defer s.wg.Done()
		s.dedupe.run(s.ctx, func(err error, msg string) { s.log.WithError(err).Warn(msg) })
	}()
	return nil
}

var errClosed = pipeline.Retry(fmt.Errorf("%w: source closed", ErrUnavailable))

// start launches, configures and opens one plugin process.
func (s *Source) start(ctx context.Context) (*instance, error) {
	launch := s.cfg.Launcher
	if launch == nil {
		launch = func(ctx context.Context) (*Plugin, error) { return Launch(ctx, s.cfg.Launch) }
	}
	p, err := launch(ctx)
	if err != nil {
		if pipeline.ClassOf(err) == pipeline.Fatal {
			return nil, err // a refused executable: retrying changes nothing
		}
		return nil, pipeline.Retry(err)
	}
	sp := p.Source()
	if err := sp.Configure(ctx, s.cfg.Config); err != nil {
		p.Kill()
		return nil, fmt.Errorf("plugin %s: configure: %w", s.cfg.Name, err)
	}
	// Asked after Configure: whether a plugin takes webhooks may depend on
	// its configuration.
	spec, err := sp.Specify(ctx)
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("plugin %s: specify: %w", s.cfg.Name, err)
	}
	s.mu.Lock()
	pos := s.lastAck
	s.gen++
	gen := s.gen
	s.webhooks = spec.Webhooks
	s.signing = newVerifier(spec.Signing)
	if s.signing != nil {
		// Only an authenticated request may be answered as a duplicate or
		// hold up the copies of its delivery.
		s.dedupe.configure(spec.Dedupe)
	} else {
		s.dedupe.configure(nil)
	}
	s.mu.Unlock()
	if err := sp.Open(ctx, pos); err != nil {
		p.Kill()
		return nil, fmt.Errorf("plugin %s: open: %w", s.cfg.Name, err)
	}
	ictx, stop := context.WithCancel(s.ctx)
	inst := &instance{
		p: p, gen: gen, started: time.Now(), stop: stop,
		out: make(chan []Record), eos: make(chan struct{}), dead: make(chan struct{}),
	}
	go s.pump(ictx, inst)
	go s.health(ictx, inst)
	return inst, nil
}

// install makes inst current; after Close it kills inst instead.
func (s *Source) install(inst *instance) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		inst.stop()
		inst.p.Kill()
		return false
	}
	s.inst = inst
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return true
}

// retire removes a failed instance and kills its process.
func (s *Source) retire(inst *instance) {
	s.mu.Lock()
	if s.inst == inst {
		s.inst = nil
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	inst.stop()
	inst.p.Kill()
}

func (s *Source) current() *instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inst
}

// pump moves the plugin's records to Read. The channel is unbuffered, so
// at most one batch waits outside the plugin.
func (s *Source) pump(ctx context.Context, inst *instance) {
	for {
		recs, err := inst.p.Source().Read(ctx)
		if errors.Is(err, io.EOF) {
			close(inst.eos)
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				inst.fail(err)
			}
			return
		}
		select {
		case inst.out <- recs:
		case <-ctx.Done():
			return
		}
	}
}

// health fails the instance when the process has exited or stops
// answering health checks (a frozen process keeps its stream open).
func (s *Source) health(ctx context.Context, inst *instance) {
	t := time.NewTicker(s.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-inst.dead:
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, s.cfg.HealthTimeout)
		err := inst.p.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			inst.fail(err)
			return
		}
	}
}

// supervise restarts the plugin whenever the current instance fails, with
// exponential backoff, until Close or a fatal error (which Read returns,
// stopping the pipeline).
func (s *Source) supervise() {
	defer s.wg.Done()
	attempt := 0
	for {
		inst := s.current()
		if inst == nil {
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-inst.dead:
		}
		s.retire(inst)
		err := inst.err
		if pipeline.ClassOf(err) == pipeline.Fatal {
			s.report(err)
			return
		}
		if time.Since(inst.started) > stableAfter {
			attempt = 0
		}
		for {
			wait := s.backoff(attempt)
			attempt++
			s.log.WithError(err).WithFields(logrus.Fields{"attempt": attempt, "wait": wait.Round(time.Millisecond)}).Warn("plugin failed; restarting")
			if backoff.Sleep(s.ctx, wait) != nil {
				return
			}
			var next *instance
			next, err = s.start(s.ctx)
			if err == nil {
				if !s.install(next) {
					return
				}
				s.log.WithField("attempt", attempt).Info("plugin restarted")
				break
			}
			if s.ctx.Err() != nil {
				return
			}
			if pipeline.ClassOf(err) == pipeline.Fatal {
				s.report(err)
				return
			}
		}
	}
}

// backoff is the wait before restart number attempt+1: RestartInitial
// doubling up to RestartMax, ±20% so that plugins that crashed together
// do not restart in step.
func (s *Source) backoff(attempt int) time.Duration {
	p := backoff.Policy{Initial: s.cfg.RestartInitial, Max: s.cfg.RestartMax, Multiplier: 2, Jitter: 0.2}
	return p.Delay(attempt + 1)
}

// report records the fatal error that ended supervision, for Read.
func (s *Source) report(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fatalErr == nil {
		s.fatalErr = err
		close(s.fatal)
	}
}

// Position layout: a tag byte, then for plugin records the instance
// generation and the plugin's own position, for webhook records a sequence
// number. The generation keeps acks of a dead process's records from
// reaching its successor, which never emitted them.
const (
	tagPlugin  = 'p'
	tagWebhook = 'w'
)

func pluginPosition(gen uint32, pos []byte) pipeline.Position {
	b := make([]byte, 5+len(pos))
	b[0] = tagPlugin
	binary.BigEndian.PutUint32(b[1:5], gen)
	copy(b[5:], pos)
	return b
}

func webhookPosition(seq uint64) pipeline.Position {
	b := make([]byte, 9)
	b[0] = tagWebhook
	binary.BigEndian.PutUint64(b[1:], seq)
	return b
}

// Read returns the plugin's records and the webhooks' records as they
// come. It blocks while the plugin restarts. It returns io.EOF once a
// bounded plugin that takes no webhooks has finished.
func (s *Source) Read(ctx context.Context, max int) ([]*pipeline.Record, error) {
	if max <= 0 {
		max = 1
	}
	for len(s.pending) == 0 {
		s.mu.Lock()
		inst, changed, webhooks := s.inst, s.changed, s.webhooks
		s.mu.Unlock()
		var out <-chan []Record
		var eos <-chan struct{}
		if inst != nil && s.eosGen != inst.gen {
			out, eos = inst.out, inst.eos
		} else if inst != nil && !webhooks {
			return nil, io.EOF
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.fatal:
			s.mu.Lock()
			err := s.fatalErr
			s.mu.Unlock()
			return nil, err
		case <-s.done:
			return nil, errClosed
		case batch := <-s.hooks:
			s.pending = batch
		case recs := <-out:
			s.pending = make([]*pipeline.Record, len(recs))
			for i, r := range recs {
				s.pending[i] = &pipeline.Record{Key: r.Key, Value: r.Value, Time: r.Time, Position: pluginPosition(inst.gen, r.Position)}
			}
		case <-eos:
			s.eosGen = inst.gen
			if !webhooks {
				return nil, io.EOF
			}
		case <-changed:
		}
	}
	n := min(max, len(s.pending))
	out := s.pending[:n:n]
	s.pending = s.pending[n:]
	return out, nil
}

// Ack releases the webhooks whose records are now durable, persists the
// last plugin position, then forwards the positions of the running
// process to it.
func (s *Source) Ack(ctx context.Context, positions []pipeline.Position) error {
	var fwd [][]byte
	var last []byte
	var release []chan struct{}
	s.mu.Lock()
	cur := s.inst
	for _, p := range positions {
		switch {
		case len(p) == 9 && p[0] == tagWebhook:
			seq := binary.BigEndian.Uint64(p[1:])
			if ch, ok := s.waiters[seq]; ok {
				delete(s.waiters, seq)
				release = append(release, ch)
			}
		case len(p) >= 5 && p[0] == tagPlugin:
			pos := []byte(p[5:])
			if len(pos) > 0 {
				last = pos
			}
			if cur != nil && binary.BigEndian.Uint32(p[1:5]) == cur.gen {
				fwd = append(fwd, pos)
			}
		default:
			s.mu.Unlock()
			return pipeline.Stop(fmt.Errorf("plugin %s: ack of a position this source never produced: %x", s.cfg.Name, []byte(p)))
		}
	}
	s.mu.Unlock()
	for _, ch := range release {
		close(ch)
	}
	if last != nil {
		if s.cfg.State != nil {
			if err := s.cfg.State.Put(s.bucket, positionKey, last); err != nil {
				return fmt.Errorf("plugin %s: persisting position: %w", s.cfg.Name, err)
			}
		}
		s.mu.Lock()
		s.lastAck = append([]byte(nil), last...)
		s.mu.Unlock()
	}
	if len(fwd) > 0 {
		// The position is persisted: a plugin that cannot take the ack is
		// restarted, and nothing is lost.
		if err := cur.p.Source().Ack(ctx, fwd); err != nil && ctx.Err() == nil {
			cur.fail(err)
		}
	}
	return nil
}

// Close answers waiting webhooks with 503, stops and tears the plugin
// down, and kills its process.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	inst := s.inst
	s.inst = nil
	s.mu.Unlock()
	if inst == nil {
		return nil
	}
	defer inst.p.Kill()
	// The engine closes with a context that never ends; a frozen plugin
	// must not hold shutdown forever.
	ctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	sp := inst.p.Source()
	return errors.Join(sp.Stop(ctx), sp.Teardown(ctx))
}

// closeTimeout bounds Stop and Teardown together on Close.
const closeTimeout = 10 * time.Second

// LastAcked returns the last plugin position acked (persisted when State
// is set).
func (s *Source) LastAcked() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.lastAck...)
}

// Pid is the running plugin's process id; 0 while it restarts, after Close,
// or for a test server.
func (s *Source) Pid() int {
	if inst := s.current(); inst != nil {
		return inst.p.Pid()
	}
	return 0
}
