package schemas

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func sampleEvent() *Event {
	t := time.Date(2026, 11, 27, 10, 30, 0, 123456789, time.UTC)
	return &Event{
		Schema: EventSchema, ID: NewID("shopify", "shop.myshopify.com", "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
		Source: "shopify", Shop: "shop.myshopify.com", Topic: "orders/create", Type: "order_placed",
		OccurredAt: t, ReceivedAt: t.Add(time.Second), APIVersion: "2026-04",
		Entity: Entity{Kind: "order", ID: "9223372036854775807"},
		Data:   json.RawMessage(`{"id":9223372036854775807,"total_price":"199.99","name":"Zoë ✓"}`),
		Raw:    json.RawMessage(`{"id":9223372036854775807}`),
	}
}

func TestEventRoundTrip(t *testing.T) {
	in := sampleEvent()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(out)
	if !bytes.Equal(b, b2) {
		t.Fatalf("round trip changed the event:\n%s\n%s", b, b2)
	}
	if !out.OccurredAt.Equal(in.OccurredAt) || out.Entity.ID != "9223372036854775807" {
		t.Fatalf("fields lost: %+v", out)
	}
	if !bytes.Contains(out.Data, []byte("9223372036854775807")) || !bytes.Contains(out.Data, []byte(`"199.99"`)) {
		t.Fatalf("64-bit id or decimal altered in data: %s", out.Data)
	}
}

func TestEventMatchesJSONSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(EventJSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("event.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("event.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sampleEvent())
	v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err := sch.Validate(v); err != nil {
		t.Fatalf("a valid event fails the schema: %v", err)
	}
	mapped := sampleEvent()
	mapped.Attributes = json.RawMessage(`{"FIRSTNAME":"Zoë","AOV":75.25,"VIP":true,"TAGS":["a","b"]}`)
	mapped.Identifiers = &Identifiers{Email: "zoe@example.com", ExtID: "1"}
	mapped.Consent = &Consent{Email: "subscribed"}
	mb, _ := json.Marshal(mapped)
	mv, _ := jsonschema.UnmarshalJSON(bytes.NewReader(mb))
	if err := sch.Validate(mv); err != nil {
		t.Fatalf("an event with attributes fails the schema: %v", err)
	}
	if _, err := DecodeEvent(mb); err != nil {
		t.Fatalf("an event with attributes does not decode: %v", err)
	}
	mapped.Attributes = json.RawMessage(`{"NESTED":{"a":1}}`)
	mb, _ = json.Marshal(mapped)
	mv, _ = jsonschema.UnmarshalJSON(bytes.NewReader(mb))
	if err := sch.Validate(mv); err == nil {
		t.Fatal("schema accepted a nested attribute value")
	}
	mapped.Attributes = json.RawMessage(`[1]`)
	if err := mapped.Validate(); err == nil {
		t.Fatal("Validate accepted attributes that are not an object")
	}
	bad := map[string]any{}
	json.Unmarshal(b, &bad)
	delete(bad, "shop")
	bad["extra"] = 1
	if err := sch.Validate(bad); err == nil {
		t.Fatal("schema accepted an event without shop and with an unknown field")
	}
}

func TestNewIDDeterministicAndUnambiguous(t *testing.T) {
	a := NewID("shopify", "a.myshopify.com", "orders/create", "1")
	if a != NewID("shopify", "a.myshopify.com", "orders/create", "1") {
		t.Fatal("NewID is not deterministic")
	}
	if len(a) != 32 {
		t.Fatalf("id %q is not 32 hex chars", a)
	}
	// Joining must not be ambiguous: ("ab","c") differs from ("a","bc").
	if NewID("ab", "c") == NewID("a", "bc") {
		t.Fatal("NewID is ambiguous across part boundaries")
	}
	// A fixed vector keeps ids stable across releases.
	if got := NewID("generator", "1", "0"); got != stableGeneratorID0 {
		t.Fatalf("NewID changed: %s", got)
	}
}

const stableGeneratorID0 = "1e77293228058029c97ee42f902abf5d"

func TestDecodeEventErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     `{"schema":`,
		"wrong schema": `{"schema":"tajo.event.v0"}`,
		"missing":      `{"schema":"tajo.event.v1","id":"x"}`,
		"no time":      `{"schema":"tajo.event.v1","id":"x","source":"s","shop":"s","type":"t","entity":{"kind":"k","id":"1"}}`,
		"bad id type":  `{"schema":"tajo.event.v1","id":12}`,
	} {
		if _, err := DecodeEvent([]byte(in)); err == nil || !strings.Contains(err.Error(), "tajo.event.v1") {
			t.Errorf("%s: want a tajo.event.v1 error, got %v", name, err)
		}
	}
}

func FuzzDecodeEvent(f *testing.F) {
	b, _ := json.Marshal(sampleEvent())
	f.Add(b)
	f.Add([]byte(`{"schema":"tajo.event.v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err == nil {
			if e.Validate() != nil {
				t.Fatal("decoded event does not validate")
			}
			if _, err := json.Marshal(e); err != nil {
				t.Fatal(err)
			}
		}
	})
}
