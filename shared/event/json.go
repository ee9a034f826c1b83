package event

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// A record is read in one pass into a tape: a flat list of values in
// document order, whose keys, strings and numbers are offsets into a copy
// of the record in which strings are unescaped in place. The tape holds no
// pointers, so filling it costs the garbage collector nothing. The strings
// an event keeps are copied into the record's arena, room for exactly the
// strings of the record cut from a chunk that the arenas of several records
// share (see state.reserve). Canonical records of the common types skip the
// tape: fast.go reads them straight into their event.
//
// The one-pass reader accepts a strict subset of JSON: a top-level object;
// keys without escapes; numbers in the JSON grammar; strings whose escapes
// are standard (surrogates only in valid pairs); nesting up to maxFastDepth.
// Anything else, including every malformed record, is read by fastjson and
// converted into the same tape, so that what is accepted, what is refused
// and with which error is exactly what fastjson says. On the subset both
// give the same tape (FuzzTape holds them to it).

// kind is the JSON type of a value; its names are those fastjson gives, as
// error details quote them.
type kind uint8

const (
	kindNull kind = iota
	kindObject
	kindArray
	kindString
	kindNumber
	kindTrue
	kindFalse
)

var kindNames = [...]string{"null", "object", "array", "string", "number", "true", "false"}

func (k kind) String() string { return kindNames[k] }

// value is one JSON value of a record. A string's unescaped text and a
// number's text are src[off:off+n] (see state). An array's elements follow
// its own entry in the tape, from off to end (exclusive), each followed by
// its own members if it is an object or an array; n is their number. So do
// an object's members, after one more entry whose key offset and length
// hold the object's keyMask.
type value struct {
	off, n, end uint32
	kind        kind
	// kh is the keyHash of the key of the member that holds the value.
	kh    uint8
	flags uint8
}

const (
	// numberChecked: the text of a number follows the JSON grammar.
	numberChecked = 1 << iota
	// stringKept: a string was copied into the arena, where off then is.
	stringKept
	// keysMayRepeat: two keys of an object have the same keyHash.
	keysMayRepeat
)

// keyMask returns the keyMask of object v: bit h is set when a key of v has
// keyHash h.
func keyMask(tape []member, v *value) uint64 {
	m := &tape[v.off-1]
	return uint64(m.koff) | uint64(m.kn)<<32
}

// setKeyMask sets the keyMask of the object whose entry is tape[h].
func setKeyMask(tape []member, h int, mask uint64) {
	tape[h+1].koff, tape[h+1].kn = uint32(mask), uint32(mask>>32)
}

// member is one entry of the tape: a value, with its key
// (src[koff:koff+kn]) when it is an object member.
type member struct {
	koff, kn uint32
	v        value
}

// keyHash hashes a key into [0, 64) from its length and three of its bytes.
// The multiplier gives the keys of each object of every event shape
// distinct hashes, so that objects are rarely checked for duplicate keys
// and lookups rarely compare two keys.
func keyHash[T string | []byte](k T) uint8 {
	if len(k) == 0 {
		return 0
	}
	w := uint32(len(k))<<24 | uint32(k[0])<<16 | uint32(k[len(k)/2])<<8 | uint32(k[len(k)-1])
	return uint8(w * 2366025265 >> 26)
}

// container reports whether v is an object or an array.
func (v *value) container() bool { return v.kind == kindObject || v.kind == kindArray }

// maxFastDepth bounds the nesting the one-pass reader follows; deeper
// records go to fastjson, which refuses beyond fastjson.MaxDepth.
const maxFastDepth = 32

// stringEnd returns the index of the first quote or backslash in b[i:],
// looking at eight bytes at a time. The record is followed in its buffer by
// a quote and seven more bytes (see copyRecord), so that there is always one.
func stringEnd(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	b = b[:cap(b)]
	for ; ; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, s := x^('"'*ones), x^('\\'*ones)
		// The high bit of each byte of t is set where q or s has a zero
		// byte; bits above the first such byte may be wrong, not below it.
		if t := ((q-ones)&^q | (s-ones)&^s) & highs; t != 0 {
			return i + bits.TrailingZeros64(t)/8
		}
	}
}

// recordPad is what copyRecord keeps after the record: at least textPad.
const recordPad = 8

// parseTape reads the record in b (from copyRecord: it unescapes strings in
// place) into tape, whose first entry is the top-level object.
// ok is false when the record is outside the subset this reader accepts.
func parseTape(b []byte, tape []member) (_ []member, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return tape, false
	}
	if tape, i, ok = parseObject(b, i, tape, member{v: value{kind: kindObject}}, 1); !ok {
		return tape, false
	}
	return tape, skipWS(b, i) == len(b)
}

