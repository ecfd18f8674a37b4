package transforms

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
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
	case expression.Decimal:
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

// appendString writes s as a JSON string without HTML escaping.
func appendString(dst []byte, s string) []byte { return schemas.AppendString(dst, s) }

// write makes the item's output the record's: the attributes encoded as
// one JSON object, the identifiers and consent, on the shared event. The
// envelope is not written again here; a sink that needs bytes gets them
// from schemas.Event.AppendJSON.
func (it *item) write(rec *pipeline.Record) error {
	if !it.out.touched {
		return nil
	}
	o, ev := &it.out, &it.ev
	ev.Attributes = nil
	if len(o.attrs) > 0 {
		n := 2
		for _, a := range o.attrs {
			n += len(a.key) + len(a.val) + 4
		}
		b := make([]byte, 0, n)
		b = append(b, '{')
		for i, a := range o.attrs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, a.key)
			b = append(b, ':')
			b = append(b, a.val...)
		}
		ev.Attributes = append(b, '}')
	}
	ev.Identifiers, ev.Consent = nil, nil
	if o.ident != (schemas.Identifiers{}) {
		ev.Identifiers = &o.ident
	}
	if o.consent != (schemas.Consent{}) {
		ev.Consent = &o.consent
	}
	rec.SetEvent(ev)
	return nil
}
