package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
)

// NamedTransform is a transform with the name it is reported under
// ("transform:<name>" in dead letters and logs).
type NamedTransform struct {
	Name string
	Transform
}

// NamedSink is a sink with its name in pipeline.yaml; Record.Sinks refers
// to these names.
type NamedSink struct {
	Name string
	Sink
}

// input is where a flow's records come from: a source, or a Kafka topic.
type input interface {
	// run reads until ctx is done or the input ends, calling emit for every
	// record in order. emit blocks for back-pressure and returns false when
	// the flow is stopping.
	run(ctx context.Context, emit func(lane int32, payload any, rec *Record) bool) error
	// ack hands the released payloads, in order per lane, back upstream.
	ack(ctx context.Context, ready map[int32][]any) error
	// ackEvery is how often to ack; 0 means as soon as anything is ready
	// (a webhook waits for its ack to answer 200).
	ackEvery() time.Duration
}

// flow runs one input through the transforms into every sink, and acks the
// input in order once every copy of a record is handled.
type flow struct {
	name       string
	in         input
	transforms []NamedTransform
	sinks      []*sinkWorker
	dlq        DeadLetterSink
	// history is the sink history.sink names (nil: none), fed each record
	// once after the fan-out sinks (history.go).
	history *history
	cfg     config.Pipeline
	log     *logrus.Entry
	stats   *FlowStats
	tr      *tracker

	failOnce sync.Once
	failErr  error
	failed   chan struct{}

	// eager hands a batch on as soon as the input has nothing more ready
	// instead of waiting pipeline.batch_wait to fill it (an ingest flow:
	// every webhook answer waits on its batch being on Kafka, and batches
	// fill from concurrency, while the previous one is being written).
	eager bool
}

// FlowStats are a flow's counters, read by progress output and /status.
type FlowStats struct {
	In        atomic.Int64 // records taken from the input
	Filtered  atomic.Int64 // records a transform dropped (handled)
	Delivered atomic.Int64 // record copies delivered to a sink
	Rejected  atomic.Int64 // record copies sent to the dead-letter path
	Retries   atomic.Int64 // failed attempts that were retried
	Acked     atomic.Int64 // records acked upstream
	InFlight  atomic.Int64 // records tracked and not yet released
}

type ackRef struct {
	tk      ticket
	pending atomic.Int32
	tr      *tracker
}

func (a *ackRef) release() {
	if a.pending.Add(-1) == 0 {
		a.tr.done(a.tk)
	}
}

type inMsg struct {
	ref *ackRef
	rec *Record
}

type sinkBatch struct {
	recs []*Record
	refs []*ackRef
	// hist gathers the outcomes for the history; ents[i] is recs[i]'s
	// entry there. Nil without a history.
	hist *historyBatch
	ents []int
}

type sinkWorker struct {
	NamedSink
	ch chan sinkBatch
}

func newFlow(name string, in input, ts []NamedTransform, sinks []NamedSink, dlq DeadLetterSink, cfg config.Pipeline, log *logrus.Entry) *flow {
	f := &flow{
		name: name, in: in, transforms: ts, dlq: dlq, cfg: cfg,
		log:    log.WithField("flow", name),
		stats:  &FlowStats{},
		tr:     newTracker(cfg.MaxInFlight, cfg.MaxInFlightBytes),
		failed: make(chan struct{}),
	}
	for _, s := range sinks {
		// Two batches queued per sink: enough to overlap transform work with
		// delivery, small enough that memory does not follow the backlog.
		f.sinks = append(f.sinks, &sinkWorker{NamedSink: s, ch: make(chan sinkBatch, 2)})
	}
	return f
}

// fail records the first fatal error and stops the flow.
func (f *flow) fail(err error) {
	f.failOnce.Do(func() {
		f.failErr = err
		close(f.failed)
	})
}

