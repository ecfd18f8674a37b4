package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// ConnectionCheck is how a service answered tajo's credentials, recorded
// where the answer arrives: Shopify's Admin API to the access token (the
// backfill, the reconciliation, `tajo connectors test`), Brevo to the API
// key (the sink's check at open, and any 401/403 later). `tajo connectors
// status` says connected only when the latest check of every service is
// ok, so a status never claims what no service said.
type ConnectionCheck struct {
	Time    time.Time
	Service string // "shopify", "brevo"
	Shop    string // the store checked; "" for an account-wide check (Brevo's key)
	OK      bool
	Detail  string // what was seen, or why it failed; never a secret
}

// CheckReporter takes check results from the components that see them.
// ReportCheck never blocks and never fails: the checks are informational,
// like the webhook log, and a component's work never waits for them.
type CheckReporter interface {
	ReportCheck(c ConnectionCheck)
}

// CheckRecorder is implemented by a sink that keeps the connection checks
// (clickhouse's connection_checks).
type CheckRecorder interface {
	RecordChecks(ctx context.Context, checks []ConnectionCheck) error
}

// maxPendingChecks bounds the checks waiting for the recorder; past it the
// oldest go, since only the latest of each service matters.
const maxPendingChecks = 256

// checkLog is the CheckReporter of a run: it queues checks until the
// history sink is open (the Brevo sink checks its key in Open, possibly
// before) and writes them in the background.
type checkLog struct {
	log  *logrus.Entry
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex
	rec     CheckRecorder
	pending []ConnectionCheck
}

func newCheckLog(log *logrus.Entry) *checkLog {
	l := &checkLog{log: log, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *checkLog) ReportCheck(c ConnectionCheck) {
	if c.Time.IsZero() {
		c.Time = time.Now()
	}
	c.Time = c.Time.UTC()
	l.mu.Lock()
	if len(l.pending) == maxPendingChecks {
		l.pending = l.pending[1:]
	}
	l.pending = append(l.pending, c)
	l.mu.Unlock()
	l.poke()
}

// attach names the sink that stores the checks; what was reported before
// is written now.
func (l *checkLog) attach(r CheckRecorder) {
	l.mu.Lock()
	l.rec = r
	l.mu.Unlock()
	l.poke()
}

func (l *checkLog) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *checkLog) loop() {
	defer close(l.done)
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-l.wake:
		case <-retry.C:
		case <-l.quit:
			l.flush()
			return
		}
		l.flush()
	}
}

// flush writes what is pending; on failure the checks stay for the next try.
func (l *checkLog) flush() {
	l.mu.Lock()
	rec, batch := l.rec, l.pending
	if rec == nil || len(batch) == 0 {
		l.mu.Unlock()
		return
	}
	l.pending = nil
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := rec.RecordChecks(ctx, batch)
	cancel()
	if err == nil {
		return
	}
	l.log.WithError(err).WithField("checks", len(batch)).Warn("connection checks not recorded yet; will retry")
	l.mu.Lock()
	l.pending = append(batch, l.pending...)
	if n := len(l.pending) - maxPendingChecks; n > 0 {
		l.pending = l.pending[n:]
	}
	l.mu.Unlock()
}

// close writes what is left; it runs before the history sink closes.
func (l *checkLog) close() error {
	close(l.quit)
	<-l.done
	return nil
}
