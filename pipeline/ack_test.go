package pipeline

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestTrackerReleasesOnlyContiguous(t *testing.T) {
	tr := newTracker(100, 0)
	var tks []ticket
	for i := 0; i < 5; i++ {
		tk, _ := tr.track(0, i, 0)
		tks = append(tks, tk)
	}
	tr.done(tks[1])
	tr.done(tks[2])
	if got := tr.take(); got != nil {
		t.Fatalf("released %v before offset 0 was handled", got)
	}
	tr.done(tks[0])
	got := tr.take()[0]
	if len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("want [0 1 2] released, got %v", got)
	}
	tr.done(tks[4])
	if got := tr.take(); got != nil {
		t.Fatalf("released %v past the unhandled offset 3", got)
	}
	if n := tr.inFlight(); n != 2 {
		t.Fatalf("in flight = %d, want 2", n)
	}
}

func TestTrackerRandomOrderKeepsLaneOrder(t *testing.T) {
	const lanes, per = 4, 2000
	tr := newTracker(lanes*per, 0)
	var tks []ticket
	for i := 0; i < per; i++ {
		for l := int32(0); l < lanes; l++ {
			tk, _ := tr.track(l, i, 0)
			tks = append(tks, tk)
		}
	}
	rand.Shuffle(len(tks), func(i, j int) { tks[i], tks[j] = tks[j], tks[i] })
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(tks); i += 4 {
				tr.done(tks[i])
			}
		}()
	}
	wg.Wait()
	ready := tr.take()
	for l := int32(0); l < lanes; l++ {
		if len(ready[l]) != per {
			t.Fatalf("lane %d: %d released, want %d", l, len(ready[l]), per)
		}
		for i, v := range ready[l] {
			if v.(int) != i {
				t.Fatalf("lane %d: position %d holds %v", l, i, v)
			}
		}
	}
}

func TestTrackerBlocksAtMax(t *testing.T) {
	tr := newTracker(2, 0)
	a, _ := tr.track(0, 0, 0)
	tr.track(0, 1, 0)
	got := make(chan bool)
	go func() {
		_, ok := tr.track(0, 2, 0)
		got <- ok
	}()
	select {
	case <-got:
		t.Fatal("track did not block at max in flight")
	case <-time.After(50 * time.Millisecond):
	}
	tr.done(a)
	if ok := <-got; !ok {
		t.Fatal("track failed after a slot was released")
	}
	go func() {
		_, ok := tr.track(0, 3, 0)
		got <- ok
	}()
	time.Sleep(20 * time.Millisecond)
	tr.close()
	if ok := <-got; ok {
		t.Fatal("track succeeded on a closed tracker")
	}
}

// Bytes bound what is in flight too; a record larger than the bound alone
// still passes, or it could never be read.
func TestTrackerBlocksAtMaxBytes(t *testing.T) {
	tr := newTracker(100, 100)
	a, _ := tr.track(0, 0, 60)
	got := make(chan ticket)
	go func() {
		tk, _ := tr.track(0, 1, 60)
		got <- tk
	}()
	select {
	case <-got:
		t.Fatal("track did not block at max_in_flight_bytes")
	case <-time.After(50 * time.Millisecond):
	}
	tr.done(a)
	b := <-got
	tr.done(b)
	if tk, ok := tr.track(0, 2, 500); !ok || tr.inFlight() != 1 {
		t.Fatalf("a record larger than the bound was not let in alone: %v %v", tk, ok)
	}
}
