package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
)

// Timed is implemented by a transform that has work of its own at times
// it keeps in the state store: the daily RECENCY sweep of the aggregates
// today, the cart-abandonment timers next. The runner finds it among the
// transforms it builds and drives it from one goroutine:
//
//   - NextRun says when Tick has work; the runner sleeps until then on
//     its Clock (woken at once by a shutdown).
//   - Tick(now, pipeline.batch_size) returns the records due, which go
//     where a source's records go: to the events topic through a Kafka
//     producer (keyed by shop, so a store's order is kept), or with
//     `broker: none` into the single flow; either way they then run
//     through the whole chain like any event.
//   - done is called once every one of those records is durable (every
//     replica has it, or every sink handled it), and before the next
//     Tick. A Tick again without done must offer the same work again:
//     that is what makes a kill -9 between the two harmless.
//
// The runner repeats Tick while NextRun is not after now, so a timer that
// works by pages (at most max records a Tick) catches up at once.
type Timed interface {
	NextRun() (time.Time, error)
	Tick(ctx context.Context, now time.Time, max int) (recs []*Record, done func(context.Context) error, err error)
}

// Clock is the time the runner's timers and stages see (Env.Now). The
// wall clock is the default; a test sets its own (WithClock) to move time
// by days.
type Clock interface {
	Now() time.Time
	// At fires once the clock reads t or later. It takes a time, not a
	// duration, so a clock moved between a Now and the wait is not
	// missed.
	At(t time.Time) <-chan time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time                  { return time.Now() }
func (wallClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// Option configures a Runner.
type Option func(*Runner)

// WithClock replaces the wall clock: the timers' due times, their now,
// and Env.Now for every component.
func WithClock(c Clock) Option {
	return func(r *Runner) {
		if c != nil {
			r.clock = c
		}
	}
}

const (
	// timerRecheck bounds one sleep: the wall clock can jump while a
	// monotonic sleep does not see it (a suspended host, NTP), so a day
	// is slept a minute at a time, asking NextRun again each time.
	timerRecheck = time.Minute
	// timerIdle is the pause after a Tick that yielded nothing and left
	// NextRun due: a timer that made no progress is not spun on.
	timerIdle = time.Second
)

// TimerStatus is one timer's counters in /status and the progress log.
type TimerStatus struct {
	Name    string    `json:"name"`
	Ticks   int64     `json:"ticks"`   // ticks completed (done called)
	Records int64     `json:"records"` // records those ticks emitted, all durable
	LastRun time.Time `json:"last_run,omitzero"`
	NextRun time.Time `json:"next_run,omitzero"`
	Retries int64     `json:"retries"`
}

// timerInput is a flow input driven by a Timed: with a broker it is the
// input of its own ingest flow (into a producer); with `broker: none` it
// is merged into the single flow beside the source (mergedInput). The
// records of one tick are emitted in order on one lane; the tick is
// complete when the last of them is acked, since a lane is acked only in
// order.
type timerInput struct {
	name  string
	timed Timed
	clock Clock
	max   int
	retry config.Retry
	log   *logrus.Entry

	ticks, records, retries atomic.Int64
	mu                      sync.Mutex
	lastRun, nextRun        time.Time
}

// tickAck is closed when the last record of a tick is acked.
type tickAck struct {
	once sync.Once
	ch   chan struct{}
}

// timerPos is the ack payload of a timer's record.
type timerPos struct {
	tick *tickAck
	last bool
}

func newTimerInput(name string, t Timed, clock Clock, cfg config.Pipeline, log *logrus.Entry) *timerInput {
	return &timerInput{name: name, timed: t, clock: clock, max: cfg.BatchSize, retry: cfg.Retry, log: log.WithField("timer", name)}
}

func (t *timerInput) run(ctx context.Context, emit func(int32, any, *Record) bool) error {
	err := t.loop(ctx, emit)
	if ctx.Err() != nil {
		// Stopping: a tick whose records were not all acked is not done,
		// and the next start offers it again.
		return nil
	}
	return err
}

func (t *timerInput) loop(ctx context.Context, emit func(int32, any, *Record) bool) error {
	for {
		var next time.Time
		if err := t.retrying(ctx, "next run", func(context.Context) (err error) { next, err = t.timed.NextRun(); return err }); err != nil {
			return err
		}
		t.setTimes(time.Time{}, next)
		now := t.clock.Now()
		if wait := next.Sub(now); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-t.clock.At(now.Add(min(wait, timerRecheck))):
			}
			continue
		}
		var recs []*Record
		var done func(context.Context) error
		if err := t.retrying(ctx, "tick", func(ctx context.Context) (err error) { recs, done, err = t.timed.Tick(ctx, now, t.max); return err }); err != nil {
			return err
		}
		if len(recs) > 0 {
			tk := &tickAck{ch: make(chan struct{})}
			for i, r := range recs {
				if !emit(0, timerPos{tick: tk, last: i == len(recs)-1}, r) {
					return nil
				}
			}
			select {
			case <-tk.ch:
			case <-ctx.Done():
				return nil
			}
		}
		if done != nil {
			if err := t.retrying(ctx, "done", done); err != nil {
				return err
			}
		}
		t.ticks.Add(1)
		t.records.Add(int64(len(recs)))
		t.setTimes(now, time.Time{})
		if len(recs) > 0 {
			t.log.WithFields(logrus.Fields{"records": len(recs), "now": now.Format(time.RFC3339)}).Info("timer tick handled")
		} else if n, err := t.timed.NextRun(); err == nil && !n.After(now) {
			if !sleep(ctx, timerIdle) {
				return nil
			}
		}
	}
}

