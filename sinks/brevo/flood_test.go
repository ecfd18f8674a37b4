package brevo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// writeLikeEngine retries the retryable records of a batch the way the
// engine does (pipeline/flow.go) and returns the records rejected.
func writeLikeEngine(t testing.TB, s pipeline.Sink, batch []*pipeline.Record) (rejected int) {
	t.Helper()
	ctx := context.Background()
	for attempt := 1; len(batch) > 0; attempt++ {
		if attempt > 50 {
			t.Fatalf("still failing after %d attempts", attempt)
		}
		err := s.Write(ctx, batch)
		if err == nil {
			return rejected
		}
		var be *pipeline.BatchError
		errs := make([]error, len(batch))
		if errors.As(err, &be) {
			copy(errs, be.Errs)
		} else {
			for i := range errs {
				errs[i] = err
			}
		}
		var retry []*pipeline.Record
		for i, e := range errs {
			switch pipeline.ClassOf(e) {
			case pipeline.Fatal:
				t.Fatalf("fatal: %v", e)
			case pipeline.Rejected:
				rejected++
			case pipeline.Retryable:
				retry = append(retry, batch[i])
			}
		}
		batch = retry
		wait := 50 * time.Millisecond
		var ra pipeline.RetryAfter
		if errors.As(err, &ra) {
			wait = max(wait, ra.RetryAfter())
		}
		time.Sleep(wait)
	}
	return rejected
}

// TestFloodUnderRateLimitAndFaults: 50,000 customer events (BREVO_FLOOD
// overrides) against 10 requests/s and 20% injected 5xx. Every contact must
// exist exactly once, and no second may see more than 10 requests.
func TestFloodUnderRateLimitAndFaults(t *testing.T) {
	n := 50_000
	if v, err := strconv.Atoi(os.Getenv("BREVO_FLOOD")); err == nil && v > 0 {
		n = v
	}
	if testing.Short() {
		n = 2_000
	}
	const limit = 10
	srv := newSim(t, brevotest.Options{RateLimit: brevotest.Limit{Requests: limit, Per: time.Second}, FaultRate: 0.2, Seed: 42})
	s := newSink(t, srv, func(c *brevo.SinkConfig) {
		c.RateLimit = limit
		c.ImportPollInterval = 50 * time.Millisecond
		// 25 imports and their polls, a fifth of which fail, in a minute:
		// what is measured here is the rate and the faults, not the
		// hourly poll budget (TestSpentPollBudgetSendsContactsAlone).
		c.Import.PollsPerHour = 0
	})
	recs := make([]*pipeline.Record, n)
	for i := range recs {
		recs[i] = customer(t, i+1, fmt.Sprintf("flood.%d@example.com", i), fmt.Sprintf("F%d", i), nil)
	}
	start := time.Now()
	const batchSize = 2000 // pipeline.batch_size
	for lo := 0; lo < n; lo += batchSize {
		if r := writeLikeEngine(t, s, recs[lo:min(lo+batchSize, n)]); r != 0 {
			t.Fatalf("%d records rejected", r)
		}
	}
	took := time.Since(start)

	contacts := srv.Contacts()
	seen := map[string]int{}
	for _, c := range contacts {
		seen[c.ExtID]++
	}
	for i := 1; i <= n; i++ {
		if seen[strconv.Itoa(i)] != 1 {
			t.Fatalf("contact %d present %d times", i, seen[strconv.Itoa(i)])
		}
	}
	if len(contacts) != n {
		t.Fatalf("%d contacts, want %d", len(contacts), n)
	}
	var total int
	for _, c := range srv.RequestCounts() {
		total += c
	}
	sent, throttled := s.Discipline().Stats()
	t.Logf("flood: %d events in %s = %.0f events/s; %d requests (%.4f per event; %d answered 5xx, %d 429); max %d requests in any second (limit %d); client saw %d requests, %d throttled",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), total, float64(total)/float64(n),
		srv.StatusCount(500)+srv.StatusCount(502)+srv.StatusCount(503), srv.StatusCount(429), srv.MaxRate(""), limit, sent, throttled)
	if m := srv.MaxRate(""); m > limit {
		t.Fatalf("%d requests within one second, over the limit of %d", m, limit)
	}
}

// TestRateLearnedFromHeaders: with no rate configured, the limit Brevo
// announces in x-sib-ratelimit-* is followed from the first answer on.
func TestRateLearnedFromHeaders(t *testing.T) {
	const limit = 4
	srv := newSim(t, brevotest.Options{EndpointLimits: map[string]brevotest.Limit{"POST /contacts": {Requests: limit, Per: time.Second}}})
	s := newSink(t, srv, func(c *brevo.SinkConfig) { c.ImportThreshold = 0; c.Concurrency.Max = 16 })
	var recs []*pipeline.Record
	for i := 0; i < 24; i++ {
		recs = append(recs, customer(t, i+1, fmt.Sprintf("r%d@example.com", i), "R", nil))
	}
	if r := writeLikeEngine(t, s, recs); r != 0 {
		t.Fatalf("%d rejected", r)
	}
	if len(srv.Contacts()) != 24 {
		t.Fatalf("%d contacts", len(srv.Contacts()))
	}
	if m := srv.MaxRate("POST /contacts"); m > limit+2 {
		t.Fatalf("%d requests in one second on a route limited to %d", m, limit)
	}
	t.Logf("max %d/s, %d answered 429, limits %v", srv.MaxRate("POST /contacts"), srv.StatusCount(429), s.Discipline().Limits())
}

// TestTooManyRequestsWaitsForReset: a 429 pauses the endpoint group until
// x-sib-ratelimit-reset, and the write still completes.
func TestTooManyRequestsWaitsForReset(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	s := newSink(t, srv, func(c *brevo.SinkConfig) { c.ImportThreshold = 0 })
	srv.FailNext(3, 429)
	start := time.Now()
	if r := writeLikeEngine(t, s, []*pipeline.Record{customer(t, 1, "a@example.com", "A", nil)}); r != 0 {
		t.Fatal("rejected")
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Fatalf("a 429 with reset 1s was retried after %s", took)
	}
	if _, throttled := s.Discipline().Stats(); throttled < 1 {
		t.Fatal("no 429 seen")
	}
}
