package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// ID is an upstream numeric id. Shopify ids exceed 2^53, so an ID is never
// routed through float64: it decodes from a JSON integer, a string of
// digits, or a Shopify GID ("gid://shopify/Customer/123"), and encodes as a
// JSON integer. Decode canonical objects with encoding/json into these types
// (or with json.Decoder.UseNumber); a plain map[string]any would round them.
// JSON null decodes to 0, which means "absent".
type ID int64

// UnmarshalJSON accepts 123, "123" and "gid://shopify/Kind/123", and rejects
// anything else (fractions, exponents, negatives, overflow, other types)
// rather than guess.
func (id *ID) UnmarshalJSON(b []byte) error {
	if n, ok := plainDigits(b); ok {
		*id = ID(n)
		return nil
	}
	if string(b) == "null" {
		*id = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = unquote(b); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		if s == "" {
			*id = 0
			return nil
		}
		if strings.HasPrefix(s, "gid://") {
			n, err := ParseGID(s)
			if err != nil {
				return fmt.Errorf("id: %w", err)
			}
			*id = n
			return nil
		}
	}
	n, err := parseID(s)
	if err != nil {
		return err
	}
	*id = n
	return nil
}

// String returns the decimal digits of id, the form used in Entity.ID.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// ParseGID returns the numeric id of a Shopify global id such as
// "gid://shopify/Customer/706405506930370084" or
// "gid://shopify/InventoryLevel/24826418?inventory_item_id=1".
func ParseGID(gid string) (ID, error) {
	rest, ok := strings.CutPrefix(gid, "gid://shopify/")
	if !ok {
		return 0, fmt.Errorf("%q is not a Shopify gid", truncate(gid))
	}
	rest, _, _ = strings.Cut(rest, "?")
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return 0, fmt.Errorf("%q has no numeric id", truncate(gid))
	}
	return parseID(rest[i+1:])
}

// plainDigits is parseID's result for a bare JSON integer of 1 to 18
// digits (which cannot overflow), without converting b to a string; ok is
// false for anything else, which takes the general path.
func plainDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func parseID(s string) (ID, error) {
	if s == "" || len(s) > 19 {
		return 0, fmt.Errorf("id %q: want a positive integer of at most 19 digits", truncate(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("id %q: want a positive integer", truncate(s))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("id %q: out of range for int64", truncate(s))
	}
	return ID(n), nil
}

// Count is a non-negative integer that Shopify sends as a JSON number in
// REST payloads and as a string in GraphQL ones (UnsignedInt64).
type Count int64

// UnmarshalJSON accepts 5 and "5"; null is 0.
func (c *Count) UnmarshalJSON(b []byte) error {
	if n, ok := plainDigits(b); ok {
		*c = Count(n)
		return nil
	}
	if string(b) == "null" {
		*c = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = unquote(b); err != nil {
			return fmt.Errorf("count: %w", err)
		}
	}
	n, err := parseID(s)
	if err != nil {
		return fmt.Errorf("count: %w", err)
	}
	*c = Count(n)
	return nil
}

// Money is an exact decimal amount, in the currency named next to it.
// Shopify sends money as a string ("199.99"), a few payloads as a bare JSON
// number (refund line subtotals); both decode exactly, and Money always
// encodes as a string so no consumer parses it into a float by accident.
//
// Decoding is bounded (MaxMoneyDigits, MaxMoneyExponent): an amount such as
// "1e999999999" parses cheaply but would allocate a gigabyte when printed.
type Money struct {
	decimal.Decimal
}

const (
	// MaxMoneyDigits bounds the characters of a money literal.
	MaxMoneyDigits = 40
	// MaxMoneyExponent bounds the decimal exponent of a money literal.
	MaxMoneyExponent = 30
)

// NewMoney parses s ("19.99") as Money with the same rules as JSON decoding.
func NewMoney(s string) (Money, error) {
	if err := checkDecimal(s); err != nil {
		return Money{}, err
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Money{}, fmt.Errorf("money %q: %w", truncate(s), err)
	}
	return Money{d}, nil
}

// MustMoney is NewMoney for constants in tests and code; it panics on error.
func MustMoney(s string) Money {
	m, err := NewMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// UnmarshalJSON accepts "19.99", 19.99, null and "" (both zero).
func (m *Money) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = Money{}
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = unquote(b); err != nil {
			return fmt.Errorf("money: %w", err)
		}
		if s == "" {
			*m = Money{}
			return nil
		}
	}
	v, err := NewMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalJSON always quotes, whatever decimal.MarshalJSONWithoutQuotes says.
func (m Money) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, m.String()), nil
}

