package schemas

import (
	"encoding/json"
	"fmt"
)

// An Event decoded from bytes remembers them (SetSource), so that writing
// it back at a boundary (the file sink, a Kafka topic, a dead letter) is a
// copy of those bytes with the output fields a stage set (Attributes,
// Identifiers, Consent) appended before the closing brace: the fastest
// encoding, and one that can never alter data or raw. A stage that changes
// anything else calls Modified, and the envelope is encoded anew.

// SetSource records that e was decoded from b, which carries no output
// fields yet. b must not change while e is in use.
func (e *Event) SetSource(b []byte) {
	e.src, e.srcEnd = b, lastBrace(b)
}

// Modified tells e that a field other than its output changed since it
// was decoded: AppendJSON then encodes the whole envelope.
func (e *Event) Modified() { e.src, e.srcEnd = nil, 0 }

// AppendJSON appends e's tajo.event.v1 encoding to dst.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	if e.src != nil && e.srcEnd > 0 {
		dst = append(dst, e.src[:e.srcEnd]...)
		dst, err := e.appendOutput(dst)
		return append(dst, '}'), err
	}
	ev := *e
	ev.Attributes, ev.Identifiers, ev.Consent = nil, nil, nil
	b, err := json.Marshal(&ev)
	if err != nil {
		return dst, fmt.Errorf("encode %s: %w", EventSchema, err)
	}
	n := lastBrace(b)
	dst = append(dst, b[:n]...)
	dst, err = e.appendOutput(dst)
	return append(dst, '}'), err
}

// appendOutput writes the output fields, each with its leading comma.
func (e *Event) appendOutput(b []byte) ([]byte, error) {
	if len(e.Attributes) > 0 {
		if e.Attributes[0] != '{' || !json.Valid(e.Attributes) {
			return b, fmt.Errorf("encode %s: attributes: not a JSON object", EventSchema)
		}
		b = append(b, `,"attributes":`...)
		b = append(b, e.Attributes...)
	}
	if id := e.Identifiers; id != nil && *id != (Identifiers{}) {
		b = append(b, `,"identifiers":{`...)
		b = appendPairs(b, "email", id.Email, "ext_id", id.ExtID, "phone", id.Phone)
		b = append(b, '}')
	}
	if c := e.Consent; c != nil && *c != (Consent{}) {
		b = append(b, `,"consent":{`...)
		b = appendPairs(b, "email", c.Email, "sms", c.SMS)
		b = append(b, '}')
	}
	return b, nil
}

func appendPairs(b []byte, kv ...string) []byte {
	first := true
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = AppendString(b, kv[i])
		b = append(b, ':')
		b = AppendString(b, kv[i+1])
	}
	return b
}

// lastBrace is the index of the closing brace of the JSON object b, when
// only white space follows it; -1 otherwise.
func lastBrace(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case '}':
			return i
		case ' ', '\n', '\r', '\t':
		default:
			return -1
		}
	}
	return -1
}

const hexDigits = "0123456789abcdef"

// AppendString writes s as a JSON string without HTML escaping (what
// encoding/json does with SetEscapeHTML(false)). s must be valid UTF-8:
// callers validate text first.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
