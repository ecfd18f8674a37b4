package transforms

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
)

// killEvents is a deterministic history of orders, refunds and
// cancellations for a few customers.
func killEvents(t testing.TB) []*pipeline.Record {
	var out []*pipeline.Record
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		at := base.Add(time.Duration(i) * time.Hour)
		cust := 100 + i%4
		id := int64(5000 + i)
		data := fmt.Sprintf(`{"id":%d,"total_price":"%d.%02d","created_at":%q,"customer":{"id":%d,"email":"c%d@example.com"},"line_items":[{"product_id":%d,"quantity":1,"price":"1"}]}`,
			id, 10+i%50, i%100, at.Format(time.RFC3339), cust, cust, 1+i%7)
		e := event(t, schemas.TypeOrderPlaced, "order", strconv.FormatInt(id, 10), at, data)
		out = append(out, record(t, e))
		switch i % 10 {
		case 3: // refund part of it
			r := fmt.Sprintf(`{"id":%d,"order_id":%d,"transactions":[{"id":1,"kind":"refund","status":"success","amount":"5.00"}]}`, 90000+i, id)
			out = append(out, record(t, event(t, schemas.TypeOrderRefunded, "refund", strconv.Itoa(90000+i), at.Add(time.Minute), r)))
		case 7: // cancel it
			c := strings.Replace(data, `"customer"`, `"cancelled_at":"`+at.Add(time.Minute).Format(time.RFC3339)+`","customer"`, 1)
			out = append(out, record(t, event(t, schemas.TypeOrderCancelled, "order", strconv.FormatInt(id, 10), at.Add(time.Minute), c)))
		}
	}
	return out
}

func probes(t testing.TB) []*pipeline.Record {
	var out []*pipeline.Record
	for cust := 100; cust < 104; cust++ {
		at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		out = append(out, record(t, event(t, schemas.TypeCustomerUpdated, "customer", strconv.Itoa(cust), at,
			fmt.Sprintf(`{"id":%d,"email":"c%d@example.com","updated_at":%q}`, cust, cust, at.Format(time.RFC3339)))))
	}
	return out
}

func totals(t testing.TB, ts []pipeline.NamedTransform) string {
	var b strings.Builder
	for _, p := range probes(t) {
		outs, err := runChain(ts, p)
		if err != nil || len(outs) != 1 {
			t.Fatalf("probe: %v", err)
		}
		var o struct{ Attributes map[string]any }
		json.Unmarshal(valueOf(t, outs[0]), &o)
		fmt.Fprintf(&b, "%v/%v/%v ", o.Attributes["ORDER_COUNT"], o.Attributes["TOTAL_SPENT"], o.Attributes["AOV"])
	}
	return b.String()
}

// TestAggregatesSurviveKill9 runs the chain in a child process over a real
// bbolt store and journal, acks each record as soon as Process returns
// (the earliest the engine ever could), kills the child with SIGKILL at
// random points, restarts it from a few records before the last ack
// (a redelivery), and checks the totals against one clean pass.
func TestAggregatesSurviveKill9(t *testing.T) {
	if os.Getenv("TAJO_KILL_CHILD") != "" {
		killChild(t)
		return
	}
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir := t.TempDir()
	events := killEvents(t)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	acked := -1
	for run := 0; acked < len(events)-1 && run < 50; run++ {
		start := max(0, acked+1-rng.Intn(8))
		cmd := exec.Command(os.Args[0], "-test.run=^TestAggregatesSurviveKill9$")
		cmd.Env = append(os.Environ(), "TAJO_KILL_CHILD=run", "TAJO_KILL_DIR="+dir, "TAJO_KILL_START="+strconv.Itoa(start))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 20 + rng.Intn(150)
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			if i, err := strconv.Atoi(strings.TrimPrefix(line, "ack ")); err == nil && strings.HasPrefix(line, "ack ") {
				acked = i
				n++
				if run < 6 && n == killAfter {
					cmd.Process.Signal(syscall.SIGKILL)
					break
				}
			}
		}
		cmd.Wait()
	}
	if acked != len(events)-1 {
		t.Fatalf("children never finished: last ack %d of %d", acked, len(events)-1)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAggregatesSurviveKill9$")
	cmd.Env = append(os.Environ(), "TAJO_KILL_CHILD=probe", "TAJO_KILL_DIR="+dir)
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe child: %v", err)
	}
	ts, err := BuildWith(parse(t, ""), pipeline.Env{}, Options{Memory: true, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range events {
		if _, err := runChain(ts, &pipeline.Record{Key: r.Key, Value: valueOf(t, r)}); err != nil {
			t.Fatal(err)
		}
	}
	want := totals(t, ts)
	if line := lastLine(string(got), "totals "); line != want {
		t.Fatalf("after kill -9 and redelivery:\n got %s\nwant %s", line, want)
	}
}

func lastLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimPrefix(l, prefix)
		}
	}
	return ""
}

func killChild(t *testing.T) {
	dir := os.Getenv("TAJO_KILL_DIR")
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts, err := BuildWith(parse(t, ""), pipeline.Env{State: st, DataDir: dir}, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("TAJO_KILL_CHILD") == "probe" {
		fmt.Printf("totals %s\n", totals(t, ts))
		return
	}
	start, _ := strconv.Atoi(os.Getenv("TAJO_KILL_START"))
	events := killEvents(t)
	for i := start; i < len(events); i++ {
		r := events[i]
		if _, err := runChain(ts, &pipeline.Record{Key: r.Key, Value: valueOf(t, r)}); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("ack %d\n", i)
	}
	_ = context.Background()
}

func TestGuardPrunesExpiredSeenMarks(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := t0
	ts, err := BuildWith(parse(t, "transforms: {dedupe_window: 1h}\n"), pipeline.Env{State: st, DataDir: dir}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c := ts[0].Transform.(*guard).c
	for i := 0; i < 10; i++ {
		runChain(ts, record(t, event(t, "custom_signal", "thing", strconv.Itoa(i), now, `{"id":"x"}`)))
	}
	if err := c.store.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		st.View(func(tx state.Tx) error {
			return tx.ForEach(bucketSeen, func(k, v []byte) error { n++; return nil })
		})
		return n
	}
	if count() != 10 {
		t.Fatalf("%d marks", count())
	}
	now = now.Add(2 * time.Hour)
	runChain(ts, record(t, event(t, "custom_signal", "thing", "new", now, `{"id":"x"}`)))
	c.store.Checkpoint()
	if n := count(); n != 1 {
		t.Fatalf("%d marks after the sweep, want 1", n)
	}
}
