package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	_ "github.com/tajo/tajo/sources/file"
)

// fakeTimed is a Timed with n records due each day from start, offered by
// pages. Its durable state (day, cursor) changes only in done, as a real
// timer's in the state store would, so a Runner built again over the same
// fakeTimed is a restart.
type fakeTimed struct {
	start time.Time
	n     int
	probe *probeSink

	mu          sync.Mutex
	day, cursor int     // durable: the day being worked, records done in it
	tickErrs    []error // returned by the next ticks, in turn
	offered     []string
	// early is set when done ran before every record it covers was
	// delivered to the sink (broker: none).
	early string
	dones int
}

func (f *fakeTimed) Process(_ context.Context, r *pipeline.Record) ([]*pipeline.Record, error) {
	return []*pipeline.Record{r}, nil
}

func (f *fakeTimed) NextRun() (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.start.Add(time.Duration(f.day) * 24 * time.Hour), nil
}

func (f *fakeTimed) Tick(_ context.Context, now time.Time, max int) ([]*pipeline.Record, func(context.Context) error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tickErrs) > 0 {
		err := f.tickErrs[0]
		f.tickErrs = f.tickErrs[1:]
		return nil, nil, err
	}
	if now.Before(f.start.Add(time.Duration(f.day) * 24 * time.Hour)) {
		return nil, func(context.Context) error { return nil }, nil
	}
	day, from := f.day, f.cursor
	to := min(from+max, f.n)
	var recs []*pipeline.Record
	for i := from; i < to; i++ {
		shop := []string{"a.myshopify.com", "b.myshopify.com"}[i%2]
		v := fmt.Sprintf("day=%d item=%d", day, i)
		f.offered = append(f.offered, v)
		recs = append(recs, &pipeline.Record{Key: []byte(shop), Value: []byte(v), Time: now})
	}
	return recs, func(context.Context) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.probe != nil && f.probe.broker == "none" {
			for _, r := range recs {
				if !f.probe.has(string(r.Value)) && f.early == "" {
					f.early = string(r.Value)
				}
			}
		}
		f.dones++
		f.cursor = to
		if f.cursor == f.n {
			f.day, f.cursor = f.day+1, 0
		}
		return nil
	}, nil
}

func (f *fakeTimed) state() (day, cursor, dones int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.day, f.cursor, f.dones
}

// probeSink keeps what reached it; block holds every Write until closed.
type probeSink struct {
	broker string
	mu     sync.Mutex
	got    []string
	keys   []string
	block  chan struct{}
}

func (p *probeSink) Open(context.Context) error  { return nil }
func (p *probeSink) Close(context.Context) error { return nil }
func (p *probeSink) Write(ctx context.Context, batch []*pipeline.Record) error {
	if p.block != nil {
		select {
		case <-p.block:
		case <-ctx.Done():
			return pipeline.Retry(ctx.Err())
		}
	}
	// A delivery is slow: done must still wait for it.
	time.Sleep(20 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range batch {
		p.got = append(p.got, string(r.Value))
		p.keys = append(p.keys, string(r.Key))
	}
	return nil
}

func (p *probeSink) has(v string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.got {
		if g == v {
			return true
		}
	}
	return false
}

func (p *probeSink) snapshot() ([]string, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...), append([]string(nil), p.keys...)
}

// The fake stage and sink of a test, by data_dir: registrations are
// global, and every other test's pipeline must not see them.
var fakes, probes sync.Map

func init() {
	pipeline.RegisterTransforms(func(cfg *config.Config, _ pipeline.Env) ([]pipeline.NamedTransform, error) {
		if f, ok := fakes.Load(cfg.DataDir); ok {
			return []pipeline.NamedTransform{{Name: "fake", Transform: f.(*fakeTimed)}}, nil
		}
		return nil, nil
	})
	pipeline.RegisterSink("timer_probe", func() any { return &struct{}{} }, func(_ any, env pipeline.Env) (pipeline.Sink, error) {
		p, ok := probes.Load(env.DataDir)
		if !ok {
			return nil, errors.New("no probe for this data_dir")
		}
		return p.(*probeSink), nil
	})
}

type timerRun struct {
	t     *testing.T
	dir   string
	cfg   *config.Config
	fake  *fakeTimed
	probe *probeSink
	log   *bytes.Buffer
	logMu *sync.Mutex
}

