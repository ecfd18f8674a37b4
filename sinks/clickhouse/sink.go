package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// lockWait is how long Open waits for another process to release the
// embedded store.
const lockWait = 30 * time.Second

// SinkName is this sink's name in pipeline.yaml and in sync_history.sink.
const SinkName = "clickhouse"

func init() {
	pipeline.RegisterSink(SinkName, func() any { return DefaultConfig() }, newSink)
}

// Sink keeps tajo's history. As the history sink (history.sink) it gets
// each record once with what the other sinks did with it (RecordHistory):
// sync_history rows for its own copy and every other sink's outcome, and
// commerce_events for orders, carts and checkouts, from one decode. Where
// it is not the history sink its Write stores the same rows for its own
// copy. As the dead-letter sink it keeps rejected records in error_history.
type Sink struct {
	cfg *Config
	env pipeline.Env

	mu   sync.Mutex
	db   *DB
	stop chan struct{}
	wg   sync.WaitGroup
}

var (
	_ pipeline.HistorySink    = (*Sink)(nil)
	_ pipeline.DeadLetterSink = (*Sink)(nil)
)

// newSink returns the concrete type: the engine reads from it that this
// sink can keep the history and store dead letters.
func newSink(spec any, env pipeline.Env) (*Sink, error) {
	cfg, ok := spec.(*Config)
	if !ok {
		return nil, fmt.Errorf("sinks.clickhouse: config of type %T", spec)
	}
	return &Sink{cfg: cfg, env: env}, nil
}

// NewSink builds the sink outside the engine (tests, tools).
func NewSink(cfg *Config, env pipeline.Env) *Sink { return &Sink{cfg: cfg, env: env} }

// Open connects, migrates and starts the retention loop. A server that is
// down is Retryable, so the engine waits for it.
func (s *Sink) Open(ctx context.Context) error {
	db, err := OpenConfig(ctx, s.cfg, s.env.DataDir)
	// A CLI call (tajo connectors …) may hold the embedded store for a
	// moment; wait for it rather than refuse to start.
	for wait := time.Now().Add(lockWait); errors.Is(err, ErrLocked) && time.Now().Before(wait); {
		if s.env.Log != nil {
			s.env.Log.Warn("the embedded ClickHouse directory is held by another process; waiting for it")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		db, err = OpenConfig(ctx, s.cfg, s.env.DataDir)
	}
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	s.mu.Lock()
	s.db, s.stop = db, stop
	s.mu.Unlock()
	if s.cfg.RetentionDays > 0 {
		s.wg.Add(1)
		go s.retain(stop)
	}
	if s.env.Control != nil {
		// The CLI reads the history through here while this process holds
		// the chDB directory locked. Only on the control listener: the
		// webhook listener faces Shopify and the internet.
		s.env.Control.Handle(APIPath, APIHandler(s.DB))
	}
	return nil
}

// DB is the open history store, for the components that record outcomes
// and webhooks and for the control API; nil before Open.
func (s *Sink) DB() *DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db
}

// Write stores each record's rows in one insert per table. A record that
// is not a tajo.event.v1 envelope is rejected on its own; the others are
// written. Rows are keyed by event id, so a retried batch is not counted
// twice.
func (s *Sink) Write(ctx context.Context, batch []*pipeline.Record) error {
	if s.DB() == nil {
		return pipeline.Stop(errors.New("clickhouse sink: Write before Open"))
	}
	entries := make([]pipeline.HistoryEntry, len(batch))
	for i, rec := range batch {
		entries[i] = pipeline.HistoryEntry{Record: rec, Own: true}
	}
	return s.RecordHistory(ctx, entries)
}

// RecordHistory stores each entry from one decode of its record: the
// sync_history row of every outcome and, for the sink's own copy, its
// delivered row and commerce_events row; one insert per table. An entry
// whose record is not an envelope, or whose times or amounts the tables
// cannot hold, has its own copy rejected; without an own copy it is left
// out (its outcomes have no event to be filed under, and the dead letter
// of whichever stage rejected it says what it was).
func (s *Sink) RecordHistory(ctx context.Context, entries []pipeline.HistoryEntry) error {
	db := s.DB()
	if db == nil {
		return pipeline.Retry(errors.New("clickhouse: history store not open"))
	}
	now := db.now()
	rows := make([]Outcome, 0, len(entries))
	var comm []CommerceEvent
	var errs []error
	for i, e := range entries {
		ev, err := e.Record.DecodeEvent()
		var own Outcome
		var c *CommerceEvent
		switch {
		case err != nil:
		case e.Own:
			own, c, err = eventRows(ev, now)
		default:
			// Only the other sinks' rows: the commerce amounts are the
			// sink's own copy's, not decoded for nothing.
			err = checkTime("occurred_at", ev.OccurredAt)
		}
		if err != nil {
			if e.Own {
				if errs == nil {
					errs = make([]error, len(entries))
				}
				errs[i] = pipeline.Reject("invalid_event", err)
			}
			continue
		}
		if e.Own {
			rows = append(rows, own)
			if c != nil {
				comm = append(comm, *c)
			}
		}
		for _, o := range e.Outcomes {
			rows = append(rows, OutcomeFor(ev, o.Stage, o.Result, o.Reason, uint32(o.Attempt), o.Latency))
		}
	}
	if err := s.store(ctx, db, rows, comm); err != nil {
		return err
	}
	if errs != nil {
		return &pipeline.BatchError{Errs: errs}
	}
	return nil
}

