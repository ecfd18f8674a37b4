package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// BenchmarkWrite measures rows/s through the sink's Write (envelope decode,
// row mapping, one INSERT per batch) into each backend. The rate counts the
// rows that are in the table afterwards, not the rows handed over.
func BenchmarkWrite(b *testing.B) {
	for _, hb := range []struct {
		name string
		h    func(testing.TB) *backendHarness
	}{{"server", serverHarness}, {"chdb", chdbHarness}} {
		for _, size := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/batch=%d", hb.name, size), func(b *testing.B) {
				benchWrite(b, hb.h(b), size)
			})
		}
	}
}

func benchWrite(b *testing.B, h *backendHarness, size int) {
	ctx := context.Background()
	s, db := openSink(b, h, t0)
	seq := 0
	batch := func() []*pipeline.Record {
		evs := make([]*schemas.Event, size)
		for i := range evs {
			seq++
			evs[i] = newEvent("bench.myshopify.com", schemas.TypeCustomerUpdated, schemas.KindCustomer,
				fmt.Sprint(seq), t0.Add(time.Duration(seq)*time.Millisecond), `{"email":"someone@example.com","first_name":"Zoë"}`)
		}
		return records(b, evs...)
	}
	b.ResetTimer()
	var spent time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		recs := batch()
		b.StartTimer()
		start := time.Now()
		if err := s.Write(ctx, recs); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
	}
	b.StopTimer()
	got := scalar(b, db, "SELECT count() FROM sync_history")
	if got != uint64(b.N*size) {
		b.Fatalf("%v rows in sync_history, want %d", got, b.N*size)
	}
	b.ReportMetric(float64(b.N*size)/spent.Seconds(), "rows/s")
}
