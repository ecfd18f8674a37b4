package pipelinetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// SourceHarness builds a source for the acceptance suite. New is called
// several times on the same harness and must return sources that share
// their persisted state (the "restart" of the source). Want is the number
// of records the source holds; 0 means unbounded (the suite reads Want or
// 50 records, whichever is set).
type SourceHarness struct {
	New  func(t *testing.T) pipeline.Source
	Want int
	// Bounded sources return io.EOF after Want records.
	Bounded bool
}

// SourceAcceptance checks what the engine relies on from every source:
// records carry positions, an ack persists them, a restarted source resumes
// after the last ack (redelivering what was not acked, skipping nothing),
// and a bounded source ends with io.EOF.
func SourceAcceptance(t *testing.T, h SourceHarness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := h.Want
	if want == 0 {
		want = 50
	}
	read := func(s pipeline.Source, n int) []*pipeline.Record {
		var out []*pipeline.Record
		for len(out) < n {
			recs, err := s.Read(ctx, n-len(out))
			out = append(out, recs...)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
		}
		return out
	}

	s := h.New(t)
	if err := s.Open(ctx); err != nil {
		t.Fatalf("open: %v", err)
	}
	all := read(s, want)
	if len(all) != want {
		t.Fatalf("read %d records, want %d", len(all), want)
	}
	for i, r := range all {
		if len(r.Position) == 0 {
			t.Fatalf("record %d has no position", i)
		}
		if len(r.Value) == 0 {
			t.Fatalf("record %d has no value", i)
		}
	}
	if h.Bounded {
		if recs, err := s.Read(ctx, 10); !errors.Is(err, io.EOF) || len(recs) != 0 {
			t.Fatalf("after %d records: want io.EOF, got %d records, %v", want, len(recs), err)
		}
	}
	// Ack the first half in two calls, then "crash" (close without acking
	// the rest).
	half := want / 2
	if err := s.Ack(ctx, positions(all[:half/2])); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := s.Ack(ctx, positions(all[half/2:half])); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}

	s2 := h.New(t)
	if err := s2.Open(ctx); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close(ctx)
	again := read(s2, want-half)
	if len(again) != want-half {
		t.Fatalf("after restart read %d records, want the %d unacked", len(again), want-half)
	}
	// The same position is the same upstream record (its value may differ
	// in what is not a function of the input, such as received_at).
	for i, r := range again {
		if string(r.Position) != string(all[half+i].Position) {
			t.Fatalf("after restart record %d is at position %x, want %x (resume right after the last ack)", i, r.Position, all[half+i].Position)
		}
	}
}

func positions(recs []*pipeline.Record) []pipeline.Position {
	out := make([]pipeline.Position, len(recs))
	for i, r := range recs {
		out[i] = r.Position
	}
	return out
}

// SinkHarness builds a sink for the acceptance suite and reads back what it
// delivered, as tajo.event.v1 ids (each id once per delivery).
type SinkHarness struct {
	New       func(t *testing.T) pipeline.Sink
	Delivered func(t *testing.T) []string
	// Idempotent sinks store a redelivered event once.
	Idempotent bool
}

// SinkAcceptance checks what the engine relies on from every sink: batches
// of real envelopes are delivered, unicode and 64-bit ids survive, an empty
// batch is harmless, redelivery is normal, and any error is classified.
func SinkAcceptance(t *testing.T, h SinkHarness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := h.New(t)
	if err := s.Open(ctx); err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close(ctx)
	batch := Events(250)
	for _, b := range [][]*pipeline.Record{batch[:1], batch[1:100], batch[100:]} {
		if err := s.Write(ctx, b); err != nil {
			t.Fatalf("write %d records: %v (class %s)", len(b), err, pipeline.ClassOf(err))
		}
	}
	if err := s.Write(ctx, nil); err != nil {
		t.Fatalf("an empty batch failed: %v", err)
	}
	// Redelivery of part of the batch, as after a crash.
	if err := s.Write(ctx, batch[200:]); err != nil {
		t.Fatalf("redelivery failed: %v", err)
	}
	got := map[string]int{}
	for _, id := range h.Delivered(t) {
		got[id]++
	}
	for i, r := range batch {
		ev, _ := schemas.DecodeEvent(r.Value)
		n := got[ev.ID]
		switch {
		case n == 0:
			t.Fatalf("event %d (%s) was not delivered", i, ev.ID)
		case h.Idempotent && n != 1:
			t.Fatalf("event %d delivered %d times by an idempotent sink", i, n)
		}
	}
}

// Events returns n valid envelopes with unicode text, 64-bit ids and
// decimal money, spread over three shops.
func Events(n int) []*pipeline.Record {
	out := make([]*pipeline.Record, n)
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	shops := []string{"alpha.myshopify.com", "bêta-store.myshopify.com", "gamma.myshopify.com"}
	for i := range out {
		id := 9007199254740993 + int64(i) // above 2^53
		ev := schemas.Event{
			Schema: schemas.EventSchema, ID: schemas.NewID("acceptance", fmt.Sprint(i)), Source: "acceptance",
			Shop: shops[i%3], Topic: "customers/update", Type: "customer_updated",
			OccurredAt: base.Add(time.Duration(i) * time.Second), ReceivedAt: base.Add(time.Duration(i) * time.Second),
			Entity: schemas.Entity{Kind: "customer", ID: fmt.Sprint(id)},
			Data:   []byte(fmt.Sprintf(`{"id":%d,"email":"zoë.%d@example.com","first_name":"Zoë 👋","total_spent":"1234.56"}`, id, i)),
		}
		b, err := json.Marshal(ev)
		if err != nil {
			panic(err)
		}
		out[i] = &pipeline.Record{Key: []byte(ev.Shop), Value: b, Time: ev.OccurredAt}
	}
	return out
}
