package admin_test

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/sources/shopify/admin"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

type backfillRun struct {
	records  int64
	elapsed  time.Duration
	peakHeap uint64 // bytes, sampled HeapAlloc
	baseHeap uint64
}

// backfill reads every customer and order of a generated store through
// bulk operations, sampling the heap while it runs. Simulator and client
// share the process, so the figures cover both ends of the stream.
func backfill(tb testing.TB, customers, orders int) backfillRun {
	s := shopifytest.New(shopifytest.Options{Customers: customers, Orders: orders, Products: 500, Checkouts: 1})
	defer s.Close()
	c := newClient(tb, s)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	run := backfillRun{baseHeap: ms.HeapAlloc}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			run.peakHeap = max(run.peakHeap, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	start := time.Now()
	for _, kind := range []string{admin.KindCustomer, admin.KindOrder} {
		_, err := c.Backfill(context.Background(), kind, time.Time{}, func(string, any, time.Time) error {
			run.records++
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	run.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	if want := int64(customers + orders); run.records != want {
		tb.Fatalf("%d records, want %d", run.records, want)
	}
	return run
}

// vmHWM is the process's peak resident set (Linux), 0 elsewhere.
func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestBackfillMemoryIsBounded is the small version of the benchmark: ten
// times more records must not need noticeably more heap.
func TestBackfillMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 9,900 records")
	}
	small := backfill(t, 300, 600)
	large := backfill(t, 3_000, 6_000)
	t.Logf("900 records: peak heap %.1f MiB; 9,000 records: peak heap %.1f MiB, %.0f records/s",
		mib(small.peakHeap), mib(large.peakHeap), float64(large.records)/large.elapsed.Seconds())
	if large.peakHeap > small.peakHeap+16<<20 {
		t.Fatalf("heap grew with the backfill: %.1f MiB for 900 records, %.1f MiB for 9,000", mib(small.peakHeap), mib(large.peakHeap))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// BenchmarkBulkBackfill streams 100,000 customers and 200,000 orders (with
// their line items) from the simulator through bulk operations. Run once:
//
//	go test -run '^$' -bench BulkBackfill -benchtime 1x ./sources/shopify/admin/
func BenchmarkBulkBackfill(b *testing.B) {
	for b.Loop() {
		r := backfill(b, 100_000, 200_000)
		b.ReportMetric(float64(r.records)/r.elapsed.Seconds(), "records/s")
		b.ReportMetric(mib(r.peakHeap), "peak-heap-MiB")
		b.ReportMetric(mib(vmHWM()), "VmHWM-MiB")
		b.ReportMetric(r.elapsed.Seconds(), "s")
	}
}