// parseObject reads the object at b[i] into tape, its own entry being e,
// and returns the index after it.
func parseObject(b []byte, i int, tape []member, e member, depth int) (_ []member, next int, ok bool) {
	if depth > maxFastDepth {
		return tape, 0, false
	}
	h := len(tape)
	tape = append(tape, e, member{}) // the object, its keyMask
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		tape[h].v.off, tape[h].v.end = uint32(h+2), uint32(len(tape))
		return tape, i + 1, true
	}
	n := uint32(0)
	var mask, twice uint64
	for {
		// A key, without escapes.
		if i >= len(b) || b[i] != '"' {
			return tape, 0, false
		}
		j := stringEnd(b, i+1)
		if j >= len(b) || b[j] != '"' {
			return tape, 0, false
		}
		m := member{koff: uint32(i + 1), kn: uint32(j - i - 1), v: value{kh: keyHash(b[i+1 : j])}}
		bit := uint64(1) << (m.v.kh & 63)
		twice |= mask & bit
		mask |= bit
		i = j + 1
		if i < len(b) && b[i] != ':' {
			i = skipWS(b, i)
		}
		if i >= len(b) || b[i] != ':' {
			return tape, 0, false
		}
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		// Plain strings, the most common values, are read here; the rest by
		// parseValue.
		if i < len(b) && b[i] == '"' {
			if j = stringEnd(b, i+1); j < len(b) && b[j] == '"' {
				m.v.off, m.v.n, m.v.kind = uint32(i+1), uint32(j-i-1), kindString
				tape = append(tape, m)
				i = j + 1
			} else if tape, i, ok = parseValue(b, i, tape, m, depth); !ok {
				return tape, 0, false
			}
		} else if tape, i, ok = parseValue(b, i, tape, m, depth); !ok {
			return tape, 0, false
		}
		n++
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= len(b) {
			return tape, 0, false
		}
		if b[i] == ',' {
			if i++; i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			continue
		}
		if b[i] != '}' {
			return tape, 0, false
		}
		v := &tape[h].v
		v.off, v.n, v.end = uint32(h+2), n, uint32(len(tape))
		if twice != 0 {
			v.flags |= keysMayRepeat
		}
		setKeyMask(tape, h, mask)
		return tape, i + 1, true
	}
}

// parseArray reads the array at b[i] into tape, its own entry being e, and
// returns the index after it.
func parseArray(b []byte, i int, tape []member, e member, depth int) (_ []member, next int, ok bool) {
	if depth > maxFastDepth {
		return tape, 0, false
	}
	h := len(tape)
	tape = append(tape, e)
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		tape[h].v.off, tape[h].v.end = uint32(h+1), uint32(len(tape))
		return tape, i + 1, true
	}
	n := uint32(0)
	for {
		if tape, i, ok = parseValue(b, i, tape, member{}, depth); !ok {
			return tape, 0, false
		}
		n++
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= len(b) {
			return tape, 0, false
		}
		if b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if b[i] != ']' {
			return tape, 0, false
		}
		v := &tape[h].v
		v.off, v.n, v.end = uint32(h+1), n, uint32(len(tape))
		return tape, i + 1, true
	}
}

// parseValue reads the value at b[i] into tape as m (whose key, if any, is
// set), and returns the index after it.
func parseValue(b []byte, i int, tape []member, m member, depth int) (_ []member, next int, ok bool) {
	if i >= len(b) {
		return tape, 0, false
	}
	switch c := b[i]; {
	case c == '"':
		j := stringEnd(b, i+1)
		if j >= len(b) {
			return tape, 0, false
		}
		m.v.off, m.v.kind = uint32(i+1), kindString
		if b[j] == '"' {
			m.v.n, i = uint32(j-i-1), j+1
		} else {
			var w int
			if w, i = unescape(b, j); i < 0 {
				return tape, 0, false
			}
			m.v.n = uint32(w) - m.v.off
		}
	case c == '-' || c >= '0' && c <= '9':
		j := number(b, i)
		if j < 0 {
			return tape, 0, false
		}
		m.v.off, m.v.n, m.v.kind, m.v.flags, i = uint32(i), uint32(j-i), kindNumber, numberChecked, j
	case c == '{':
		m.v.kind = kindObject
		return parseObject(b, i, tape, m, depth+1)
	case c == '[':
		m.v.kind = kindArray
		return parseArray(b, i, tape, m, depth+1)
	case c == 't' && len(b)-i >= 4 && string(b[i:i+4]) == "true":
		m.v.kind, i = kindTrue, i+4
	case c == 'f' && len(b)-i >= 5 && string(b[i:i+5]) == "false":
		m.v.kind, i = kindFalse, i+5
	case c == 'n' && len(b)-i >= 4 && string(b[i:i+4]) == "null":
		m.v.kind, i = kindNull, i+4
	default:
		return tape, 0, false
	}
	return append(tape, m), i, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// number returns the end of the number at b[i:], which follows
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, or -1. What follows must be
// a delimiter, which the caller checks: fastjson's number then ends at the
// same byte.
func number(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return -1
		}
	}
	return i
}

