package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Lenient decoding (DESIGN.md invariant 7). Real Shopify bodies are odd:
// `[]` for an empty address, "NULL" or "2019-01-01 00:00:00.000Z" in a
// timestamp nobody reads, "true" as a string, a price that is not a
// decimal. Refusing the delivery for one such field would lose all of it
// after Shopify's retries, so a field that does not decode is left out of
// the canonical object and named in the event's problems; its value stays
// in the raw body.

// lenientUnmarshal decodes body, a JSON object, into v (a pointer to a
// struct) and returns what it had to leave out. The common case costs one
// encoding/json pass: only when that fails is the body walked against v's
// type, dropping each value that does not decode into its field, and
// decoded again. Either way, `{}` or `[]` where an object is expected
// counts as absent (a nil pointer), never as an object of zero values.
func lenientUnmarshal(body []byte, v any) ([]string, error) {
	var problems []string
	if err := json.Unmarshal(body, v); err != nil {
		if _, ok := err.(*json.SyntaxError); ok {
			return nil, errNotJSON
		}
		rv := reflect.ValueOf(v).Elem()
		rv.SetZero()
		c := cleaner{}
		cleaned, ok := c.value(body, rv.Type(), "")
		problems = c.list()
		if !ok {
			return problems, fmt.Errorf("body: %s", firstOr(problems, "not a JSON object"))
		}
		if err := json.Unmarshal(cleaned, v); err != nil {
			// The walk mirrors encoding/json's rules; should the two ever
			// disagree, the delivery is kept as unprocessable, not lost.
			return problems, fmt.Errorf("body: %v", err)
		}
	}
	dropEmpty(reflect.ValueOf(v).Elem())
	return problems, nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// maxProblems bounds the list on one event: a hostile body with a
// million bad fields must not make a million-line event.
const maxProblems = 32

// cleaner rebuilds a JSON value keeping only what decodes into its type.
type cleaner struct {
	problems []string
	more     int // problems beyond maxProblems, counted only
}

func (c *cleaner) problem(path string, raw []byte, t reflect.Type) {
	if len(c.problems) == maxProblems-1 {
		c.more++
		return
	}
	c.problems = append(c.problems, fmt.Sprintf("%s: cannot read %s as %s", pathOr(path), clipValue(raw), describe(t)))
}

func (c *cleaner) list() []string {
	if c.more > 0 {
		return append(c.problems, fmt.Sprintf("… and %d more fields left out", c.more))
	}
	return c.problems
}

func pathOr(p string) string {
	if p == "" {
		return "body"
	}
	return p
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

func isUnmarshaler(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

// value returns raw cleaned for type t, or false when nothing of it can
// be kept (the caller leaves the field out).
func (c *cleaner) value(raw []byte, t reflect.Type, path string) ([]byte, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false
	}
	if string(raw) == "null" {
		return raw, true
	}
	if t.Kind() == reflect.Pointer {
		if isEmptyComposite(raw) && t.Elem().Kind() == reflect.Struct && !isUnmarshaler(t.Elem()) {
			return nil, false // [] or {} for an absent object
		}
		return c.value(raw, t.Elem(), path)
	}
	bytesType := t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	if isUnmarshaler(t) || bytesType || t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.Map {
		if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
			c.problem(path, raw, t)
			return nil, false
		}
		return raw, true
	}
	switch t.Kind() {
	case reflect.Struct:
		return c.object(raw, t, path)
	case reflect.Slice:
		return c.array(raw, t, path)
	default: // map
		return c.mapping(raw, t, path)
	}
}

func (c *cleaner) object(raw []byte, t reflect.Type, path string) ([]byte, bool) {
	if raw[0] != '{' {
		if !isEmptyComposite(raw) {
			c.problem(path, raw, t)
		}
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		c.problem(path, raw, t)
		return nil, false
	}
	fields := fieldsOf(t)
	out := map[string]json.RawMessage{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ft, ok := fields.lookup(k)
		if !ok {
			continue // not in the canonical object; stays in raw
		}
		if v, ok := c.value(m[k], ft, join(path, k)); ok {
			out[k] = v
		}
	}
	b, _ := json.Marshal(out)
	return b, true
}

func (c *cleaner) array(raw []byte, t reflect.Type, path string) ([]byte, bool) {
	if raw[0] != '[' {
		if !isEmptyComposite(raw) {
			c.problem(path, raw, t)
		}
		return nil, false
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		c.problem(path, raw, t)
		return nil, false
	}
	out := make([]json.RawMessage, 0, len(elems))
	for i, e := range elems {
		if v, ok := c.value(e, t.Elem(), path+"["+strconv.Itoa(i)+"]"); ok {
			out = append(out, v)
		}
	}
	b, _ := json.Marshal(out)
	return b, true
}

func (c *cleaner) mapping(raw []byte, t reflect.Type, path string) ([]byte, bool) {
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		if !isEmptyComposite(raw) {
			c.problem(path, raw, t)
		}
		return nil, false
	}
	out := map[string]json.RawMessage{}
	for k, v := range m {
		if v, ok := c.value(v, t.Elem(), join(path, k)); ok {
			out[k] = v
		}
	}
	b, _ := json.Marshal(out)
	return b, true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// isEmptyComposite reports `[]` or `{}` (with any inner whitespace).
func isEmptyComposite(raw []byte) bool {
	if len(raw) < 2 {
		return false
	}
	open, close := raw[0], raw[len(raw)-1]
	return (open == '[' && close == ']' || open == '{' && close == '}') &&
		len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}

// clipValue quotes a bad value for a problem message, bounded: problems
// reach logs and the error history, and the full value is in raw anyway.
func clipValue(raw []byte) string {
	const max = 40
	s := string(raw)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// describe names a Go type the way a problem reader thinks of it.
func describe(t reflect.Type) string {
	if t == timeType {
		return "a time (RFC 3339)"
	}
	switch t.Name() {
	case "ID":
		return "an id"
	case "Money":
		return "a decimal amount"
	case "Count":
		return "a count"
	case "Tags":
		return "tags"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return t.String()
}

// fieldSet is the JSON view of a struct type: key → field type, by exact
// name first, then case-insensitively, as encoding/json matches keys.
type fieldSet struct {
	exact map[string]reflect.Type
	fold  map[string]reflect.Type
}

func (f fieldSet) lookup(k string) (reflect.Type, bool) {
	if t, ok := f.exact[k]; ok {
		return t, true
	}
	t, ok := f.fold[strings.ToLower(k)]
	return t, ok
}

var fieldCache sync.Map // reflect.Type → fieldSet

func fieldsOf(t reflect.Type) fieldSet {
	if f, ok := fieldCache.Load(t); ok {
		return f.(fieldSet)
	}
	f := fieldSet{exact: map[string]reflect.Type{}, fold: map[string]reflect.Type{}}
	collectFields(t, f, 0)
	fieldCache.Store(t, f)
	return f
}

// collectFields follows encoding/json: tagged or exported fields by their
// JSON name, untagged embedded structs promoted (the outer field wins).
func collectFields(t reflect.Type, f fieldSet, depth int) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, ok := f.exact[name]; !ok {
			f.exact[name] = ft
		}
		if _, ok := f.fold[strings.ToLower(name)]; !ok {
			f.fold[strings.ToLower(name)] = ft
		}
	}
	if depth < 8 {
		for _, et := range embedded {
			collectFields(et, f, depth+1)
		}
	}
}

// dropEmpty sets to nil every pointer to an object that holds nothing,
// so `"shipping_address": {}` reads as absent, like `[]` and null.
// Pointers to values with their own decoding (money, times) are kept: a
// zero amount is a fact.
func dropEmpty(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() != reflect.Struct || isUnmarshaler(e.Type()) {
			return
		}
		dropEmpty(e)
		if e.IsZero() && v.CanSet() {
			v.SetZero()
		}
	case reflect.Struct:
		if isUnmarshaler(v.Type()) {
			return
		}
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				dropEmpty(f)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct || v.Type().Elem().Kind() == reflect.Pointer {
			for i := range v.Len() {
				dropEmpty(v.Index(i))
			}
		}
	}
}
