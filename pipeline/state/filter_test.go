package state

import (
	"fmt"
	"path/filepath"
	"testing"
)

// The filter never says absent of a key it was given, across its layers,
// and says "may be" of about 1% of the others.
func TestKeyFilterHasNoFalseAbsent(t *testing.T) {
	f := newKeyFilter(0)
	const n = 300000 // several layers past filterMinKeys
	for i := 0; i < n; i++ {
		f.add(fmt.Sprintf("customers\x00shop\x00%d", i))
	}
	if len(f.layers) < 2 {
		t.Fatalf("%d layers for %d keys: the filter did not grow", len(f.layers), n)
	}
	for i := 0; i < n; i++ {
		if !f.mayHave([]byte(fmt.Sprintf("customers\x00shop\x00%d", i))) {
			t.Fatalf("key %d added, reported absent", i)
		}
	}
	fp := 0
	for i := 0; i < 100000; i++ {
		if f.mayHave([]byte(fmt.Sprintf("customers\x00other\x00%d", i))) {
			fp++
		}
	}
	if rate := float64(fp) / 100000; rate > 0.05 {
		t.Fatalf("false positives %.2f%%, want about 1%% per layer", 100*rate)
	}
}

// countingGets counts the store reads a journal makes.
type countingGets struct {
	Store
	gets int
}

func (c *countingGets) Get(bucket, key string) ([]byte, error) {
	c.gets++
	return c.Store.Get(bucket, key)
}

// A key the journal never saw and the store did not hold at open is read
// as absent without a store read; a key in the store at open, or written
// and checkpointed since, is still read from the store.
func TestJournalAnswersNewKeysWithoutTheStore(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Put("customers", "old", []byte("1")); err != nil {
		t.Fatal(err)
	}
	cs := &countingGets{Store: st}
	j, err := OpenJournal(cs, filepath.Join(dir, "state.journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for i := 0; i < 1000; i++ {
		if v, err := j.Get("customers", fmt.Sprint("new", i)); err != nil || v != nil {
			t.Fatalf("new key %d: %q, %v", i, v, err)
		}
	}
	if cs.gets > 50 {
		t.Fatalf("%d store reads for 1,000 keys nobody wrote; want only the filter's false positives", cs.gets)
	}
	if v, _ := j.Get("customers", "old"); string(v) != "1" {
		t.Fatalf("a key in the store at open reads %q", v)
	}
	j.Put("customers", "later", []byte("2"))
	if err := j.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	j.clean = nil // as when the clean cache is dropped
	if v, _ := j.Get("customers", "later"); string(v) != "2" {
		t.Fatalf("a key written and checkpointed reads %q", v)
	}
}

// A key written again and again (a source's position, a customer's
// totals) does not grow the filter; only distinct keys do.
func TestKeyFilterGrowsWithDistinctKeysOnly(t *testing.T) {
	f := newKeyFilter(0)
	for i := 0; i < 1000000; i++ {
		f.add(fmt.Sprint("positions\x00file:", i%10))
	}
	if len(f.layers) != 1 || f.n > 10 {
		t.Fatalf("%d layers, %d keys counted for 10 distinct keys", len(f.layers), f.n)
	}
}