func (s *Sink) store(ctx context.Context, db *DB, outs []Outcome, comm []CommerceEvent) error {
	rows, err := outcomeRows(outs, db.now())
	if err != nil {
		return err
	}
	// Both tables are written concurrently; a failure of either fails the
	// batch, and the retry's rows replace the ones that did land.
	errc := make(chan error, 1)
	go func() { errc <- db.RecordCommerce(ctx, comm) }()
	err = db.sync.add(ctx, rows, true)
	if cerr := <-errc; err == nil {
		err = cerr
	}
	return err
}

// WriteDeadLetters stores rejected records in error_history. An error here
// stops the pipeline rather than dropping a record (see pipeline.DeadLetterSink).
func (s *Sink) WriteDeadLetters(ctx context.Context, dl []pipeline.DeadLetter) error {
	db := s.DB()
	if db == nil {
		return pipeline.Stop(errors.New("clickhouse sink: WriteDeadLetters before Open"))
	}
	return db.RecordDeadLetters(ctx, dl)
}

// Close flushes pending rows and disconnects.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	db, stop := s.db, s.stop
	s.db, s.stop = nil, nil
	s.mu.Unlock()
	if db == nil {
		return nil
	}
	close(stop)
	s.wg.Wait()
	return db.Close()
}

// retain drops expired partitions at start and then daily. A failure is
// logged and tried again next time: history older than retention_days
// lingering a day longer loses nothing.
func (s *Sink) retain(stop <-chan struct{}) {
	defer s.wg.Done()
	tick := time.NewTicker(24 * time.Hour)
	defer tick.Stop()
	for {
		s.mu.Lock()
		db := s.db
		s.mu.Unlock()
		if db != nil {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
			dropped, err := db.Retain(ctx, s.cfg.RetentionDays, time.Now())
			cancel()
			if s.env.Log != nil {
				if err != nil {
					s.env.Log.WithError(err).Warn("clickhouse retention: dropping expired partitions failed; will retry")
				} else if len(dropped) > 0 {
					s.env.Log.WithField("partitions", dropped).Info("clickhouse retention: dropped expired partitions")
				}
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// RecordSinkOutcomes stores outcomes of other sinks without an own copy:
// RecordHistory with one entry per outcome (for tools and tests; the
// engine hands whole entries).
func (s *Sink) RecordSinkOutcomes(ctx context.Context, outs []pipeline.Outcome) error {
	entries := make([]pipeline.HistoryEntry, len(outs))
	for i, o := range outs {
		entries[i] = pipeline.HistoryEntry{Record: o.Record, Outcomes: []pipeline.Outcome{o}}
	}
	return s.RecordHistory(ctx, entries)
}

var _ pipeline.WebhookLogger = (*Sink)(nil)

// LogWebhooks stores webhook_log rows.
func (s *Sink) LogWebhooks(ctx context.Context, logs []pipeline.WebhookLog) error {
	db := s.DB()
	if db == nil {
		return pipeline.Retry(errors.New("clickhouse: history store not open"))
	}
	rows := make([]WebhookLogRow, len(logs))
	for i, l := range logs {
		rows[i] = WebhookLogRow{
			Time: l.Time, Shop: l.Shop, Topic: l.Topic, WebhookID: l.WebhookID, APIVersion: l.APIVersion,
			HMAC: l.HMAC, Status: uint16(l.Status), Bytes: uint32(min(l.Bytes, 1<<32-1)), Latency: l.Latency,
		}
	}
	return db.RecordWebhooks(ctx, rows)
}

var _ pipeline.CheckRecorder = (*Sink)(nil)

// RecordChecks stores connection_checks rows.
func (s *Sink) RecordChecks(ctx context.Context, checks []pipeline.ConnectionCheck) error {
	db := s.DB()
	if db == nil {
		return pipeline.Retry(errors.New("clickhouse: history store not open"))
	}
	return db.RecordChecks(ctx, checks)
}
