package transforms

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// MaxTextAttribute bounds a string attribute value; longer text is a
// mistake in a mapping (a whole body_html), not a contact attribute.
const MaxTextAttribute = 4096

// appendValue encodes an expression result as a Brevo attribute value:
// strings, finite numbers, booleans, lists of strings, and times (as the
// date YYYY-MM-DD in the shop's zone). ok is false for values that mean
// "leave the attribute out": nil, "" and the zero time. Anything else
// (NaN, ±Inf, maps, nested lists) is an error: Brevo would reject it or,
// worse, silently ignore it.
func appendValue(dst []byte, v any, loc *time.Location) (out []byte, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return dst, false, nil
	case string:
		if x == "" {
			return dst, false, nil
		}
		if !utf8.ValidString(x) {
			return dst, false, fmt.Errorf("text is not valid UTF-8")
		}
		if len(x) > MaxTextAttribute {
			return dst, false, fmt.Errorf("text of %d bytes exceeds %d", len(x), MaxTextAttribute)
		}
		return appendString(dst, x), true, nil
	case bool:
		return strconv.AppendBool(dst, x), true, nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true, nil
	case int64:
		return strconv.AppendInt(dst, x, 10), true, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return dst, false, fmt.Errorf("%v is not a finite number", x)
		}
		return strconv.AppendFloat(dst, x, 'f', -1, 64), true, nil
	case Decimal:
		// The decimal text is a valid JSON number and keeps every digit.
		return append(dst, x.String()...), true, nil
	case time.Time:
		if x.IsZero() {
			return dst, false, nil
		}
		dst = append(dst, '"')
		dst = x.In(loc).AppendFormat(dst, "2006-01-02")
		return append(dst, '"'), true, nil
	case []string:
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		return append(dst, ']'), true, nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			s, isStr := e.(string)
			if !isStr {
				return dst, false, fmt.Errorf("a list attribute holds only strings, got %T", e)
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		return append(dst, ']'), true, nil
	}
	return dst, false, fmt.Errorf("%T is not an attribute value (want text, number, boolean, date or a list of text)", v)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string without HTML escaping.
func appendString(dst []byte, s string) []byte {
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

// write puts the item's output into rec.Value. The envelope the source
// wrote is kept byte for byte and our fields are appended before its
// closing brace, which is both the fastest encoding and the one that can
// never alter data or raw.
func (it *item) write(rec *pipeline.Record) error {
	if !it.out.touched {
		return nil
	}
	if it.base < 0 {
		return it.rewrite(rec)
	}
	b := make([]byte, 0, it.base+64+32*len(it.out.attrs))
	b = append(b, it.orig[:it.base]...)
	b = it.appendFields(b)
	b = append(b, '}')
	rec.Value = b
	return nil
}

func (it *item) appendFields(b []byte) []byte {
	o := &it.out
	if len(o.attrs) > 0 {
		b = append(b, `,"attributes":{`...)
		for i, a := range o.attrs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, a.key)
			b = append(b, ':')
			b = append(b, a.val...)
		}
		b = append(b, '}')
	}
	if id := o.ident; id != (schemas.Identifiers{}) {
		b = append(b, `,"identifiers":{`...)
		b = appendPairs(b, "email", id.Email, "ext_id", id.ExtID, "phone", id.Phone)
		b = append(b, '}')
	}
	if c := o.consent; c != (schemas.Consent{}) {
		b = append(b, `,"consent":{`...)
		b = appendPairs(b, "email", c.Email, "sms", c.SMS)
		b = append(b, '}')
	}
	return b
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
		b = appendString(b, kv[i])
		b = append(b, ':')
		b = appendString(b, kv[i+1])
	}
	return b
}

// rewrite re-encodes the whole envelope: the slow path, for records that
// already carried output or whose data a stage changed.
func (it *item) rewrite(rec *pipeline.Record) error {
	ev := it.ev
	ev.Attributes, ev.Identifiers, ev.Consent = nil, nil, nil
	b, err := json.Marshal(&ev)
	if err != nil {
		return pipeline.Reject("encode", err)
	}
	n := lastBrace(b)
	it.base, it.orig = n, b
	out := it.appendFields(append([]byte(nil), b[:n]...))
	rec.Value = append(out, '}')
	return nil
}
