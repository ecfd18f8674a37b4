package transforms

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
)

// benchEvent is a customers/update envelope of a full REST customer (the
// go-shopify fixture: addresses, consent, legacy counters) with a second
// address, about 2.6 KB, as the issue sizes it.
func benchEvent(b testing.TB) []byte {
	var body struct{ Customer json.RawMessage }
	json.Unmarshal(fixture(b, "customer.go-shopify.json"), &body)
	var c schemas.Customer
	canonical(b, body.Customer, &c)
	for i, city := range []string{"MELBOURNE", "SYDNEY", "PERTH"} {
		a := c.Addresses[0]
		a.ID, a.Address1, a.City, a.Default = schemas.ID(2+i), "200 Queen St", city, false
		c.Addresses = append(c.Addresses, a)
	}
	c.Note = "Prefers weekend delivery; gift wrapping on every order since 2024."
	c.ID = benchCustomer0
	c.Phone = "+61 411 111 111"
	c.Locale = "en-AU"
	data, _ := json.Marshal(&c)
	e := event(b, schemas.TypeCustomerUpdated, "customer", strconv.Itoa(benchCustomer0), t0, json.RawMessage(data))
	e.Topic, e.APIVersion = "customers/update", "2026-04"
	v, _ := json.Marshal(e)
	return v
}

// benchCustomer0 is the first of benchCustomers customer ids, all of the
// same width so an event can be patched in place.
const (
	benchCustomer0 = 1_000_000_000
	benchCustomers = 10_000
)

// benchChain runs decode → guard → aggregates → default mapping → encode
// for distinct events: each a new id, a later occurred_at and one of
// 10,000 customers, so the guard and the aggregates read and write their
// state for many keys, as in production.
//
// batch > 0 runs the chain the way the engine does: state committed once
// per batch of that many records (FlushBatch), not once per record.
func benchChain(b *testing.B, env pipeline.Env, memory bool, batch int) {
	tmpl := benchEvent(b)
	ev, _ := schemas.DecodeEvent(tmpl)
	idAt := indexOf(tmpl, []byte(ev.ID))
	cust := []byte(strconv.Itoa(benchCustomer0))
	var custAt []int
	for i := 0; i+len(cust) <= len(tmpl); i++ {
		if string(tmpl[i:i+len(cust)]) == string(cust) {
			custAt = append(custAt, i)
		}
	}
	if len(custAt) < 2 {
		b.Fatal("customer id not found in the event")
	}
	occ := []byte(`"occurred_at":"` + ev.OccurredAt.Format(time.RFC3339Nano))
	occAt := indexOf(tmpl, occ) + len(`"occurred_at":"`)
	ts, err := BuildWith(parse(b, ""), env, Options{Memory: memory, BatchCommit: batch > 0, Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	// Check once that the chain really maps the event.
	out, err := runChain(ts, &pipeline.Record{Value: append([]byte(nil), tmpl...)})
	if err != nil || len(out) != 1 || indexOf(valueOf(b, out[0]), []byte(`"AOV":69.65`)) < 0 {
		b.Fatalf("chain output: %v %s", err, valueOf(b, out[0]))
	}
	b.SetBytes(int64(len(tmpl)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	buf := make([]byte, len(tmpl))
	var idb [16]byte
	// The harness patches the template with reused buffers, so that its
	// own allocations are not counted as the chain's.
	var atb, cb [64]byte
	for i := 0; i < b.N; i++ {
		copy(buf, tmpl)
		idb[0], idb[1], idb[2], idb[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		hex.Encode(buf[idAt:idAt+32], idb[:])
		at := ev.OccurredAt.Add(time.Duration(i+1)*time.Second).AppendFormat(atb[:0], time.RFC3339Nano)
		copy(buf[occAt:], at)
		c := strconv.AppendInt(cb[:0], int64(benchCustomer0+i%benchCustomers), 10)
		for _, at := range custAt {
			copy(buf[at:], c)
		}
		rec := &pipeline.Record{Value: buf}
		outs, err := runChain(ts, rec)
		if err != nil || len(outs) != 1 {
			b.Fatalf("event %d: %v (%d outputs)", i, err, len(outs))
		}
		if batch > 0 && (i+1)%batch == 0 {
			flushBatch(b, ts)
		}
	}
	if batch > 0 {
		flushBatch(b, ts)
	}
	b.StopTimer()
	cpu.report(b)
}

func flushBatch(b *testing.B, ts []pipeline.NamedTransform) {
	for _, t := range ts {
		if f, ok := t.Transform.(pipeline.BatchFlusher); ok {
			if err := f.FlushBatch(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// cpuClock measures the CPU time of the whole process (every thread,
// the garbage collector included), which is what "µs of CPU" means on a
// shared machine where wall time depends on the neighbours.
type cpuClock struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{processCPU()} }

func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64((processCPU()-c.start).Nanoseconds())/float64(b.N)/1000, "cpu-µs/event")
}

func indexOf(s, sub []byte) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if string(s[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

// BenchmarkDefaultChain is the figure of the issue: the default chain
// with its state journaled to disk and checkpointed into bbolt.
func BenchmarkDefaultChain(b *testing.B) {
	dir := b.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchChain(b, pipeline.Env{State: st, DataDir: dir}, false, 0)
}

// BenchmarkDefaultChainBatched is the default chain as the engine runs it:
// state on disk, committed once per batch of 500 (pipeline.batch_size).
func BenchmarkDefaultChainBatched(b *testing.B) {
	dir := b.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchChain(b, pipeline.Env{State: st, DataDir: dir}, false, 500)
}

// BenchmarkDefaultChainMemoryState is the same with state in memory: the
// CPU of the transforms alone.
func BenchmarkDefaultChainMemoryState(b *testing.B) {
	benchChain(b, pipeline.Env{}, true, 0)
}

// BenchmarkBaselineDecodeToMap is the reference the issue compares with:
// decoding the same envelope, data included, into map[string]any and
// nothing else.
func BenchmarkBaselineDecodeToMap(b *testing.B) {
	tmpl := benchEvent(b)
	b.SetBytes(int64(len(tmpl)))
	b.ReportAllocs()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		var m map[string]any
		if err := json.Unmarshal(tmpl, &m); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu.report(b)
}
