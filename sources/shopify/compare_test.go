package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tajo/tajo/schemas"
)

// decodeGeneric reads JSON keeping numbers as their literal text, so the
// comparison below sees ids with every digit.
func decodeGeneric(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// derivedKeys are canonical fields computed by tajo, not copied from the
// payload.
var derivedKeys = map[string]bool{"missing_email": true}

// assertSubset checks that every value in the canonical data equals the
// payload's value at the same path: ids to the digit, money as exact
// decimals (a payload's "0.00" equals data's "0"), times as instants, tags
// and attributes in either of Shopify's spellings. A key the payload lacks
// is allowed only for a zero default (an always-present total of a payload
// that did not carry it). renames maps a data key to the payload key it
// came from, for the small topics whose canonical names differ.
func assertSubset(t *testing.T, path string, data, payload any, renames map[string]string) {
	t.Helper()
	if payload == nil && isZeroDefault(data) {
		return // a null total or id read as zero
	}
	switch dv := data.(type) {
	case map[string]any:
		pm, ok := payload.(map[string]any)
		if !ok {
			t.Errorf("%s: data is an object, payload %T", path, payload)
			return
		}
		for k, v := range dv {
			if derivedKeys[k] {
				continue
			}
			pk := k
			if r, ok := renames[path+"."+k]; ok {
				pk = r
			}
			pv, ok := pm[pk]
			if !ok {
				if !isZeroDefault(v) {
					t.Errorf("%s.%s = %v: not in payload", path, k, v)
				}
				continue
			}
			assertSubset(t, path+"."+k, v, pv, renames)
		}
	case []any:
		switch pv := payload.(type) {
		case string: // tags "a, b"
			var want []any
			for _, s := range strings.Split(pv, ",") {
				if s = strings.TrimSpace(s); s != "" {
					want = append(want, s)
				}
			}
			if fmt.Sprint(want) != fmt.Sprint(dv) {
				t.Errorf("%s = %v, payload %q", path, dv, pv)
			}
		case map[string]any: // attributes as an object
			if len(pv) != len(dv) {
				t.Errorf("%s: %d attributes, payload %d", path, len(dv), len(pv))
			}
		case []any:
			if len(pv) != len(dv) {
				t.Errorf("%s: %d elements, payload %d", path, len(dv), len(pv))
				return
			}
			for i := range dv {
				assertSubset(t, fmt.Sprintf("%s[%d]", path, i), dv[i], pv[i], renames)
			}
		default:
			t.Errorf("%s: data is an array, payload %T", path, payload)
		}
	case string:
		if !sameScalar(dv, payload) {
			t.Errorf("%s = %q, payload %v", path, dv, payload)
		}
	case json.Number:
		if !sameNumber(dv, payload) {
			t.Errorf("%s = %s, payload %v", path, dv, payload)
		}
	case bool:
		if pb, ok := payload.(bool); !ok || pb != dv {
			t.Errorf("%s = %v, payload %v", path, dv, payload)
		}
	default:
		t.Errorf("%s: unexpected %T in data", path, data)
	}
}

func isZeroDefault(v any) bool {
	switch v := v.(type) {
	case bool:
		return !v
	case json.Number:
		return v == "0"
	case string:
		return v == "0"
	}
	return false
}

func sameScalar(d string, p any) bool {
	switch p := p.(type) {
	case string:
		if d == p {
			return true
		}
		if dt, err := time.Parse(time.RFC3339Nano, d); err == nil {
			pt, err := time.Parse(time.RFC3339Nano, p)
			return err == nil && dt.Equal(pt)
		}
		return decimalEqual(d, p)
	case json.Number: // money or text sent as a bare number
		return d == p.String() || decimalEqual(d, p.String())
	case bool:
		return d == fmt.Sprint(p)
	}
	return false
}

func decimalEqual(a, b string) bool {
	da, err1 := decimal.NewFromString(a)
	db, err2 := decimal.NewFromString(b)
	return err1 == nil && err2 == nil && da.Equal(db)
}

// sameNumber compares an integer of the data with the payload's literal
// digits (never through float64), a digit string, or a GID.
func sameNumber(d json.Number, p any) bool {
	switch p := p.(type) {
	case json.Number:
		return d.String() == p.String()
	case string:
		if d.String() == p {
			return true
		}
		if id, err := schemas.ParseGID(p); err == nil {
			return id.String() == d.String()
		}
	}
	return false
}
