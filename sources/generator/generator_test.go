package generator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
)

func TestGeneratorDeterministicAndResumes(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, err := state.OpenJournal(st, filepath.Join(dir, "s.journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cfg := *NewConfig().(*Config)
	cfg.Count = 25
	cfg.Shops = []string{"a.myshopify.com", "b.myshopify.com"}
	g := New(cfg, j, "g")
	ctx := context.Background()
	if err := g.Open(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := g.Read(ctx, 10)
	if err != nil || len(recs) != 10 {
		t.Fatalf("read %d, %v", len(recs), err)
	}
	for i, r := range recs {
		ev, err := schemas.DecodeEvent(r.Value)
		if err != nil {
			t.Fatalf("event %d invalid: %v", i, err)
		}
		if ev.ID != ID(cfg, int64(i)) || string(r.Key) != ev.Shop || ev.Shop != cfg.Shops[i%2] {
			t.Fatalf("event %d: id %s key %s shop %s", i, ev.ID, r.Key, ev.Shop)
		}
		if !json.Valid(ev.Data) {
			t.Fatalf("event %d data is not JSON: %s", i, ev.Data)
		}
	}
	// Ack the first 4 only: a new generator resumes at 4.
	if err := g.Ack(ctx, []pipeline.Position{recs[3].Position}); err != nil {
		t.Fatal(err)
	}
	g2 := New(cfg, j, "g")
	g2.Open(ctx)
	recs2, _ := g2.Read(ctx, 100)
	if len(recs2) != 21 {
		t.Fatalf("resumed generator read %d, want 21", len(recs2))
	}
	first, _ := schemas.DecodeEvent(recs2[0].Value)
	if first.ID != ID(cfg, 4) {
		t.Fatal("resumed generator did not start at event 4")
	}
	if _, err := g2.Read(ctx, 1); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF after count, got %v", err)
	}
}

func TestGeneratorRate(t *testing.T) {
	cfg := *NewConfig().(*Config)
	cfg.Count = 0
	cfg.Rate = 200
	g := New(cfg, nil, "g")
	ctx := context.Background()
	g.Open(ctx)
	start := time.Now()
	n := 0
	for n < 60 {
		recs, err := g.Read(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n += len(recs)
	}
	// 60 events at 200/s take about 0.3s; far less means no pacing.
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("60 events at rate 200/s took only %s", el)
	}
}
