package schemas

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

const envelope = `{"schema":"tajo.event.v1","id":"e1","source":"webhook","shop":"a.myshopify.com","type":"customer.updated","occurred_at":"2026-01-02T03:04:05Z","received_at":"2026-01-02T03:04:06Z","entity":{"kind":"customer","id":"7"},"data":{"id":7,"email":"zoë@example.com"},"raw":{"id":7,"note":"a \"quoted\" note"}}` + "\n"

func decoded(t *testing.T) *Event {
	t.Helper()
	ev, err := DecodeEvent([]byte(envelope))
	if err != nil {
		t.Fatal(err)
	}
	ev.SetSource([]byte(envelope))
	return ev
}

// What AppendJSON writes decodes to the event, output fields included,
// whether it copies the source or encodes the envelope anew.
func TestAppendJSONRoundTrips(t *testing.T) {
	for _, modified := range []bool{false, true} {
		ev := decoded(t)
		ev.Attributes = json.RawMessage(`{"FIRSTNAME":"Zoë","AOV":75.25}`)
		ev.Identifiers = &Identifiers{Email: "zoë@example.com", ExtID: "7"}
		ev.Consent = &Consent{Email: "subscribed"}
		if modified {
			ev.Type = TypeCustomerCreated
			ev.Modified()
		}
		b, err := ev.AppendJSON([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("dst not kept: %s", b)
		}
		got, err := DecodeEvent(b[len("prefix"):])
		if err != nil {
			t.Fatalf("modified=%v: %v\n%s", modified, err, b)
		}
		ev.src, ev.srcEnd = nil, 0
		var gotAttrs, wantAttrs map[string]any
		json.Unmarshal(got.Attributes, &gotAttrs)
		json.Unmarshal(ev.Attributes, &wantAttrs)
		if !reflect.DeepEqual(gotAttrs, wantAttrs) || *got.Identifiers != *ev.Identifiers || *got.Consent != *ev.Consent || got.Type != ev.Type {
			t.Fatalf("modified=%v: round trip\n got %+v\nwant %+v", modified, got, ev)
		}
		if !bytes.Equal(compact(t, got.Raw), compact(t, ev.Raw)) || !bytes.Equal(compact(t, got.Data), compact(t, ev.Data)) {
			t.Fatalf("modified=%v: data or raw changed:\n%s", modified, b)
		}
	}
}

// Unchanged but for its output, an event is its source's bytes with the
// output appended: data and raw are never re-encoded.
func TestAppendJSONKeepsTheSourceBytes(t *testing.T) {
	ev := decoded(t)
	ev.Identifiers = &Identifiers{ExtID: "7"}
	b, err := ev.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	src := bytes.TrimRight([]byte(envelope), "\n")
	if want := string(src[:len(src)-1]) + `,"identifiers":{"ext_id":"7"}}`; string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
}

// A stage's broken attributes are an error, never an invalid envelope.
func TestAppendJSONRefusesAttributesThatAreNotAnObject(t *testing.T) {
	for _, attrs := range []string{`[1]`, `{"A":`, `"x"`} {
		ev := decoded(t)
		ev.Attributes = json.RawMessage(attrs)
		if b, err := ev.AppendJSON(nil); err == nil {
			t.Fatalf("attributes %s: no error, wrote %s", attrs, b)
		}
	}
}

// Every string AppendString writes reads back as itself, HTML unescaped.
func TestAppendStringReadsBack(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "tab\tnl\ncr\r", "\x00\x1f", "zoë <b>&</b>", "\u2028"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Fatalf("%q: wrote %s, reads back %q (%v)", s, got, back, err)
		}
		if bytes.Contains([]byte(s), []byte("<")) && !bytes.Contains(got, []byte("<")) {
			t.Fatalf("%q: HTML escaped: %s", s, got)
		}
	}
}

func compact(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
