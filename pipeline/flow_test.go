package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
)

// fakeInput emits n records with payload = offset, spread over lanes, and
// records what is acked.
type fakeInput struct {
	n     int
	lanes int32
	every time.Duration
	key   []byte // every record's key (its size counts in flight)

	mu    sync.Mutex
	acked map[int32][]int
}

func (f *fakeInput) run(ctx context.Context, emit func(int32, any, *Record) bool) error {
	for i := 0; i < f.n; i++ {
		if ctx.Err() != nil {
			return nil
		}
		lane := int32(0)
		if f.lanes > 0 {
			lane = int32(i) % f.lanes
		}
		if !emit(lane, i, &Record{Key: f.key, Value: []byte(strconv.Itoa(i))}) {
			return nil
		}
	}
	return nil
}

func (f *fakeInput) ack(_ context.Context, ready map[int32][]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.acked == nil {
		f.acked = map[int32][]int{}
	}
	for l, items := range ready {
		for _, it := range items {
			f.acked[l] = append(f.acked[l], it.(int))
		}
	}
	return nil
}

func (f *fakeInput) ackEvery() time.Duration { return f.every }

func (f *fakeInput) ackedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.acked {
		n += len(v)
	}
	return n
}

// highestAcked is the largest offset acked in a lane, or -1.
func (f *fakeInput) highestAcked(lane int32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.acked[lane]
	if len(a) == 0 {
		return -1
	}
	return a[len(a)-1]
}

// funcSink delivers through a function and records what it delivered.
type funcSink struct {
	write func(batch []*Record) error

	mu        sync.Mutex
	delivered []int
	calls     atomic.Int64
}

func (s *funcSink) Open(context.Context) error  { return nil }
func (s *funcSink) Close(context.Context) error { return nil }
func (s *funcSink) Write(_ context.Context, batch []*Record) error {
	s.calls.Add(1)
	var err error
	if s.write != nil {
		err = s.write(batch)
	}
	var be *BatchError
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range batch {
		ok := err == nil
		if errors.As(err, &be) {
			ok = be.Errs[i] == nil
		}
		if ok {
			n, _ := strconv.Atoi(string(r.Value))
			s.delivered = append(s.delivered, n)
		}
	}
	return err
}

func (s *funcSink) deliveredCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.delivered)
}

type memDeadLetters struct {
	mu   sync.Mutex
	dls  []DeadLetter
	fail error
}

func (m *memDeadLetters) WriteDeadLetters(_ context.Context, dl []DeadLetter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.dls = append(m.dls, dl...)
	return nil
}

func testPipelineConfig() config.Pipeline {
	p := config.Default().Pipeline
	p.BatchSize = 100
	p.BatchWait = 5 * time.Millisecond
	p.MaxInFlight = 1000
	p.ShutdownTimeout = 2 * time.Second
	p.Retry = config.Retry{Initial: time.Millisecond, Max: 20 * time.Millisecond, Multiplier: 2, Jitter: 0.2}
	return p
}

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

func value(r *Record) int {
	n, _ := strconv.Atoi(string(r.Value))
	return n
}

func TestRejectedRecordsAreDeadLetteredAndAcked(t *testing.T) {
	in := &fakeInput{n: 1000, lanes: 3}
	sink := &funcSink{write: func(batch []*Record) error {
		errs := make([]error, len(batch))
		failed := false
		for i, r := range batch {
			if value(r)%10 == 0 {
				errs[i] = Reject("invalid_parameter", fmt.Errorf("email is not valid for record %d", value(r)))
				failed = true
			}
		}
		if !failed {
			return nil
		}
		return &BatchError{Errs: errs}
	}}
	dlq := &memDeadLetters{}
	f := newFlow("t", in, nil, []NamedSink{{"s", sink}}, dlq, testPipelineConfig(), quietLog())
	if err := f.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.deliveredCount(); got != 900 {
		t.Errorf("delivered %d, want 900", got)
	}
	if len(dlq.dls) != 100 {
		t.Fatalf("dead letters %d, want 100", len(dlq.dls))
	}
	for _, dl := range dlq.dls {
		n, _ := strconv.Atoi(string(dl.Payload))
		if n%10 != 0 || dl.Stage != "sink:s" || dl.Code != "invalid_parameter" || dl.Reason != fmt.Sprintf("email is not valid for record %d", n) {
			t.Fatalf("unexpected dead letter %+v", dl)
		}
	}
	if got := in.ackedCount(); got != 1000 {
		t.Errorf("acked %d, want all 1000: offsets must advance past rejected records", got)
	}
	for l := int32(0); l < 3; l++ {
		for i, off := range in.acked[l] {
			if want := i*3 + int(l); off != want {
				t.Fatalf("lane %d acked out of order: position %d is %d, want %d", l, i, off, want)
			}
		}
	}
}