// checkDecimal enforces a plain decimal grammar -?digits[.digits][e[+-]digits]
// with bounded size; decimal.NewFromString alone also accepts forms such as
// "+1" or a Unicode minus that no Shopify payload uses.
func checkDecimal(s string) error {
	bad := func(why string) error { return fmt.Errorf("money %q: %s", truncate(s), why) }
	if len(s) == 0 {
		return bad("empty")
	}
	if len(s) > MaxMoneyDigits {
		return bad(fmt.Sprintf("longer than %d characters", MaxMoneyDigits))
	}
	i := 0
	if s[0] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if digits() == 0 {
		return bad("not a decimal number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return bad("not a decimal number")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		start := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return bad("bad exponent")
		}
		exp, err := strconv.Atoi(s[start:i])
		if err != nil || exp > MaxMoneyExponent || exp < -MaxMoneyExponent {
			return bad(fmt.Sprintf("exponent beyond ±%d", MaxMoneyExponent))
		}
	}
	if i != len(s) {
		return bad("not a decimal number")
	}
	return nil
}

// Tags is a set of labels. Shopify REST sends them as one comma-separated
// string ("vip, wholesale"), GraphQL and the tag topics as an array; both
// decode to trimmed, non-empty entries in their original order.
type Tags []string

// UnmarshalJSON accepts "a, b", ["a", "b"] and null.
func (t *Tags) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*t = nil
		return nil
	}
	var parts []string
	switch {
	case len(b) > 0 && b[0] == '"':
		s, err := unquote(b)
		if err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		parts = strings.Split(s, ",")
	case len(b) > 0 && b[0] == '[':
		var ok bool
		if parts, ok = plainStringArray(b); ok {
			break
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return fmt.Errorf("tags: want a string or an array of strings: %w", err)
		}
	default:
		return errors.New("tags: want a string or an array of strings")
	}
	out := make(Tags, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	*t = out
	return nil
}

// plainStringArray splits ["a", "b"] when every element is a plain string
// (see plainJSONString); ok is false for anything else.
func plainStringArray(b []byte) (out []string, ok bool) {
	if len(b) == 0 || b[0] != '[' {
		return nil, false
	}
	i := 1
	skip := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
			i++
		}
	}
	skip()
	if i < len(b) && b[i] == ']' {
		i++
		skip()
		return []string{}, i == len(b)
	}
	for {
		skip()
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(b[i+1:], '"')
		if end < 0 || !plainJSONString(b[i+1:i+1+end]) {
			return nil, false
		}
		out = append(out, string(b[i+1:i+1+end]))
		i += end + 2
		skip()
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			i++
			skip()
			return out, i == len(b)
		default:
			return nil, false
		}
	}
}

// Text is a string that Shopify sometimes sends as another JSON value (note
// attribute and line item property values set by storefront code, cart
// ids). A string is kept as is; any other value as its compact JSON text,
// so numbers keep every digit and one odd attribute never costs the order.
type Text string

// UnmarshalJSON accepts any JSON value; null is "".
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*t = ""
	case len(b) > 0 && b[0] == '"':
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*t = Text(s)
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return fmt.Errorf("text: %w", err)
		}
		*t = Text(buf.String())
	}
	return nil
}

func unquote(b []byte) (string, error) {
	// Most values are plain quoted text: no escapes, no control bytes, valid
	// UTF-8. Those are cut out directly; anything else goes through the
	// JSON decoder, which knows every escape and rejects what is invalid.
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && plainJSONString(b[1:n-1]) {
		return string(b[1 : n-1]), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", fmt.Errorf("want a string: %w", err)
	}
	return s, nil
}

// plainJSONString reports whether b, the inside of a JSON string, holds no
// escape, quote or control byte and is valid UTF-8, so it is its own value.
func plainJSONString(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// truncate keeps hostile values from flooding error messages and logs.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
