package event

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"
)

// Source is where a record came from. Decode uses it only to derive a stable
// event id for producer shapes that carry none; the zero Source is fine for
// records that are not from Kafka.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Decoder turns record values into typed, validated events. It accepts the
// canonical shape and every producer shape listed in Shapes. A Decoder is safe
// for concurrent use; the zero value is ready to use.
type Decoder struct {
	pool    sync.Pool // of *scratch
	general bool      // read every record the general way (tests compare the two)
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder { return &Decoder{} }

var defaultDecoder Decoder

// Decode decodes value with a shared Decoder.
func Decode(value []byte, src Source) (Event, error) { return defaultDecoder.Decode(value, src) }

// Decode parses, maps and validates one record value. The error, when not
// nil, is an *Error whose Reason says what was wrong.
func (d *Decoder) Decode(value []byte, src Source) (Event, error) {
	return d.decodeIn(nil, value, src)
}

// decodeIn decodes value into a, or into memory of its own for a nil a.
func (d *Decoder) decodeIn(a *Arena, value []byte, src Source) (Event, error) {
	limit := MaxRecordBytes
	if src.Topic == TopicDeadLetters {
		limit = MaxDeadLetterBytes
	}
	if len(value) > limit {
		return nil, errorf(ReasonOversized, "", "record is %d bytes, max %d", len(value), limit)
	}
	sc, _ := d.pool.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	sc.general = d.general
	sc.state.mem = &sc.mem
	if a != nil {
		a.mem.keep = true
		sc.state.mem = &a.mem
	}
	e, err := sc.decode(value, src)
	sc.state.done()
	d.pool.Put(sc)
	return e, err
}

func (sc *scratch) decode(value []byte, src Source) (Event, error) {
	st := &sc.state
	st.err = nil
	st.src = st.copyRecord(value)
	if sc.general {
		sc.fr.dirty = false
	} else if e := sc.fast(); e != nil {
		if err := e.Validate(); err != nil {
			return nil, err
		}
		return e, nil
	}
	root, err := sc.read(value)
	if err != nil {
		return nil, err
	}
	var r reader
	st.open(&r, &root, "")
	if st.err != nil {
		return nil, st.err
	}
	var e Event
	if ts := r.lookup("event_type"); ts != nil {
		e = r.canonical(ts)
	} else if r.lookup("eventType") != nil || r.lookup("eventId") != nil {
		e = r.camel()
	} else {
		e = r.snake()
	}
	if st.err != nil {
		return nil, st.err
	}
	m := e.Meta()
	if m.Origin.Shape != ShapeCanonical && m.EventID == "" {
		m.EventID = sc.deriveID(src, value)
		m.Origin.DerivedID = true
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// read reads rec, which st.src holds a copy of, into sc's tape, and returns
// the top-level object. Records the one-pass reader does not take are read
// by fastjson, whose errors are the record's.
func (sc *scratch) read(rec []byte) (value, *Error) {
	st := &sc.state
	st.err = nil
	var ok bool
	if sc.fr.dirty { // the one-pass read unescaped strings in place
		st.src = st.copyRecord(rec)
	}
	if st.tape, ok = parseTape(st.src, st.tape[:0]); ok {
		st.newArena()
		return st.tape[0].v, nil
	}
	if blank(rec) {
		return value{}, errorf(ReasonNotJSON, "", "empty value")
	}
	v, err := sc.parser.ParseBytes(rec)
	if err != nil {
		return value{}, errorf(ReasonNotJSON, "", "%s", clip(err.Error()))
	}
	if v.Type() != fastjson.TypeObject {
		return value{}, errorf(ReasonNotJSON, "", "top level is %s, want an object", v.Type())
	}
	c := converter{b: st.converted[:0], tape: st.tape[:0]}
	c.put(0, 0, 0, v)
	c.b = slices.Grow(c.b, textPad)
	st.converted, st.src, st.tape = c.b, c.b, c.tape
	st.newArena()
	return st.tape[0].v, nil
}

// deriveID makes a stable event id from a record's coordinates and bytes, so
// a replayed record keeps its id: "d-" and the hex of the first half of the
// SHA-256 of topic, partition and offset (when there is a topic), each
// followed by a zero byte, and the bytes.
func (sc *scratch) deriveID(src Source, value []byte) string {
	b := sc.idInput[:0]
	if src.Topic != "" {
		b = append(b, src.Topic...)
		b = append(b, 0)
		b = strconv.AppendInt(b, int64(src.Partition), 10)
		b = append(b, 0)
		b = strconv.AppendInt(b, src.Offset, 10)
		b = append(b, 0)
	}
	b = append(b, value...)
	if cap(b) <= MaxRecordBytes+1024 { // keep no dead letter's worth of bytes
		sc.idInput = b
	}
	sum := sha256.Sum256(b)
	var id [2 + 32]byte
	id[0], id[1] = 'd', '-'
	hex.Encode(id[2:], sum[:16])
	return string(id[:])
}

// reader extracts typed fields from one object of a record; readers of
// nested objects share the state of the record's reader.
type reader struct {
	lo, end uint32 // the object's members are tape[lo:end]
	// next is the member after the last one found: readers mostly ask for
	// keys in the order records have them.
	next   uint32
	mask   uint64 // the object's keyMask
	prefix string
	st     *state
}

// state is shared by the readers of one record.
type state struct {
	err *Error // the first error
	// src holds the text of the strings, numbers and keys of the tape: the
	// record (copied into buf) or what the fallback read of it converted.
	src       []byte
	buf       []byte
	converted []byte
	// arena holds the strings the event keeps, copied from src when read.
	// It is cut from a chunk of mem that the arenas of several records
	// share, unless own: then it is an allocation of its own.
	arena []byte
	own   bool
	// mem is where the events and their strings are made: the scratch's
	// own, or an Arena's.
	mem  *memory
	tape []member
}

// maxKeep bounds the buffers a state keeps between records: a dead letter
// may be megabytes.
const maxKeep = 1 << 16

// copyRecord copies rec into st.buf and returns the copy, followed by a
// quote within its capacity (see stringEnd).
func (st *state) copyRecord(rec []byte) []byte {
	if n := len(rec) + recordPad; cap(st.buf) < n {
		st.buf = make([]byte, n, max(n, 1024))
	}
	b := st.buf[:len(rec)+recordPad]
	copy(b, rec)
	b[len(rec)] = '"'
	return b[:len(rec)]
}

// newArena reserves the arena for the strings of the tape.
func (st *state) newArena() {
	n := 0
	for i := range st.tape {
		if v := &st.tape[i].v; v.kind == kindString {
			n += int(v.n)
		}
	}
	st.arena = nil
	if n > 0 {
		st.reserve(n)
	}
}

// arenaChunk is the size of the allocations the arenas of records are cut
// from; the strings of a record larger than a quarter of it get an
// allocation of their own.
const arenaChunk = 4096

// reserve makes st.arena room for n bytes of strings, and textPad more.
func (st *state) reserve(n int) {
	need := n + textPad
	if need > arenaChunk/4 {
		st.arena, st.own = make([]byte, 0, need), true
		return
	}
	t := &st.mem.text
	if cap(t.free) < need {
		t.refill(st.mem.keep)
	}
	st.arena, st.own = t.free[:0:need], false
}

// done forgets what the event keeps (the arena, whose strings the chunk it
// was cut from keeps) and buffers too large to keep.
func (st *state) done() {
	if n := len(st.arena); n > 0 && !st.own {
		t := &st.mem.text
		t.free = t.free[n:n]
	}
	st.arena, st.src, st.mem = nil, nil, nil
	if cap(st.buf) > maxKeep {
		st.buf = nil
	}
	if cap(st.converted) > maxKeep {
		st.converted = nil
	}
}

func (r *reader) fail(e *Error) {
	if e != nil && r.st.err == nil {
		r.st.err = e
	}
}

// text returns the text of a string, copied into the arena the first time
// so that it outlives the state.
func (st *state) text(v *value) string {
	if v.n == 0 {
		return ""
	}
	if v.flags&stringKept == 0 {
		if off, ok := st.copyText(v.off, v.n); ok {
			v.off = off
			v.flags |= stringKept
		} else { // not reached: the arena holds every string once
			return string(st.src[v.off : v.off+v.n])
		}
	}
	return unsafe.String(&st.arena[v.off], int(v.n))
}

// keep returns src[off:off+n] copied into the arena.
func (st *state) keep(off, n uint32) string {
	if n == 0 {
		return ""
	}
	at, ok := st.copyText(off, n)
	if !ok { // not reached: the arena has room for every string of the record
		return string(st.src[off : off+n])
	}
	return unsafe.String(&st.arena[at], int(n))
}

// copyText appends src[off:off+n] to the arena and returns where it is
// there; ok is false when the arena has no room left.
func (st *state) copyText(off, n uint32) (at uint32, ok bool) {
	at = uint32(len(st.arena))
	if int(at)+int(n)+textPad > cap(st.arena) {
		return 0, false
	}
	// Both src and the arena have textPad bytes to spare after any
	// text: short texts move as one or two words.
	dst, from := st.arena[at:cap(st.arena)], st.src[off:cap(st.src)]
	switch {
	case n <= 8:
		binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(from))
	case n <= 16:
		binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(from))
		binary.LittleEndian.PutUint64(dst[n-8:], binary.LittleEndian.Uint64(from[n-8:]))
	default:
		copy(dst, from[:n])
	}
	st.arena = st.arena[:int(at)+int(n)]
	return at, true
}

// textPad is how many bytes src and the arena have to spare after their
// texts.
const textPad = 8

// transient returns the text of a string or number without keeping it: it
// is valid until the state reads another record.
func (st *state) transient(v *value) string {
	if v.n == 0 {
		return ""
	}
	if v.flags&stringKept != 0 {
		return unsafe.String(&st.arena[v.off], int(v.n))
	}
	return unsafe.String(&st.src[v.off], int(v.n))
}

// key returns the key of an object member, valid until the state reads
// another record.
func (st *state) key(m *member) string {
	if m.kn == 0 {
		return ""
	}
	return unsafe.String(&st.src[m.koff], int(m.kn))
}

// skip returns the index of the tape entry after entry i and its members.
func (st *state) skip(i uint32) uint32 {
	if v := &st.tape[i].v; v.container() {
		return v.end
	}
	return i + 1
}

// hasKey reports whether object o has key, even with a null value.
func (st *state) hasKey(o *value, key string) bool {
	for i := o.off; i < o.end; i = st.skip(i) {
		if st.key(&st.tape[i]) == key {
			return true
		}
	}
	return false
}

func (r *reader) path(key string) string {
	if r.prefix == "" {
		return key
	}
	return r.prefix + "." + key
}

// sub sets s to the reader of object o, whose path is prefix.
func (r *reader) sub(s *reader, o *value, prefix string) { r.st.open(s, o, prefix) }

// open sets r to the reader of object o and refuses duplicate keys: readers
// that take the first or the last of two equal keys would otherwise see
// different events. Keys are compared only when two have the same keyHash.
func (st *state) open(r *reader, o *value, prefix string) {
	*r = reader{lo: o.off, end: o.end, next: o.off, mask: keyMask(st.tape, o), prefix: prefix, st: st}
	if o.flags&keysMayRepeat == 0 {
		return
	}
	tape := st.tape
	for i := o.off; i < o.end; i = st.skip(i) {
		ki, kh := st.key(&tape[i]), tape[i].v.kh
		for j := o.off; j < i; j = st.skip(j) {
			if tape[j].v.kh == kh && st.key(&tape[j]) == ki {
				r.fail(errorf(ReasonNotJSON, r.path(strings.Clone(ki)), "duplicate key"))
				return
			}
		}
	}
}

// get returns the value of key, or nil when it is absent or null.
func (r *reader) get(key string) *value {
	v := r.lookup(key)
	if v == nil || v.kind == kindNull {
		return nil
	}
	return v
}

// lookup returns the value of key, or nil when it is absent. It tries the
// member after the last one found, then every member. Keys are unique in
// an object open accepts, so whichever is found is the first.
func (r *reader) lookup(key string) *value {
	kh := keyHash(key)
	if r.mask&(1<<(kh&63)) == 0 {
		return nil
	}
	tape, src := r.st.tape, r.st.src
	if i := r.next; i < r.end {
		if m := &tape[i]; m.v.kh == kh && int(m.kn) == len(key) && equal(src[m.koff:m.koff+m.kn], key) {
			r.next = r.st.skip(i)
			return &m.v
		}
	}
	for i := r.lo; i < r.end; {
		m := &tape[i]
		next := i + 1
		if m.v.container() {
			next = m.v.end
		}
		if m.v.kh == kh && int(m.kn) == len(key) && equal(src[m.koff:m.koff+m.kn], key) {
			r.next = next
			return &m.v
		}
		i = next
	}
	return nil
}

// equal reports whether b and s, of the same length, hold the same bytes.
// Keys are short: two overlapping loads of eight bytes from each compare
// keys of 8 to 16 bytes without a call.
func equal(b []byte, s string) bool {
	if n := len(s); n >= 8 && n <= 16 && len(b) == n {
		t := unsafe.Slice(unsafe.StringData(s), n)
		return binary.LittleEndian.Uint64(b) == binary.LittleEndian.Uint64(t) &&
			binary.LittleEndian.Uint64(b[n-8:]) == binary.LittleEndian.Uint64(t[n-8:])
	}
	return string(b) == s
}

func (r *reader) has(key string) bool { return r.get(key) != nil }

func (r *reader) wrong(key, want string, v *value) {
	r.fail(errorf(ReasonWrongType, r.path(key), "want %s, got %s", want, v.kind))
}

func (r *reader) str(key string) string {
	v := r.get(key)
	if v == nil {
		return ""
	}
	if v.kind != kindString {
		r.wrong(key, "string", v)
		return ""
	}
	return r.st.text(v)
}

// transientStr is str for text that is not kept: see transient.
func (r *reader) transientStr(key string) string {
	v := r.get(key)
	if v == nil {
		return ""
	}
	if v.kind != kindString {
		r.wrong(key, "string", v)
		return ""
	}
	return r.st.transient(v)
}

func (r *reader) numText(key string) (string, bool) {
	v := r.get(key)
	if v == nil {
		return "", false
	}
	if v.kind != kindNumber {
		r.wrong(key, "number", v)
		return "", false
	}
	s := r.st.transient(v) // parsed, never kept (errors format a copy)
	if v.flags&numberChecked == 0 && !isJSONNumber(s) {
		r.fail(errorf(ReasonInvalidValue, r.path(key), "%q is not a finite JSON number", clip(s)))
		return "", false
	}
	return s, true
}

// int reads an integer; present is false when the key is absent or null.
func (r *reader) int(key string) (n int, present bool) {
	s, ok := r.numText(key)
	if !ok {
		return 0, false
	}
	i, ok := smallInt(s)
	if ok {
		return int(i), true
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		switch {
		case ferr != nil && !isRangeErr(ferr):
			r.fail(errorf(ReasonInvalidValue, r.path(key), "%q is not a number", clip(s)))
			return 0, true
		case math.IsInf(f, 0) || math.Abs(f) > 1<<53 || isRangeErr(err):
			r.fail(errorf(ReasonInvalidValue, r.path(key), "%s is out of range", clip(s)))
			return 0, true
		case f != math.Trunc(f):
			r.fail(errorf(ReasonInvalidValue, r.path(key), "%s is not a whole number", clip(s)))
			return 0, true
		}
		i = int64(f)
	}
	if i > math.MaxInt32 || i < math.MinInt32 {
		r.fail(errorf(ReasonInvalidValue, r.path(key), "%d is out of range", i))
		return 0, true
	}
	return int(i), true
}

// smallInt parses -?[0-9]{1,9}, which fits an int32 whatever its digits;
// ok is false for anything else.
func smallInt(s string) (n int64, ok bool) {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 9 {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		c := d[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	if len(d) < len(s) {
		n = -n
	}
	return n, true
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// smallFloat parses -?[0-9]+(.[0-9]+)? with at most 15 digits in all. The
// digits, read as an integer, and the power of ten to divide them by are
// both exact in a float64, so the one division is correctly rounded: the
// result is strconv.ParseFloat's. ok is false for anything else.
func smallFloat(s string) (f float64, ok bool) {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 16 {
		return 0, false
	}
	var m uint64
	digits, frac := 0, -1
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c == '.' && frac < 0 {
			frac = 0
			continue
		}
		if c -= '0'; c > 9 {
			return 0, false
		}
		m = m*10 + uint64(c)
		digits++
		if frac >= 0 {
			frac++
		}
	}
	if digits == 0 || digits > 15 || frac == 0 {
		return 0, false
	}
	f = float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if len(d) < len(s) {
		f = -f
	}
	return f, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (r *reader) reqInt(key string) int {
	n, ok := r.int(key)
	if !ok && r.st.err == nil {
		r.fail(missing(r.path(key)))
	}
	return n
}

func (r *reader) intPtr(key string) *int {
	n, ok := r.int(key)
	if !ok {
		return nil
	}
	return &n
}

func (r *reader) float(key string) (float64, bool) {
	s, ok := r.numText(key)
	if !ok {
		return 0, false
	}
	if f, ok := smallFloat(s); ok {
		return f, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		r.fail(errorf(ReasonInvalidValue, r.path(key), "%q is not a finite number", clip(s)))
		return 0, true
	}
	return f, true
}

func (r *reader) floatPtr(key string) *float64 {
	f, ok := r.float(key)
	if !ok {
		return nil
	}
	return &f
}

func (r *reader) money(key string) (Money, bool) {
	s, ok := r.numText(key)
	if !ok {
		return 0, false
	}
	m, err := ParseMoney(s)
	if err != nil {
		r.fail(errorf(ReasonInvalidValue, r.path(key), "%q: %v", clip(s), err))
		return 0, true
	}
	return m, true
}

func (r *reader) moneyPtr(key string) *Money {
	m, ok := r.money(key)
	if !ok {
		return nil
	}
	return &m
}

func (r *reader) boolean(key string) bool {
	v := r.get(key)
	if v == nil {
		return false
	}
	if v.kind != kindTrue && v.kind != kindFalse {
		r.wrong(key, "boolean", v)
	}
	return v.kind == kindTrue
}

func (r *reader) time(key string) time.Time {
	s := r.transientStr(key) // parsed, never kept (errors format a copy)
	if s == "" {
		return time.Time{}
	}
	t, err := parseTime(s)
	if err != nil {
		r.fail(errorf(ReasonInvalidValue, r.path(key), "%q is not an RFC 3339 timestamp", clip(s)))
		return time.Time{}
	}
	return t
}

func parseTime(s string) (time.Time, error) {
	if t, ok := parseUTCFast(s); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func (r *reader) object(key string) *value {
	v := r.get(key)
	if v == nil {
		return nil
	}
	if v.kind != kindObject {
		r.wrong(key, "object", v)
		return nil
	}
	return v
}

// array returns an array; nil when it is absent, null or empty.
func (r *reader) array(key string) *value {
	v := r.get(key)
	if v == nil {
		return nil
	}
	if v.kind != kindArray {
		r.wrong(key, "array", v)
		return nil
	}
	if v.n == 0 {
		return nil
	}
	return v
}

// elems returns the span of the elements of array a (nil for none) in the
// tape: from lo, each followed by what it holds, to end.
func elems(a *value) (lo, end uint32) {
	if a == nil {
		return 0, 0
	}
	return a.off, a.end
}

// location reads a location object; a plain string is taken as a city name.
func (r *reader) location(key string) *Location {
	v := r.get(key)
	if v == nil {
		return nil
	}
	if v.kind == kindString {
		return &Location{City: r.st.text(v)}
	}
	o := r.object(key)
	if o == nil {
		return nil
	}
	var s reader
	r.sub(&s, o, r.path(key))
	l := &locationWithCoords{}
	l.Country, l.City = s.str("country"), s.str("city")
	if lat, ok := s.float("lat"); ok {
		l.coords[0] = lat
		l.Lat = &l.coords[0]
	}
	if lon, ok := s.float("lon"); ok {
		l.coords[1] = lon
		l.Lon = &l.coords[1]
	}
	return &l.Location
}

func (r *reader) sensitive(key string) Sensitive { return Sensitive(r.str(key)) }

// items reads an order's lines; names gives the keys in the source shape.
func (r *reader) items(key string, names itemNames) []Item {
	a := r.array(key)
	if a == nil {
		return nil
	}
	if a.n > MaxItems {
		r.fail(errorf(ReasonOversized, r.path(key), "%d lines, max %d", a.n, MaxItems))
		return nil
	}
	items := make([]Item, a.n)
	var s reader
	for i, j := 0, a.off; j < a.end; i, j = i+1, r.st.skip(j) {
		v := &r.st.tape[j].v
		p := itemPath(r.path(key), i)
		if v.kind != kindObject {
			r.fail(errorf(ReasonWrongType, p, "want object, got %s", v.kind))
			return nil
		}
		r.sub(&s, v, p)
		items[i].ProductID = s.str(names.product)
		items[i].Quantity = s.reqInt("quantity")
		items[i].Price, _ = s.money("price")
		items[i].Category = s.str("category")
		if r.st.err != nil {
			return nil
		}
	}
	return items
}

type itemNames struct{ product string }

var (
	snakeItems = itemNames{product: "product_id"}
	camelItems = itemNames{product: "productId"}
)

// bytes reads a base64 string, as encoding/json writes []byte.
func (r *reader) bytes(key string) []byte {
	s := r.transientStr(key) // decoded into new bytes
	if s == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		r.fail(errorf(ReasonInvalidValue, r.path(key), "not base64"))
		return nil
	}
	return b
}

func parseInt64(r *reader, key, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.fail(errorf(ReasonInvalidValue, r.path(key), "%q is not a 64-bit integer", clip(s)))
	}
	return n
}

// locationWithCoords backs a Location and its coordinates with one allocation.
type locationWithCoords struct {
	Location
	coords [2]float64
}

var itemPaths = func() (p [32]string) {
	for i := range p {
		p[i] = "items[" + itoa(i) + "]"
	}
	return
}()

func itemPath(base string, i int) string {
	if base == "items" && i < len(itemPaths) {
		return itemPaths[i]
	}
	return base + "[" + itoa(i) + "]"
}

// scratch is what one Decode call borrows from the pool: the fastjson parser
// and the reader state. Nothing decoded points into it (strings live in the
// arena).
type scratch struct {
	parser  fastjson.Parser
	state   state
	fr      fastRecord
	mem     memory
	general bool   // see Decoder
	idInput []byte // what deriveID hashes
}

// blank reports whether b holds only JSON whitespace.
func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// isJSONNumber reports whether s follows the JSON number grammar:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// parseUTCFast parses the common form "2006-01-02T15:04:05[.fraction]Z"
// without the general parser; anything else (offsets, odd digits) is left to
// time.Parse, which also gives the error.
func parseUTCFast(s string) (time.Time, bool) {
	if len(s) < 20 || len(s) > 30 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	// The digits of the date and time, as values: any byte that is not a
	// digit becomes more than 9.
	d := [...]byte{s[0] - '0', s[1] - '0', s[2] - '0', s[3] - '0', s[5] - '0', s[6] - '0', s[8] - '0', s[9] - '0',
		s[11] - '0', s[12] - '0', s[14] - '0', s[15] - '0', s[17] - '0', s[18] - '0'}
	for _, c := range d {
		if c > 9 {
			return time.Time{}, false
		}
	}
	year := int(d[0])*1000 + int(d[1])*100 + int(d[2])*10 + int(d[3])
	month, day := int(d[4])*10+int(d[5]), int(d[6])*10+int(d[7])
	hour, minute, sec := int(d[8])*10+int(d[9]), int(d[10])*10+int(d[11]), int(d[12])*10+int(d[13])
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if rest := s[19 : len(s)-1]; len(rest) > 0 {
		// .fraction, 1 to 9 digits
		if rest[0] != '.' || len(rest) < 2 {
			return time.Time{}, false
		}
		for i := 1; i < len(rest); i++ {
			c := rest[i] - '0'
			if c > 9 {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(c)
		}
		for i := len(rest) - 1; i < 9; i++ {
			nsec *= 10
		}
	}
	if day > daysIn(month, year) { // 2026-02-30 and the like
		return time.Time{}, false
	}
	// What time.Date gives for UTC, computed directly.
	unix := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// daysIn returns the number of days of month in year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch returns the number of days from 1970-01-01 to a date of the
// proleptic Gregorian calendar.
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400 // [0, 399]
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + int64(day) - 1    // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return era*146097 + doe - 719468
}