func TestSinkDownHoldsCommitsAndBoundsMemory(t *testing.T) {
	in := &fakeInput{n: 20000, lanes: 2}
	var down atomic.Bool
	var firstFailed atomic.Int64
	firstFailed.Store(-1)
	var delivered atomic.Int64
	sink := &funcSink{write: func(batch []*Record) error {
		if down.Load() {
			firstFailed.CompareAndSwap(-1, int64(value(batch[0])))
			return Retry(errors.New("connection refused"))
		}
		if delivered.Add(int64(len(batch))) >= 3000 {
			down.Store(true) // goes down after ~3000 records
		}
		return nil
	}}
	cfg := testPipelineConfig()
	f := newFlow("t", in, nil, []NamedSink{{"s", sink}}, &memDeadLetters{}, cfg, quietLog())
	done := make(chan error)
	go func() { done <- f.run(context.Background()) }()

	waitFor(t, "the sink to go down", func() bool { return firstFailed.Load() >= 0 })
	time.Sleep(300 * time.Millisecond) // let intake run into back-pressure
	maxDelivered := -1
	for _, v := range sink.delivered {
		maxDelivered = max(maxDelivered, v)
	}
	for l := int32(0); l < 2; l++ {
		if h := in.highestAcked(l); h > maxDelivered || h >= int(firstFailed.Load()) {
			t.Fatalf("lane %d acked up to %d while %d (first failing) is undelivered", l, h, firstFailed.Load())
		}
	}
	// Memory is bounded by max_in_flight, not by the 20,000 records waiting.
	if n := f.tr.inFlight(); n > cfg.MaxInFlight {
		t.Fatalf("in flight %d > max_in_flight %d", n, cfg.MaxInFlight)
	}
	if waiting := f.stats.In.Load() - int64(sink.deliveredCount()); waiting > int64(cfg.MaxInFlight) {
		t.Fatalf("%d records taken in and undelivered while the sink was down; want at most max_in_flight = %d", waiting, cfg.MaxInFlight)
	}
	if f.stats.Retries.Load() == 0 {
		t.Fatal("no retries counted while the sink was down")
	}

	down.Store(false)
	delivered.Store(-1 << 40) // stay up
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := in.ackedCount(); got != 20000 {
		t.Fatalf("acked %d after the sink came back, want 20000", got)
	}
}