// retrying calls fn until it succeeds, backing off as pipeline.retry says
// between retryable failures; a fatal one, or the last allowed attempt,
// stops the pipeline with the timer's name.
func (t *timerInput) retrying(ctx context.Context, what string, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if ClassOf(err) == Fatal {
			return fmt.Errorf("timer %s: %s: %w", t.name, what, err)
		}
		if m := t.retry.MaxAttempts; m > 0 && attempt >= m {
			return Stop(fmt.Errorf("timer %s: %s still failing after %d attempts: %w", t.name, what, attempt, err))
		}
		t.retries.Add(1)
		wait, lvl := retryWait(t.retry, attempt, err)
		t.log.WithFields(logrus.Fields{"step": what, "attempt": attempt, "wait": wait.Round(time.Millisecond)}).Logf(lvl, "timer failed; retrying: %v", err)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// setTimes notes the last completed tick and the next due time.
func (t *timerInput) setTimes(last, next time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !last.IsZero() {
		t.lastRun = last
	}
	if !next.IsZero() {
		t.nextRun = next
	}
}

func (t *timerInput) ack(_ context.Context, ready map[int32][]any) error {
	for _, items := range ready {
		for _, it := range items {
			if p, ok := it.(timerPos); ok && p.last {
				p.tick.once.Do(func() { close(p.tick.ch) })
			}
		}
	}
	return nil
}

func (t *timerInput) ackEvery() time.Duration { return 0 }

func (t *timerInput) status() TimerStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TimerStatus{Name: t.name, Ticks: t.ticks.Load(), Records: t.records.Load(), LastRun: t.lastRun, NextRun: t.nextRun, Retries: t.retries.Load()}
}

// findTimers returns a timer input for every Timed transform.
func findTimers(ts []NamedTransform, clock Clock, cfg config.Pipeline, log *logrus.Entry) []*timerInput {
	var out []*timerInput
	for _, t := range ts {
		if tm, ok := t.Transform.(Timed); ok {
			out = append(out, newTimerInput(t.Name, tm, clock, cfg, log))
		}
	}
	return out
}

// mergedInput is the input of the single flow of `broker: none`: the
// source on lane 0 and timer i on lane -1-i, so each keeps its own order
// and acks. It ends when the source ends (a bounded source finishing ends
// the run, as without timers).
type mergedInput struct {
	src    input
	timers []*timerInput
}

func timerLane(i int) int32 { return int32(-1 - i) }

func (m *mergedInput) run(ctx context.Context, emit func(int32, any, *Record) bool) error {
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(m.timers))
	for i, t := range m.timers {
		lane := timerLane(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := t.run(sub, func(_ int32, p any, r *Record) bool { return emit(lane, p, r) }); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	err := m.src.run(sub, emit)
	cancel()
	// emit must not be called once run has returned: wait for the timers.
	wg.Wait()
	close(errs)
	for e := range errs {
		err = e // a timer's failure is why the source stopped
	}
	return err
}

func (m *mergedInput) ack(ctx context.Context, ready map[int32][]any) error {
	src := make(map[int32][]any, len(ready))
	for lane, items := range ready {
		if lane >= 0 {
			src[lane] = items
			continue
		}
		if i := int(-1 - lane); i < len(m.timers) {
			// Idempotent: acked again if the source's ack fails and the
			// acker offers the same payloads once more.
			m.timers[i].ack(ctx, map[int32][]any{0: items})
		}
	}
	if len(src) == 0 {
		return nil
	}
	return m.src.ack(ctx, src)
}

func (m *mergedInput) ackEvery() time.Duration { return m.src.ackEvery() }