func newTimerRun(t *testing.T, broker string, fake *fakeTimed, extra string) *timerRun {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: %s
pipeline: {batch_size: 3, batch_wait: 5ms, commit_interval: 50ms, progress_interval: 50ms, shutdown_timeout: 200ms,
  retry: {initial: 10ms, max: 50ms, multiplier: 2, jitter: 0%s}}
sources:
  file: {path: in.jsonl, follow: true}
sinks:
  timer_probe: {}
`, dir, broker, extra)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	probe := &probeSink{broker: broker}
	fake.probe = probe
	fakes.Store(dir, fake)
	probes.Store(dir, probe)
	t.Cleanup(func() { fakes.Delete(dir); probes.Delete(dir) })
	return &timerRun{t: t, dir: dir, cfg: cfg, fake: fake, probe: probe, log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// start runs the pipeline until the returned stop is called; stop returns
// Run's error and how long the stop took.
func (r *timerRun) start(opts ...pipeline.Option) (func() (error, time.Duration), <-chan error) {
	log := logrus.New()
	log.SetOutput(lockedWriter{r.logMu, r.log})
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var err error
	go func() {
		err = pipeline.NewRunner(r.cfg, log, opts...).Run(ctx)
		close(finished)
	}()
	var once sync.Once
	var took time.Duration
	failed := make(chan error, 1)
	go func() { <-finished; failed <- err }()
	return func() (error, time.Duration) {
		once.Do(func() {
			t0 := time.Now()
			cancel()
			select {
			case <-finished:
			case <-time.After(10 * time.Second):
				r.t.Fatal("the pipeline did not stop within 10s")
			}
			took = time.Since(t0)
		})
		return err, took
	}, failed
}

func (r *timerRun) logText() string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.log.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func items(day, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("day=%d item=%d", day, i))
	}
	return out
}

func shopsOf(n int) []string {
	var out []string
	for i := range n {
		out = append(out, []string{"a.myshopify.com", "b.myshopify.com"}[i%2])
	}
	return out
}

// byShop lists values by key, in their order.
func byShop(vals, keys []string) string {
	m := map[string][]string{}
	for i, v := range vals {
		m[keys[i]] = append(m[keys[i]], v)
	}
	return fmt.Sprintf("a: %v; b: %v; other: %d", m["a.myshopify.com"], m["b.myshopify.com"], len(m)-2)
}

// A timer's records reach the sink by pages of pipeline.batch_size, its
// done comes only once the sink has them, and a day later on the
// simulated clock it runs again, with no input at all.
func TestTimerRecordsReachTheSinksOnASimulatedClock(t *testing.T) {
	for _, broker := range []string{"none", "{embedded: {fsync: false}}"} {
		t.Run(broker, func(t *testing.T) {
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := pipelinetest.NewClock(t0)
			fake := &fakeTimed{start: t0, n: 7}
			r := newTimerRun(t, broker, fake, "")
			stop, _ := r.start(pipeline.WithClock(clock))
			defer stop()

			day0 := items(0, 7)
			waitFor(t, "day 0 at the sink", func() bool { got, _ := r.probe.snapshot(); return len(got) >= 7 })
			waitFor(t, "day 0 done", func() bool { d, _, _ := fake.state(); return d == 1 })
			if _, _, dones := fake.state(); dones != 3 {
				t.Errorf("%d ticks done for 7 records by pages of 3, want 3", dones)
			}
			// Nothing more until the clock moves a day.
			time.Sleep(100 * time.Millisecond)
			// Each shop's records in their order (Kafka orders a shop's
			// partition, not the topic).
			if got, want := byShop(r.probe.snapshot()), byShop(day0, shopsOf(7)); got != want {
				t.Fatalf("day 0: %s, want %s", got, want)
			}
			clock.Add(24 * time.Hour)
			waitFor(t, "day 1 at the sink", func() bool { got, _ := r.probe.snapshot(); return len(got) >= 14 })
			if got, want := byShop(r.probe.snapshot()), byShop(append(day0, items(1, 7)...), append(shopsOf(7), shopsOf(7)...)); got != want {
				t.Fatalf("after a day: %s, want %s", got, want)
			}
			waitFor(t, "day 1 done", func() bool { d, _, _ := fake.state(); return d == 2 })
			fake.mu.Lock()
			early := fake.early
			fake.mu.Unlock()
			if early != "" {
				t.Fatalf("done ran before %q reached the sink", early)
			}
			// The timer sleeps until day 2, which never comes: the stop
			// does not wait for it.
			if err, took := stop(); err != nil || took > 2*time.Second {
				t.Fatalf("stop: %v after %s", err, took)
			}
			// The progress log says what the timer did.
			if log := r.logText(); !strings.Contains(log, `msg="timer:fake"`) || !strings.Contains(log, "ticks=6") || !strings.Contains(log, "records=14") {
				t.Fatalf("progress log without the timer's line:\n%s", log)
			}
		})
	}
}

// Killed before its records are handled, a timer's tick is not done, and
// the next start offers the same page again.
func TestTimerTickNotDoneIsOfferedAgainAfterRestart(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := pipelinetest.NewClock(t0)
	fake := &fakeTimed{start: t0, n: 2}
	r := newTimerRun(t, "none", fake, "")
	r.probe.block = make(chan struct{}) // the sink never answers
	stop, _ := r.start(pipeline.WithClock(clock))
	waitFor(t, "the first page offered", func() bool { fake.mu.Lock(); defer fake.mu.Unlock(); return len(fake.offered) == 2 })
	time.Sleep(50 * time.Millisecond)
	if err, _ := stop(); err != nil {
		t.Fatal(err)
	}
	if day, cursor, dones := fake.state(); day != 0 || cursor != 0 || dones != 0 {
		t.Fatalf("done was called for records no sink handled: day %d cursor %d dones %d", day, cursor, dones)
	}
	if got, _ := r.probe.snapshot(); len(got) != 0 {
		t.Fatalf("the blocked sink has %v", got)
	}

	r.probe.block = nil
	stop, _ = r.start(pipeline.WithClock(clock))
	defer stop()
	waitFor(t, "the page after the restart", func() bool { d, _, _ := fake.state(); return d == 1 })
	got, _ := r.probe.snapshot()
	if strings.Join(got, ",") != strings.Join(items(0, 2), ",") {
		t.Fatalf("after the restart the sink has %v", got)
	}
	fake.mu.Lock()
	offered := strings.Join(fake.offered, ",")
	fake.mu.Unlock()
	if want := strings.Join(append(items(0, 2), items(0, 2)...), ","); offered != want {
		t.Fatalf("offered %s, want the same page twice: %s", offered, want)
	}
}

// A retryable Tick error is retried with pipeline.retry's backoff; a fatal
// one stops the pipeline and names the timer.
func TestTimerTickErrors(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t.Run("retryable", func(t *testing.T) {
		fake := &fakeTimed{start: t0, n: 1, tickErrs: []error{pipeline.Retry(errors.New("disk busy")), errors.New("disk busy")}}
		r := newTimerRun(t, "none", fake, "")
		stop, _ := r.start(pipeline.WithClock(pipelinetest.NewClock(t0)))
		defer stop()
		waitFor(t, "the record after two failed ticks", func() bool { got, _ := r.probe.snapshot(); return len(got) == 1 })
		if log := r.logText(); strings.Count(log, "timer failed; retrying") != 1 || !strings.Contains(log, "disk busy") {
			t.Fatalf("want one warning for the first retry:\n%s", log)
		}
	})
	t.Run("fatal", func(t *testing.T) {
		fake := &fakeTimed{start: t0, n: 1, tickErrs: []error{pipeline.Stop(errors.New("state store is corrupt"))}}
		r := newTimerRun(t, "none", fake, "")
		stop, failed := r.start(pipeline.WithClock(pipelinetest.NewClock(t0)))
		defer stop()
		select {
		case err := <-failed:
			if want := "pipeline:file: input: timer fake: tick: fatal: state store is corrupt"; err == nil || err.Error() != want {
				t.Fatalf("want the timer and the cause named, got %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a fatal tick error did not stop the pipeline")
		}
	})
	t.Run("attempts exhausted", func(t *testing.T) {
		fake := &fakeTimed{start: t0, n: 1, tickErrs: []error{errors.New("disk busy"), errors.New("disk busy"), errors.New("disk busy")}}
		r := newTimerRun(t, "none", fake, ", max_attempts: 2")
		stop, failed := r.start(pipeline.WithClock(pipelinetest.NewClock(t0)))
		defer stop()
		select {
		case err := <-failed:
			if err == nil || !strings.Contains(err.Error(), "timer fake: tick still failing after 2 attempts") {
				t.Fatalf("got %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("max_attempts did not stop the pipeline")
		}
	})
}

// On the wall clock, a timer asleep until tomorrow does not hold a stop.
func TestTimerSleepDoesNotHoldShutdown(t *testing.T) {
	fake := &fakeTimed{start: time.Now().Add(24 * time.Hour), n: 1}
	r := newTimerRun(t, "none", fake, "")
	stop, _ := r.start()
	time.Sleep(200 * time.Millisecond)
	if err, took := stop(); err != nil || took > 2*time.Second {
		t.Fatalf("stop: %v after %s", err, took)
	}
}