// unescape unescapes in place the rest of a string whose first escape is at
// b[i]: the text never outgrows the escaped form it is written over. It
// returns the end of the unescaped text and the index after the closing
// quote, or next < 0 for an escape fastjson would keep as it is.
func unescape(b []byte, i int) (w, next int) {
	w = i
	for i < len(b) {
		c := b[i]
		if c == '"' {
			return w, i + 1
		}
		if c != '\\' {
			b[w] = c
			w++
			i++
			continue
		}
		if i+1 >= len(b) {
			return 0, -1
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			b[w] = e
		case 'b':
			b[w] = '\b'
		case 'f':
			b[w] = '\f'
		case 'n':
			b[w] = '\n'
		case 'r':
			b[w] = '\r'
		case 't':
			b[w] = '\t'
		case 'u':
			r, size := unicodeEscape(b[i:])
			if size == 0 {
				return 0, -1
			}
			w += utf8.EncodeRune(b[w:], r)
			i += size
			continue
		default:
			return 0, -1
		}
		w++
		i += 2
	}
	return 0, -1
}

// unicodeEscape reads \uHHHH, or a surrogate pair \uHHHH\uHHHH, at the start
// of b; size is 0 for anything else (fastjson keeps such text as it is).
func unicodeEscape(b []byte) (r rune, size int) {
	x, ok := hex4(b)
	if !ok {
		return 0, 0
	}
	switch {
	case x < 0xd800 || x > 0xdfff:
		return x, 6
	case x > 0xdbff: // a low surrogate first
		return 0, 0
	}
	if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
		return 0, 0
	}
	y, ok := hex4(b[6:])
	if !ok || y < 0xdc00 || y > 0xdfff {
		return 0, 0
	}
	return 0x10000 + (x-0xd800)<<10 + (y - 0xdc00), 12
}

// hex4 reads the four hex digits of \uHHHH at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 6 {
		return 0, false
	}
	var x rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		x = x<<4 | rune(c)
	}
	return x, true
}

// converter turns a record fastjson parsed into a tape, appending texts to
// the arena b.
type converter struct {
	b    []byte
	tape []member
}

// put appends v, with the key arena[koff:koff+kn] whose keyHash is kh, and
// what it holds.
func (c *converter) put(koff, kn uint32, kh uint8, v *fastjson.Value) {
	e := member{koff: koff, kn: kn, v: value{kh: kh}}
	switch t := v.Type(); t {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		e.v.off, e.v.n, e.v.kind = uint32(len(c.b)), uint32(len(s)), kindString
		c.b = append(c.b, s...)
	case fastjson.TypeNumber:
		off := len(c.b)
		c.b = v.MarshalTo(c.b)
		e.v.off, e.v.n, e.v.kind = uint32(off), uint32(len(c.b)-off), kindNumber
	case fastjson.TypeObject:
		o, _ := v.Object()
		h := len(c.tape)
		c.tape = append(c.tape, e, member{})
		var mask, twice uint64
		o.Visit(func(k []byte, mv *fastjson.Value) {
			koff, kh := len(c.b), keyHash(k)
			bit := uint64(1) << (kh & 63)
			twice |= mask & bit
			mask |= bit
			c.b = append(c.b, k...)
			c.put(uint32(koff), uint32(len(k)), kh, mv)
		})
		c.tape[h].v = value{off: uint32(h + 2), n: uint32(o.Len()), end: uint32(len(c.tape)), kind: kindObject, kh: kh}
		if twice != 0 {
			c.tape[h].v.flags |= keysMayRepeat
		}
		setKeyMask(c.tape, h, mask)
		return
	case fastjson.TypeArray:
		a, _ := v.Array()
		h := len(c.tape)
		c.tape = append(c.tape, e)
		for _, ev := range a {
			c.put(0, 0, 0, ev)
		}
		c.tape[h].v = value{off: uint32(h + 1), n: uint32(len(a)), end: uint32(len(c.tape)), kind: kindArray, kh: kh}
		return
	case fastjson.TypeTrue:
		e.v.kind = kindTrue
	case fastjson.TypeFalse:
		e.v.kind = kindFalse
	default:
		e.v.kind = kindNull
	}
	c.tape = append(c.tape, e)
}
