package transforms

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tajo/tajo/schemas"
)

// parseEnvelope reads a tajo.event.v1 envelope without copying data and
// raw: they stay slices of b, and data is validated by its typed decode
// (or passed through untouched). Anything it does not expect (escapes in
// keys, identifiers already present, odd spacing inside a time) makes it
// return errSlowPath, and the caller falls back to a full decoder: the fast
// path only has to be right on what sources write.
//
// onData, when not nil, may decode data in place (the type is known by
// then in what tajo writes) and returns how many bytes it consumed.
func parseEnvelope(b []byte, e *schemas.Event, onData func(typ string, b []byte) (int, bool)) error {
	p := scanner{b: b}
	p.ws()
	if !p.eat('{') {
		return errSlowPath
	}
	p.ws()
	if p.eat('}') {
		return nil
	}
	for {
		p.ws()
		key, ok := p.plainBytes()
		if !ok {
			return errSlowPath
		}
		p.ws()
		if !p.eat(':') {
			return errSlowPath
		}
		p.ws()
		var err error
		switch string(key) {
		case "schema":
			e.Schema, err = p.shared()
		case "id":
			e.ID, err = p.str()
		case "source":
			e.Source, err = p.shared()
		case "shop":
			e.Shop, err = p.shared()
		case "topic":
			e.Topic, err = p.shared()
		case "type":
			e.Type, err = p.shared()
		case "api_version":
			e.APIVersion, err = p.shared()
		case "occurred_at":
			e.OccurredAt, err = p.time()
		case "received_at":
			e.ReceivedAt, err = p.time()
		case "entity":
			err = p.entity(e)
		case "data":
			if onData != nil && e.Type != "" {
				if n, ok := onData(e.Type, p.b[p.i:]); ok {
					e.Data = bytes.TrimRight(p.b[p.i:p.i+n], " \t\r\n")
					p.i += n
					break
				}
			}
			e.Data, err = p.raw()
		case "raw":
			e.Raw, err = p.raw()
		case "problems":
			err = p.decodeRaw(&e.Problems)
		case "headers":
			err = p.decodeRaw(&e.Headers)
		default:
			return errSlowPath
		}
		if err != nil {
			return err
		}
		p.ws()
		if p.eat('}') {
			p.ws()
			if p.i != len(b) {
				return errSlowPath
			}
			return nil
		}
		if !p.eat(',') {
			return errSlowPath
		}
	}
}

var errSlowPath = errors.New("envelope needs the full decoder")

// decodeRaw decodes the next value into v: for the envelope's rare fields
// (a delivery's problems and headers), which need no fast path of their own.
func (p *scanner) decodeRaw(v any) error {
	b, err := p.raw()
	if err != nil {
		return err
	}
	if unmarshal(b, v) != nil {
		return errSlowPath
	}
	return nil
}

type scanner struct {
	b []byte
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\n', '\r', '\t':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// plainBytes reads a string without escapes, as a slice of the input.
func (p *scanner) plainBytes() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	// Locals, not p.b and p.i: the loop then keeps them in registers.
	b, start := p.b, p.i
	for i := start; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			p.i = i + 1
			return b[start:i], true
		case c == '\\' || c < 0x20:
			p.i = i
			return nil, false
		}
	}
	p.i = len(b)
	return nil, false
}

func (p *scanner) str() (string, error) {
	start := p.i
	if b, ok := p.plainBytes(); ok && utf8.Valid(b) {
		return string(b), nil
	}
	p.i = start
	raw, err := p.raw()
	if err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errSlowPath
	}
	return s, nil
}

// shared is str for the envelope's few-valued fields (schema, source,
// shop, topic, type, api version, entity kind): a value seen before is
// returned as the same string instead of a new copy.
func (p *scanner) shared() (string, error) {
	start := p.i
	if b, ok := p.plainBytes(); ok && utf8.Valid(b) {
		return intern(b), nil
	}
	p.i = start
	return p.str()
}

// The interned values: an immutable map replaced on each addition, so a
// lookup takes no lock. Bounded in count and length; beyond that values
// are copied as usual.
var (
	interned atomic.Pointer[map[string]string]
	internMu sync.Mutex
)

const (
	maxIntern  = 4096 // values
	maxInternN = 128  // bytes of one value
)

func intern(b []byte) string {
	if m := interned.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	if len(s) > maxInternN {
		return s
	}
	internMu.Lock()
	defer internMu.Unlock()
	old := interned.Load()
	if old == nil {
		old = &map[string]string{}
	}
	if len(*old) >= maxIntern {
		return s
	}
	if v, ok := (*old)[s]; ok {
		return v
	}
	m := make(map[string]string, len(*old)+1)
	for k, v := range *old {
		m[k] = v
	}
	m[s] = s
	interned.Store(&m)
	return s
}

func (p *scanner) time() (time.Time, error) {
	s, ok := p.plainBytes()
	if !ok {
		return time.Time{}, errSlowPath
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, errSlowPath
	}
	return t, nil
}

func (p *scanner) entity(e *schemas.Event) error {
	if !p.eat('{') {
		return errSlowPath
	}
	for {
		p.ws()
		if p.eat('}') {
			return nil
		}
		key, ok := p.plainBytes()
		if !ok {
			return errSlowPath
		}
		p.ws()
		if !p.eat(':') {
			return errSlowPath
		}
		p.ws()
		var err error
		switch string(key) {
		case "kind":
			e.Entity.Kind, err = p.shared()
		case "id":
			e.Entity.ID, err = p.str()
		default:
			return errSlowPath
		}
		if err != nil {
			return err
		}
		p.ws()
		p.eat(',')
	}
}

// raw returns the bytes of the next JSON value, checking only that its
// strings and brackets balance; the value's own decoder validates the rest.
func (p *scanner) raw() ([]byte, error) {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] != '{' && p.b[p.i] != '[' && p.b[p.i] != '"' {
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case ',', '}', ']', ' ', '\n', '\r', '\t':
				if p.i == start {
					return nil, errSlowPath
				}
				return p.b[start:p.i], nil
			}
			p.i++
		}
		return nil, errSlowPath
	}
	// A table walk over the bytes that matter (quotes, brackets,
	// backslashes): about twice as fast as a switch per byte and a
	// bytes.IndexByte per string on a Shopify body, whose strings are short.
	b, i, depth := p.b, p.i, 0
	for i < len(b) {
		for i < len(b) && !structural[b[i]] {
			i++
		}
		if i == len(b) {
			break
		}
		switch b[i] {
		case '"':
			i++
			for {
				for i < len(b) && !inString[b[i]] {
					i++
				}
				if i >= len(b) {
					return nil, errSlowPath
				}
				if b[i] == '\\' {
					i += 2 // the escaped byte, whatever it is
					continue
				}
				break
			}
			i++ // the closing quote
			if depth == 0 {
				p.i = i
				return b[start:i], nil
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return nil, errSlowPath
			}
			if depth == 0 {
				p.i = i + 1
				return b[start:p.i], nil
			}
		}
		i++
	}
	p.i = i
	return nil, errSlowPath
}

// structural marks the bytes raw stops at outside strings; inString
// those it stops at inside one.
var structural, inString = func() (s, q [256]bool) {
	for _, c := range `"{}[]` {
		s[c] = true
	}
	q['"'], q['\\'] = true, true
	return
}()