// run processes until ctx is canceled (graceful stop: drain what was taken
// in, ack it, return nil), the input ends (same), or a fatal error (return
// it; what was fully handled is still acked, nothing else).
func (f *flow) run(ctx context.Context) error {
	// work lives until the drain is over or a fatal error; it is what sinks
	// and retries use, so a graceful stop lets in-flight batches finish.
	work, cancelWork := context.WithCancel(context.Background())
	defer cancelWork()
	go func() {
		select {
		case <-f.failed:
			cancelWork()
		case <-work.Done():
		}
	}()
	intake, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	go func() {
		select {
		case <-f.failed:
			stopIntake()
		case <-intake.Done():
		}
		// A stopped intake takes nothing more in: wake an input blocked
		// on a full tracker (records held by a sink that keeps retrying),
		// or it never returns and the drain never ends.
		f.tr.close()
	}()

	msgs := make(chan inMsg, f.cfg.BatchSize)
	var inErr error
	inDone := make(chan struct{})
	var pre Predecoder
	if len(f.transforms) > 0 {
		pre, _ = f.transforms[0].Transform.(Predecoder)
	}
	go func() {
		defer close(inDone)
		defer close(msgs)
		inErr = f.in.run(intake, func(lane int32, payload any, rec *Record) bool {
			tk, ok := f.tr.track(lane, payload, len(rec.Key)+len(rec.Value))
			if !ok {
				return false
			}
			f.stats.In.Add(1)
			f.stats.InFlight.Store(int64(f.tr.inFlight()))
			if pre != nil {
				pre.Predecode(rec)
			}
			ref := &ackRef{tk: tk, tr: f.tr}
			ref.pending.Store(1)
			select {
			case msgs <- inMsg{ref: ref, rec: rec}:
				return true
			case <-f.failed:
				return false
			}
		})
	}()

	var sinksDone sync.WaitGroup
	for _, s := range f.sinks {
		sinksDone.Add(1)
		go func() {
			defer sinksDone.Done()
			f.sinkLoop(work, s)
		}()
	}

	histDone := make(chan struct{})
	if f.history != nil {
		go func() {
			defer close(histDone)
			f.historyLoop(work)
		}()
	} else {
		close(histDone)
	}

	ackDone := make(chan struct{})
	stopAck := make(chan struct{})
	go func() {
		defer close(ackDone)
		f.ackLoop(work, stopAck)
	}()

	// Bound the drain: sinks that keep failing (a broker that is down, a
	// produce retry loop) do not hold shutdown forever. The clock starts
	// at the stop, not once the batches are handed out: handing them out
	// can itself wait on the failing sink (its queue is full).
	drained := make(chan struct{})
	go func() {
		select {
		case <-drained:
		case <-afterStop(ctx, f.cfg.ShutdownTimeout):
			f.log.Warnf("sinks did not drain within %s; unfinished records stay uncommitted and will be redelivered", f.cfg.ShutdownTimeout)
			cancelWork()
		}
	}()
	f.batchLoop(work, msgs)
	for _, s := range f.sinks {
		close(s.ch)
	}
	sinksDone.Wait()
	// Every history batch was handed over by now (the last sink to finish
	// a batch hands it, before its loop returns).
	if f.history != nil {
		close(f.history.ch)
	}
	<-histDone
	close(drained)
	close(stopAck)
	<-ackDone
	<-inDone
	f.tr.close()
	if f.failErr != nil {
		return f.failErr
	}
	if inErr != nil && !errors.Is(inErr, context.Canceled) {
		return fmt.Errorf("input: %w", inErr) // runFlows names the flow
	}
	return nil
}

// afterStop fires d after ctx is done.
func afterStop(ctx context.Context, d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		<-ctx.Done()
		time.Sleep(d)
		close(ch)
	}()
	return ch
}

