package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// BenchmarkHistory is the history sink's cost per record with one other
// sink beside it (Brevo), batches of 500 orders of ~5 KB (data and raw
// body), on each backend:
//
//   - write+outcomes: how the engine fed it before history.sink: the
//     record through Write (its own row, commerce_events), then the other
//     sink's outcome through RecordSinkOutcomes: the record entered twice,
//     decoded twice;
//   - entry: RecordHistory, one entry with the other sink's outcome.
//
// cpu-µs/rec is this process's CPU (user+sys) per record: with chDB it
// includes ClickHouse's own work, with a server only the client's. The
// rows are counted afterwards (two sync_history rows and one
// commerce_events row per record), not taken on trust.
func BenchmarkHistory(b *testing.B) {
	for _, hb := range []struct {
		name string
		h    func(testing.TB) *backendHarness
	}{{"chdb", chdbHarness}, {"server", serverHarness}} {
		for _, mode := range []string{"write+outcomes", "entry"} {
			b.Run(hb.name+"/"+mode, func(b *testing.B) { benchHistory(b, hb.h(b), mode) })
		}
	}
}

const benchHistoryBatch = 500

func benchHistory(b *testing.B, h *backendHarness, mode string) {
	ctx := context.Background()
	s, db := openSink(b, h, t0)
	seq := 0
	batch := func() []*pipeline.Record {
		evs := make([]*schemas.Event, benchHistoryBatch)
		for i := range evs {
			seq++
			evs[i] = benchOrder(seq)
		}
		return records(b, evs...)
	}
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		recs := batch()
		outs := make([]pipeline.Outcome, len(recs))
		for j, r := range recs {
			outs[j] = pipeline.Outcome{Stage: "brevo", Record: r, Result: pipeline.ResultDelivered, Attempt: 1, Latency: 40 * time.Millisecond}
		}
		b.StartTimer()
		before := cpuTime()
		if err := writeHistory(ctx, s, mode, recs, outs); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - before
	}
	b.StopTimer()
	n := uint64(b.N * benchHistoryBatch)
	if got := scalar(b, db, "SELECT count() FROM sync_history FINAL"); got != 2*n {
		b.Fatalf("%v rows in sync_history, want %d", got, 2*n)
	}
	if got := scalar(b, db, "SELECT count() FROM commerce_events FINAL"); got != n {
		b.Fatalf("%v rows in commerce_events, want %d", got, n)
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/rec")
}

// cpuTime is this process's user and system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func writeHistory(ctx context.Context, s *Sink, mode string, recs []*pipeline.Record, outs []pipeline.Outcome) error {
	switch mode {
	case "write+outcomes":
		if err := s.Write(ctx, recs); err != nil {
			return err
		}
		return s.RecordSinkOutcomes(ctx, outs)
	case "entry":
		entries := make([]pipeline.HistoryEntry, len(recs))
		for i, r := range recs {
			entries[i] = pipeline.HistoryEntry{Record: r, Own: true, Outcomes: outs[i : i+1]}
		}
		return s.RecordHistory(ctx, entries)
	}
	return fmt.Errorf("mode %q", mode)
}

// benchOrder is an order envelope of about 5 KB: canonical data with five
// line items and a 2.6 KB raw body.
func benchOrder(seq int) *schemas.Event {
	var items []string
	for i := 0; i < 5; i++ {
		items = append(items, fmt.Sprintf(`{"id":%d,"sku":"SKU-%04d","title":"Organic cotton t-shirt, size M","quantity":%d,"price":"19.90","total_discount":"0.00","vendor":"Tajo Apparel"}`, seq*10+i, i, i+1))
	}
	data := fmt.Sprintf(`{"id":%d,"name":"#%d","email":"customer%d@example.com","currency":"EUR","total_price":"298.50","subtotal_price":"280.00","total_tax":"18.50","total_discounts":"0.00","financial_status":"paid","customer":{"id":%d,"email":"customer%d@example.com"},"line_items":[%s]}`,
		seq, seq, seq%997, seq%997, seq%997, strings.Join(items, ","))
	ev := newEvent("bench.myshopify.com", schemas.TypeOrderPlaced, schemas.KindOrder, fmt.Sprint(seq), t0.Add(time.Duration(seq)*time.Millisecond), data)
	raw, _ := json.Marshal(map[string]any{"id": seq, "note": strings.Repeat("raw Shopify body ", 150), "line_items": json.RawMessage("[" + strings.Join(items, ",") + "]")})
	ev.Raw = raw
	return ev
}
