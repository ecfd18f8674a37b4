package clickhouse

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// outageDuration is how long testOutage keeps the server down: 30 s, the
// acceptance criterion, unless TAJO_CLICKHOUSE_OUTAGE says otherwise (e.g.
// "3s" while iterating).
func outageDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("TAJO_CLICKHOUSE_OUTAGE")); err == nil {
		return d
	}
	return 30 * time.Second
}

func testOutage(t *testing.T, h *backendHarness) {
	if h.stop == nil {
		t.Skip("chDB runs in-process: there is no server to stop")
	}
	ctx := context.Background()
	dsn, dataDir := h.fresh(t)
	cfg := DefaultConfig()
	cfg.DSN, cfg.RetentionDays, cfg.Timeout = dsn, 0, 5*time.Second
	s := NewSink(cfg, pipeline.Env{Name: SinkName, DataDir: dataDir})
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)

	// A writer that behaves like the engine: a batch is retried until it
	// succeeds; a Retryable error is the only acceptable failure.
	var (
		mu         sync.Mutex
		written    int
		retryables int
		other      error
	)
	stopWriting := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := 0; ; b++ {
			select {
			case <-stopWriting:
				return
			default:
			}
			var evs []*schemas.Event
			for i := 0; i < 50; i++ {
				evs = append(evs, newEvent("outage.myshopify.com", "customer.updated", "customer", fmt.Sprint(b*50+i), t0.Add(time.Duration(b*50+i)*time.Second), `{}`))
			}
			recs := records(t, evs...)
			for {
				err := s.Write(ctx, recs)
				if err == nil {
					break
				}
				mu.Lock()
				if pipeline.ClassOf(err) == pipeline.Retryable {
					retryables++
				} else if other == nil {
					other = err
				}
				mu.Unlock()
				if pipeline.ClassOf(err) != pipeline.Retryable {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			mu.Lock()
			written += len(evs)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()

	time.Sleep(time.Second)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	down := outageDuration()
	time.Sleep(down)
	// Status while down says so rather than failing silently.
	if st, err := s.DB().Status(ctx, ""); err == nil || pipeline.ClassOf(err) != pipeline.Retryable {
		t.Errorf("status while down: %+v, %v", st, err)
	}
	if err := h.start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	close(stopWriting)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if other != nil {
		t.Fatalf("a write failed with a non-retryable error: %v", other)
	}
	if retryables == 0 {
		t.Fatalf("no write failed during a %s outage", down)
	}
	n := scalar(t, s.DB(), "SELECT count() FROM sync_history FINAL")
	if n != uint64(written) {
		t.Fatalf("after the outage: %v rows, want %d", n, written)
	}
	t.Logf("%d rows written across a %s outage; %d retryable failures", written, down, retryables)
}
