package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// A lone record from a source (one webhook) is on Kafka and acked to its
// source (the webhook answered) without waiting for pipeline.batch_wait to
// fill its batch: the ingest flow hands a batch to the producer as soon as
// the source has nothing more ready. Before, it waited the whole
// batch_wait (20ms by default; a minute here).
func TestIngestDoesNotWaitForBatchWait(t *testing.T) {
	sizedSource.recs, sizedSource.acked = []*pipeline.Record{{Key: []byte("a.myshopify.com"), Value: []byte(`{"id":"evt-1"}`)}}, 0
	collectSink.got = map[string]int{}
	cfg := runConfig(t, t.TempDir(), "embedded: {fsync: false}", "batch_wait: 1m, shutdown_timeout: 1s")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pipeline.NewRunner(cfg, quietLog()).Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	// Far below batch_wait, far above what a loaded machine needs to start
	// the embedded broker and write one record.
	deadline := time.After(30 * time.Second)
	for sizedSource.ackedCount() == 0 {
		select {
		case err := <-done:
			t.Fatalf("run ended before the record was acked: %v", err)
		case <-deadline:
			t.Fatal("the record was not acked within 30s (batch_wait: 1m)")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
