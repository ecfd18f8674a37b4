package transforms

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// canonical decodes a Shopify body into its canonical type and encodes it
// as a source would put it in Event.Data.
func canonical(t testing.TB, body []byte, v any) json.RawMessage {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func event(t testing.TB, typ, kind, entity string, occurred time.Time, data any) *schemas.Event {
	t.Helper()
	var raw json.RawMessage
	switch d := data.(type) {
	case json.RawMessage:
		raw = d
	case string:
		raw = json.RawMessage(d)
	default:
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		raw = b
	}
	return &schemas.Event{
		Schema: schemas.EventSchema, ID: schemas.NewID("test", typ, entity, occurred.String()),
		Source: "shopify", Shop: "shop.myshopify.com", Type: typ, OccurredAt: occurred, ReceivedAt: occurred,
		Entity: schemas.Entity{Kind: kind, ID: entity}, Data: raw,
	}
}

func record(t testing.TB, e *schemas.Event) *pipeline.Record {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.Record{Key: []byte(e.Shop), Value: b}
}

// parse reads a configuration the way tajo validate does.
func parse(t testing.TB, yamlText string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte("version: 1\n"+yamlText), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type testChain struct {
	t   testing.TB
	ts  []pipeline.NamedTransform
	now time.Time
}

func newChain(t testing.TB, yamlText string) *testChain {
	t.Helper()
	tc := &testChain{t: t, now: t0}
	ts, err := BuildWith(parse(t, yamlText), pipeline.Env{}, Options{Memory: true, Now: func() time.Time { return tc.now }})
	if err != nil {
		t.Fatal(err)
	}
	tc.ts = ts
	return tc
}

// run returns the output envelope (nil when dropped) and the error.
func (c *testChain) run(rec *pipeline.Record) (*output2, error) {
	outs, err := runChain(c.ts, rec)
	if err != nil || len(outs) == 0 {
		return nil, err
	}
	var o output2
	if err := json.Unmarshal(valueOf(c.t, outs[0]), &o); err != nil {
		c.t.Fatalf("output is not JSON: %v\n%s", err, valueOf(c.t, outs[0]))
	}
	o.raw = valueOf(c.t, outs[0])
	o.sinks = outs[0].Sinks
	return &o, nil
}

func (c *testChain) mustRun(rec *pipeline.Record) *output2 {
	c.t.Helper()
	o, err := c.run(rec)
	if err != nil {
		c.t.Fatal(err)
	}
	return o
}

type output2 struct {
	schemas.Event
	Attrs map[string]any `json:"attributes"`
	raw   []byte
	sinks []string
}

var _ = context.Background

// valueOf is what a boundary (the file sink, Kafka) writes for r.
func valueOf(t testing.TB, r *pipeline.Record) []byte {
	t.Helper()
	b, err := r.Bytes()
	if err != nil {
		t.Fatalf("encode the output: %v", err)
	}
	return b
}
