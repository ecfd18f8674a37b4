package generator

import (
	"context"
	"io"
	"regexp"
	"slices"
	"testing"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
)

// generate parses a sources.generator section and returns every event it
// generates.
func generate(t *testing.T, section string) []*schemas.Event {
	t.Helper()
	cfg, err := config.Parse([]byte("version: 1\ndata_dir: "+t.TempDir()+"\nsources: {generator: "+section+"}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g := New(*cfg.Component("sources", "generator").Spec.(*Config), nil, "g")
	ctx := context.Background()
	if err := g.Open(ctx); err != nil {
		t.Fatal(err)
	}
	var out []*schemas.Event
	for {
		recs, err := g.Read(ctx, 1000)
		for _, r := range recs {
			ev, derr := schemas.DecodeEvent(r.Value)
			if derr != nil {
				t.Fatal(derr)
			}
			out = append(out, ev)
		}
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

var customerEmail = regexp.MustCompile(`customer-\d+@example\.com`)

// customersOf lists the distinct customers (by email) the events name.
func customersOf(evs []*schemas.Event) []string {
	var out []string
	for _, ev := range evs {
		if m := customerEmail.Find(ev.Data); m != nil && !slices.Contains(out, string(m)) {
			out = append(out, string(m))
		}
	}
	return out
}

// sources.generator.seed: another seed gives other events (other ids,
// other customers in another order), the same seed the same ones.
func TestGeneratorSeedGivesOtherEvents(t *testing.T) {
	one := generate(t, "{count: 50, rate: 0, seed: 1}")
	again := generate(t, "{count: 50, rate: 0, seed: 1}")
	two := generate(t, "{count: 50, rate: 0, seed: 2}")
	if len(one) != 50 || len(two) != 50 {
		t.Fatalf("generated %d and %d events, want 50 each", len(one), len(two))
	}
	ids := map[string]bool{}
	for i, ev := range one {
		ids[ev.ID] = true
		if ev.ID != again[i].ID || string(ev.Data) != string(again[i].Data) {
			t.Fatalf("seed 1 twice: event %d differs", i)
		}
	}
	for i, ev := range two {
		if ids[ev.ID] {
			t.Fatalf("seed 2's event %d has seed 1's id %s", i, ev.ID)
		}
	}
	if slices.Equal(customersOf(one), customersOf(two)) {
		t.Errorf("seeds 1 and 2 name the same customers in the same order: %v", customersOf(one))
	}
}

// sources.generator.customers is how many distinct customers the events
// are about: 200 events over 10 customers name exactly 10.
func TestGeneratorCustomersBoundsDistinctCustomers(t *testing.T) {
	evs := generate(t, "{count: 200, rate: 0, customers: 10}")
	if n := len(customersOf(evs)); n != 10 {
		t.Fatalf("200 events name %d distinct customers, want customers: 10", n)
	}
}
