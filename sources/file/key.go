package file

import (
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// shopKey is a line's Kafka key: the envelope's first top-level "shop".
// For a valid JSON object with one top-level "shop" it is exactly what
// decoding the line with encoding/json into struct{ Shop string
// `json:"shop"` } gives (the source did that until it was 47% of a file →
// file run's CPU): the value, possibly empty, or nil for a line the struct
// cannot decode. A nil key spreads over the partitions, an empty one does
// not, so the difference is kept.
//
// The line is scanned up to that value, validated as it goes, without
// building anything; a nested "shop" (inside data or raw) is skipped with
// the rest of its value. What follows the key is not read: the line is
// decoded once, downstream, and a broken one rejected there with its
// reason (a repeated top-level "shop" that encoding/json would take the
// last of is such a line). Only where the scanner cannot be sure (a
// top-level key with an escape or a non-ASCII byte, which encoding/json
// might unescape or case-fold into "shop"; nesting deeper than
// maxScanDepth; a line that is not an object or not valid JSON before the
// key) does the full decode decide.
func shopKey(line []byte) []byte {
	if key, ok := scanShop(line); ok {
		return key
	}
	return decodeShop(line)
}

// decodeShop is the full decode shopKey stands in for.
func decodeShop(line []byte) []byte {
	var probe struct {
		Shop string `json:"shop"`
	}
	if json.Unmarshal(line, &probe) != nil {
		return nil
	}
	return []byte(probe.Shop)
}

// maxScanDepth bounds the scanner's nesting; deeper lines (encoding/json
// allows 10000 levels) go to the full decode.
const maxScanDepth = 256

// scanShop returns shopKey's answer and true, or false when only the full
// decode can tell.
func scanShop(b []byte) ([]byte, bool) {
	s := scanner{b: b}
	s.ws()
	if !s.eat('{') {
		return nil, false
	}
	key := []byte{}
	s.ws()
	if !s.eat('}') {
		for {
			s.ws()
			start := s.i + 1
			esc, high, ok := s.str()
			if !ok {
				return nil, false
			}
			name := b[start : s.i-1]
			s.ws()
			if !s.eat(':') {
				return nil, false
			}
			s.ws()
			switch {
			case esc || high:
				return nil, false
			case isShop(name):
				switch s.peek() {
				case '"':
					vstart := s.i
					esc, high, ok := s.str()
					if !ok {
						return nil, false
					}
					v := b[vstart+1 : s.i-1]
					if esc || (high && !utf8.Valid(v)) {
						// Escapes and invalid UTF-8 (which becomes
						// U+FFFD): encoding/json's own string decoding.
						var str string
						if json.Unmarshal(b[vstart:s.i], &str) != nil {
							return nil, false
						}
						key = []byte(str)
					} else {
						key = append([]byte{}, v...)
					}
					// The first top-level shop is the key: the rest of
					// the line is left to the one decode downstream,
					// which rejects a broken line with its reason.
					return key, true
				case 'n':
					// null leaves the field as it was.
					if !s.literal("null") {
						return nil, false
					}
				default:
					// A number, boolean, object or array cannot decode
					// into a string: the decode fails, whatever follows.
					return nil, true
				}
			default:
				if !s.value() {
					return nil, false
				}
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				break
			}
			return nil, false
		}
	}
	s.ws()
	if s.i != len(b) {
		return nil, false
	}
	return key, true
}

// isShop reports whether an ASCII key names the field: encoding/json
// matches names case-insensitively.
func isShop(k []byte) bool {
	return len(k) == 4 && k[0]|0x20 == 's' && k[1]|0x20 == 'h' && k[2]|0x20 == 'o' && k[3]|0x20 == 'p'
}

// scanner validates JSON (RFC 8259, as encoding/json accepts it) without
// decoding it.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) ws() {
	// Compact JSON (what tajo writes) has none: one comparison.
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// str skips a string starting at its quote and reports whether it held an
// escape or a byte above ASCII. Any byte from 0x20 is allowed unescaped
// except the quote and the backslash; invalid UTF-8 is too.
func (s *scanner) str() (esc, high, ok bool) {
	if !s.eat('"') {
		return false, false, false
	}
	b := s.b
	i := s.i
	// Eight bytes at a time while none is a quote, a backslash or a
	// control byte (the classic "has a zero byte" test on each).
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	var hi uint64
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(lsb*'"'), x^(lsb*'\\')
		if ((q-lsb)&^q|(bs-lsb)&^bs|(x-lsb*0x20)&^x)&msb != 0 {
			break
		}
		hi |= x
		i += 8
	}
	high = hi&msb != 0
	for i < len(b) {
		c := b[i]
		if plainByte[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			s.i = i + 1
			return esc, high, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return esc, high, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return esc, high, false
				}
				i += 6
			default:
				return esc, high, false
			}
		case c < 0x20:
			return esc, high, false
		default:
			high = true
			i++
		}
	}
	return esc, high, false
}

// plainByte is what stands for itself inside a string: ASCII from 0x20,
// except the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number skips -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() bool {
	s.eat('-')
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits skips [0-9]* and reports whether there was at least one.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// value skips one value of any depth, iteratively: a hostile line's
// nesting costs no stack.
func (s *scanner) value() bool {
	var stackBuf [32]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	for {
		// A value is expected here.
		s.ws()
		switch c := s.peek(); c {
		case '{', '[':
			s.i++
			s.ws()
			if (c == '{' && s.eat('}')) || (c == '[' && s.eat(']')) {
				break
			}
			if len(stack) == maxScanDepth {
				return false
			}
			stack = append(stack, c)
			if c == '{' && !s.member() {
				return false
			}
			continue
		case '"':
			if _, _, ok := s.str(); !ok {
				return false
			}
		case 't':
			if !s.literal("true") {
				return false
			}
		case 'f':
			if !s.literal("false") {
				return false
			}
		case 'n':
			if !s.literal("null") {
				return false
			}
		default:
			if !s.number() {
				return false
			}
		}
		// After a value: close what ends here, then expect the next one.
		for {
			if len(stack) == 0 {
				return true
			}
			s.ws()
			top := stack[len(stack)-1]
			if s.eat(',') {
				if top == '{' && !s.member() {
					return false
				}
				break
			}
			if (top == '{' && s.eat('}')) || (top == '[' && s.eat(']')) {
				stack = stack[:len(stack)-1]
				continue
			}
			return false
		}
	}
}

// member skips an object member's key and colon.
func (s *scanner) member() bool {
	s.ws()
	if _, _, ok := s.str(); !ok {
		return false
	}
	s.ws()
	return s.eat(':')
}