// Large records are bounded by max_in_flight_bytes before max_in_flight:
// with the sink down, what is taken in and undelivered stays under it.
func TestMaxInFlightBytesBoundsLargeRecords(t *testing.T) {
	in := &fakeInput{n: 5000, key: make([]byte, 10<<10)} // 10 KiB a record
	var down atomic.Bool
	down.Store(true)
	sink := &funcSink{write: func(batch []*Record) error {
		if down.Load() {
			return Retry(errors.New("connection refused"))
		}
		return nil
	}}
	cfg := testPipelineConfig()
	cfg.MaxInFlightBytes = 1 << 20 // 102 records of 10 KiB, against max_in_flight 1000
	f := newFlow("t", in, nil, []NamedSink{{"s", sink}}, &memDeadLetters{}, cfg, quietLog())
	done := make(chan error)
	go func() { done <- f.run(context.Background()) }()
	waitFor(t, "a retry", func() bool { return f.stats.Retries.Load() > 0 })
	time.Sleep(300 * time.Millisecond) // let intake run into back-pressure
	per := int64(len(in.key) + 4)
	if taken := f.stats.In.Load(); taken*per > int64(cfg.MaxInFlightBytes)+per || taken == 0 {
		t.Fatalf("%d records (%d KiB) taken in while the sink was down; want at most max_in_flight_bytes = %d KiB", taken, taken*per>>10, cfg.MaxInFlightBytes>>10)
	}
	down.Store(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := in.ackedCount(); got != 5000 {
		t.Fatalf("acked %d after the sink came back, want 5000", got)
	}
}

func TestFatalErrorStopsWithoutAckingUndelivered(t *testing.T) {
	in := &fakeInput{n: 5000}
	var calls atomic.Int64
	sink := &funcSink{write: func(batch []*Record) error {
		if calls.Add(1) > 3 {
			return Stop(errors.New("401 unauthorized: key ending in …abcd was refused"))
		}
		return nil
	}}
	f := newFlow("t", in, nil, []NamedSink{{"s", sink}}, &memDeadLetters{}, testPipelineConfig(), quietLog())
	err := f.run(context.Background())
	if err == nil || ClassOf(err) != Fatal {
		t.Fatalf("want a fatal error, got %v", err)
	}
	if got, want := in.ackedCount(), sink.deliveredCount(); got != want {
		t.Fatalf("acked %d, delivered %d: a fatal stop must ack exactly what was delivered", got, want)
	}
}

func TestDeadLetterFailureStops(t *testing.T) {
	in := &fakeInput{n: 100}
	sink := &funcSink{write: func(batch []*Record) error { return Reject("bad", errors.New("nope")) }}
	dlq := &memDeadLetters{fail: errors.New("disk full")}
	f := newFlow("t", in, nil, []NamedSink{{"s", sink}}, dlq, testPipelineConfig(), quietLog())
	err := f.run(context.Background())
	if err == nil || !errors.Is(err, dlq.fail) {
		t.Fatalf("want the dead-letter failure to stop the flow, got %v", err)
	}
	if n := in.ackedCount(); n != 0 {
		t.Fatalf("acked %d records whose dead letters were not written", n)
	}
}

func TestFanOutAcksWhenEverySinkHasTheRecord(t *testing.T) {
	in := &fakeInput{n: 2000}
	var slowUp atomic.Bool
	fast := &funcSink{}
	slow := &funcSink{write: func([]*Record) error {
		if !slowUp.Load() {
			return Retry(errors.New("503"))
		}
		return nil
	}}
	f := newFlow("t", in, nil, []NamedSink{{"fast", fast}, {"slow", slow}}, &memDeadLetters{}, testPipelineConfig(), quietLog())
	done := make(chan error)
	go func() { done <- f.run(context.Background()) }()
	waitFor(t, "the fast sink to get records", func() bool { return fast.deliveredCount() > 0 })
	time.Sleep(100 * time.Millisecond)
	if n := in.ackedCount(); n != 0 {
		t.Fatalf("acked %d records the slow sink does not have", n)
	}
	slowUp.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if in.ackedCount() != 2000 || fast.deliveredCount() != 2000 || slow.deliveredCount() != 2000 {
		t.Fatalf("acked %d, fast %d, slow %d; want 2000 each", in.ackedCount(), fast.deliveredCount(), slow.deliveredCount())
	}
}

type transformFunc func(*Record) ([]*Record, error)

func (f transformFunc) Process(_ context.Context, r *Record) ([]*Record, error) { return f(r) }

func TestTransformsFilterRouteAndReject(t *testing.T) {
	in := &fakeInput{n: 300}
	a, b := &funcSink{}, &funcSink{}
	chain := []NamedTransform{
		{"filter", transformFunc(func(r *Record) ([]*Record, error) {
			if value(r)%3 == 0 {
				return nil, nil // filtered: handled, delivered nowhere
			}
			return []*Record{r}, nil
		})},
		{"check", transformFunc(func(r *Record) ([]*Record, error) {
			if value(r)%3 == 1 && value(r)%5 == 0 {
				return nil, Reject("non_finite", errors.New("AOV is +Inf"))
			}
			return []*Record{r}, nil
		})},
		{"route", transformFunc(func(r *Record) ([]*Record, error) {
			if value(r)%2 == 0 {
				r.Sinks = []string{"a"}
			}
			return []*Record{r}, nil
		})},
	}
	dlq := &memDeadLetters{}
	f := newFlow("t", in, chain, []NamedSink{{"a", a}, {"b", b}}, dlq, testPipelineConfig(), quietLog())
	if err := f.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wantA, wantB, wantDL int
	for i := 0; i < 300; i++ {
		switch {
		case i%3 == 0:
		case i%3 == 1 && i%5 == 0:
			wantDL++
		case i%2 == 0:
			wantA++
		default:
			wantA++
			wantB++
		}
	}
	if a.deliveredCount() != wantA || b.deliveredCount() != wantB || len(dlq.dls) != wantDL {
		t.Fatalf("a=%d b=%d dl=%d, want %d %d %d", a.deliveredCount(), b.deliveredCount(), len(dlq.dls), wantA, wantB, wantDL)
	}
	if dlq.dls[0].Stage != "transform:check" || dlq.dls[0].Reason != "AOV is +Inf" {
		t.Fatalf("dead letter %+v", dlq.dls[0])
	}
	if in.ackedCount() != 300 {
		t.Fatalf("acked %d, want 300 (filtered and rejected records count as handled)", in.ackedCount())
	}
}

func TestGracefulStopDrainsAndAcks(t *testing.T) {
	in := &fakeInput{n: 1 << 30, every: 10 * time.Millisecond}
	sink := &funcSink{}
	f := newFlow("t", in, nil, []NamedSink{{"s", sink}}, &memDeadLetters{}, testPipelineConfig(), quietLog())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.run(ctx) }()
	waitFor(t, "records to flow", func() bool { return sink.deliveredCount() > 5000 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := in.ackedCount(), sink.deliveredCount(); got != want {
		t.Fatalf("after a graceful stop acked %d, delivered %d: everything delivered must be acked", got, want)
	}
}

func TestRetryMaxAttemptsIsFatal(t *testing.T) {
	in := &fakeInput{n: 10}
	sink := &funcSink{write: func([]*Record) error { return errors.New("unclassified: treated as retryable") }}
	cfg := testPipelineConfig()
	cfg.Retry.MaxAttempts = 3
	f := newFlow("t", in, nil, []NamedSink{{"s", sink}}, &memDeadLetters{}, cfg, quietLog())
	err := f.run(context.Background())
	if err == nil || sink.calls.Load() != 3 {
		t.Fatalf("want a stop after 3 attempts, got %v after %d calls", err, sink.calls.Load())
	}
	if in.ackedCount() != 0 {
		t.Fatal("acked records that were never delivered")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// memRecorder is a history sink in memory: the outcomes it stored, and
// how many entries each record value arrived in.
type memRecorder struct {
	mu      sync.Mutex
	outs    []Outcome
	entries map[int]int // record value → entries received
	own     int         // entries with the sink's own copy
	fails   int         // fail this many calls first
}

func (m *memRecorder) RecordHistory(_ context.Context, entries []HistoryEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fails > 0 {
		m.fails--
		return Retry(errors.New("clickhouse: connection refused"))
	}
	if m.entries == nil {
		m.entries = map[int]int{}
	}
	for _, e := range entries {
		m.entries[value(e.Record)]++
		if e.Own {
			m.own++
		}
		m.outs = append(m.outs, e.Outcomes...)
	}
	return nil
}

func (m *memRecorder) Open(context.Context) error  { return nil }
func (m *memRecorder) Close(context.Context) error { return nil }
func (m *memRecorder) Write(context.Context, []*Record) error {
	return Stop(errors.New("the history sink's Write was called"))
}
func (m *memRecorder) LogWebhooks(context.Context, []WebhookLog) error       { return nil }
func (m *memRecorder) RecordChecks(context.Context, []ConnectionCheck) error { return nil }

func TestOutcomesAreRecordedBeforeAck(t *testing.T) {
	in := &fakeInput{n: 200}
	sink := &funcSink{write: func(batch []*Record) error {
		errs := make([]error, len(batch))
		for i, r := range batch {
			if value(r)%4 == 1 {
				errs[i] = Reject("invalid_parameter", errors.New("bad email"))
			}
		}
		return &BatchError{Errs: errs}
	}}
	rec := &memRecorder{fails: 3}
	chain := []NamedTransform{{"guard", transformFunc(func(r *Record) ([]*Record, error) {
		if value(r)%4 == 0 {
			return nil, Skip("duplicate event id")
		}
		return []*Record{r}, nil
	})}}
	f := newFlow("t", in, chain, []NamedSink{{"brevo", sink}, {"history", rec}}, &memDeadLetters{}, testPipelineConfig(), quietLog())
	f.useHistory("history", rec)
	if err := f.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, o := range rec.outs {
		count[o.Stage+"/"+o.Result]++
		if o.Stage == "brevo" && o.Result == ResultRejected && o.Reason != "bad email" {
			t.Fatalf("rejection reason %q", o.Reason)
		}
		if o.Stage == "transform:guard" && o.Reason != "duplicate event id" {
			t.Fatalf("skip reason %q", o.Reason)
		}
	}
	want := map[string]int{"transform:guard/skipped": 50, "brevo/rejected": 50, "brevo/delivered": 100}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("%s: %d outcomes, want %d (all: %v)", k, count[k], v, count)
		}
	}
	if len(count) != len(want) {
		t.Errorf("unexpected outcomes: %v (the history sink records its own deliveries)", count)
	}
	if in.ackedCount() != 200 {
		t.Fatalf("acked %d, want 200", in.ackedCount())
	}
}