// batchLoop groups records into batches by count and time (or, eager, by
// count and what is ready), runs the transforms and hands each sink its
// share.
func (f *flow) batchLoop(ctx context.Context, msgs <-chan inMsg) {
	batch := make([]inMsg, 0, f.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(batch) > 0 {
			f.process(ctx, batch)
			batch = batch[:0]
		}
	}
	for {
		if len(batch) == 0 {
			m, ok := <-msgs
			if !ok {
				return
			}
			batch = append(batch, m)
			if f.eager {
				open := takeReady(msgs, &batch, f.cfg.BatchSize)
				flush()
				if !open {
					return
				}
				continue
			}
			timer.Reset(f.cfg.BatchWait)
			continue
		}
		select {
		case m, ok := <-msgs:
			if !ok {
				timer.Stop()
				flush()
				return
			}
			batch = append(batch, m)
			if len(batch) >= f.cfg.BatchSize {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		case <-f.failed:
			return
		}
	}
}

// takeReady appends to batch, up to max, what msgs holds right now; false
// when msgs is closed.
func takeReady(msgs <-chan inMsg, batch *[]inMsg, max int) bool {
	for len(*batch) < max {
		select {
		case m, ok := <-msgs:
			if !ok {
				return false
			}
			*batch = append(*batch, m)
		default:
			return true
		}
	}
	return true
}

// process runs the transform chain on a batch and distributes the results.
func (f *flow) process(ctx context.Context, batch []inMsg) {
	per := make([]sinkBatch, len(f.sinks))
	var hist *historyBatch
	if f.history != nil {
		hist = newHistoryBatch(f, len(batch))
	}
	for _, m := range batch {
		outs, notes, ok := f.transform(ctx, m.rec)
		if !ok {
			return // fatal, or stopping: nothing of this batch is acked
		}
		hist.hold(m.ref)
		hist.note(notes)
		if outs == nil {
			f.stats.Filtered.Add(1)
		}
		for _, out := range outs {
			ent := -1
			if hist != nil {
				ent = hist.entry(out, wants(out, f.history.name))
			}
			for i, s := range f.sinks {
				if wants(out, s.Name) {
					m.ref.pending.Add(1)
					per[i].recs = append(per[i].recs, out)
					per[i].refs = append(per[i].refs, m.ref)
					if hist != nil {
						per[i].hist, per[i].ents = hist, append(per[i].ents, ent)
					}
				}
			}
		}
	}
	if !f.flushTransforms(ctx) {
		return
	}
	if hist != nil {
		hist.pending = 1 // process's own share, reported below
		for i := range per {
			if len(per[i].recs) > 0 {
				hist.pending++
			}
		}
	}
	for i, s := range f.sinks {
		if len(per[i].recs) == 0 {
			continue
		}
		select {
		case s.ch <- per[i]:
		case <-f.failed:
			return
		}
	}
	if hist != nil && !hist.report(nil) {
		return
	}
	// Drop the guard reference each record was born with: a record with no
	// copies (filtered, or routed nowhere) is handled right here.
	for _, m := range batch {
		m.ref.release()
	}
	f.stats.InFlight.Store(int64(f.tr.inFlight()))
}

// flushTransforms makes the batch's state changes durable before any of
// its records is handed to a sink.
func (f *flow) flushTransforms(ctx context.Context) bool {
	for _, t := range f.transforms {
		fl, ok := t.Transform.(BatchFlusher)
		if !ok {
			continue
		}
		for attempt := 1; ; attempt++ {
			err := fl.FlushBatch(ctx)
			if err == nil {
				break
			}
			if ClassOf(err) == Fatal {
				f.fail(fmt.Errorf("transform %s: %w", t.Name, err))
				return false
			}
			if !f.retryWait(ctx, "transform:"+t.Name, attempt, err) {
				return false
			}
		}
	}
	return true
}

func wants(r *Record, sink string) bool {
	return r.Sinks == nil || slices.Contains(r.Sinks, sink)
}

// transform runs the chain on one record. Records a transform skips,
// filters or rejects (dead-lettered) are handled: they yield no output and
// an outcome for the history. Retryable errors are retried; a fatal error
// fails the flow (ok = false).
func (f *flow) transform(ctx context.Context, rec *Record) (out []*Record, notes []Outcome, ok bool) {
	cur := []*Record{rec}
	for _, t := range f.transforms {
		stage := "transform:" + t.Name
		var next []*Record
		for _, r := range cur {
			outs, note, ok := f.transformOne(ctx, t, stage, r)
			if !ok {
				return nil, nil, false
			}
			if note != nil {
				notes = append(notes, *note)
			}
			next = append(next, outs...)
		}
		if len(next) == 0 {
			if len(notes) == 0 {
				notes = append(notes, Outcome{Stage: stage, Record: rec, Result: ResultSkipped, Reason: "filtered by " + t.Name, Attempt: 1})
			}
			return nil, notes, true
		}
		cur = next
	}
	return cur, notes, true
}

func (f *flow) transformOne(ctx context.Context, t NamedTransform, stage string, r *Record) ([]*Record, *Outcome, bool) {
	for attempt := 1; ; attempt++ {
		outs, err := t.Process(ctx, r)
		if err == nil {
			return outs, nil, true
		}
		var skip *SkipError
		if errors.As(err, &skip) {
			return nil, &Outcome{Stage: stage, Record: r, Result: ResultSkipped, Reason: skip.Reason, Attempt: attempt}, true
		}
		switch ClassOf(err) {
		case Rejected:
			if !f.deadLetter(ctx, []*Record{r}, []error{err}, stage) {
				return nil, nil, false
			}
			return nil, &Outcome{Stage: stage, Record: r, Result: ResultRejected, Reason: reason(err), Attempt: attempt}, true
		case Fatal:
			f.fail(fmt.Errorf("transform %s: %w", t.Name, err))
			return nil, nil, false
		default:
			if !f.retryWait(ctx, stage, attempt, err) {
				return nil, nil, false
			}
		}
	}
}

// retryWait sleeps before retry number attempt; false means give up (the
// flow is stopping, or attempts are exhausted, which is fatal: a record is
// never dropped because it kept failing).
func (f *flow) retryWait(ctx context.Context, stage string, attempt int, err error) bool {
	f.stats.Retries.Add(1)
	if m := f.cfg.Retry.MaxAttempts; m > 0 && attempt >= m {
		f.fail(fmt.Errorf("%s: still failing after %d attempts: %w", stage, attempt, err))
		return false
	}
	wait, lvl := retryWait(f.cfg.Retry, attempt, err)
	f.log.WithFields(logrus.Fields{"stage": stage, "attempt": attempt, "wait": wait.Round(time.Millisecond)}).Logf(lvl, "retrying: %v", err)
	return sleep(ctx, wait)
}

// ackLoop hands released payloads upstream, as soon as they are ready or
// every ackEvery, and once more when the flow stops.
func (f *flow) ackLoop(ctx context.Context, stop <-chan struct{}) {
	var tick <-chan time.Time
	if every := f.in.ackEvery(); every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	var carry map[int32][]any
	flush := func(ctx context.Context) {
		ready := f.tr.take()
		carry = mergeReady(carry, ready)
		if len(carry) == 0 {
			return
		}
		n := 0
		for _, v := range carry {
			n += len(v)
		}
		if err := f.in.ack(ctx, carry); err != nil {
			if ClassOf(err) == Fatal {
				f.fail(fmt.Errorf("ack: %w", err))
				return
			}
			f.log.WithError(err).Warn("ack failed; will retry")
			return
		}
		f.stats.Acked.Add(int64(n))
		carry = nil
	}
	for {
		var signal <-chan struct{}
		if tick == nil {
			signal = f.tr.signal
		}
		select {
		case <-tick:
			flush(ctx)
		case <-signal:
			flush(ctx)
		case <-stop:
			// Final ack on a fresh context: the work context may already be
			// canceled, and what was handled must still be acked.
			final, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			flush(final)
			cancel()
			return
		}
	}
}

func mergeReady(dst, src map[int32][]any) map[int32][]any {
	if dst == nil {
		return src
	}
	for k, v := range src {
		dst[k] = append(dst[k], v...)
	}
	return dst
}
