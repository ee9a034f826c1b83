package event

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
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
	pool sync.Pool // of *scratch
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder { return &Decoder{} }

var defaultDecoder Decoder

// Decode decodes value with a shared Decoder.
func Decode(value []byte, src Source) (Event, error) { return defaultDecoder.Decode(value, src) }

// Decode parses, maps and validates one record value. The error, when not
// nil, is an *Error whose Reason says what was wrong.
func (d *Decoder) Decode(value []byte, src Source) (Event, error) {
	limit := MaxRecordBytes
	if src.Topic == TopicDeadLetters {
		limit = MaxDeadLetterBytes
	}
	if len(value) > limit {
		return nil, errorf(ReasonOversized, "", "record is %d bytes, max %d", len(value), limit)
	}
	if blank(value) {
		return nil, errorf(ReasonNotJSON, "", "empty value")
	}
	sc, _ := d.pool.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer d.pool.Put(sc)
	p := &sc.parser
	v, err := p.ParseBytes(value)
	if err != nil {
		return nil, errorf(ReasonNotJSON, "", "%s", clip(err.Error()))
	}
	o, err := v.Object()
	if err != nil {
		return nil, errorf(ReasonNotJSON, "", "top level is %s, want an object", v.Type())
	}
	st := &sc.state
	*st = state{arena: make([]byte, 0, len(value)), num: st.num[:0], members: st.members[:0]}
	st.members = st.members[:0]
	r := reader{o: o, st: st}
	r.load()
	if st.err != nil {
		return nil, st.err
	}
	var e Event
	switch {
	case r.lookup("event_type") != nil:
		e = r.canonical()
	case r.lookup("eventType") != nil || r.lookup("eventId") != nil:
		e = r.camel()
	default:
		e = r.snake()
	}
	if st.err != nil {
		return nil, st.err
	}
	m := e.Meta()
	if m.Origin.Shape != ShapeCanonical && m.EventID == "" {
		m.EventID = deriveID(src, value)
		m.Origin.DerivedID = true
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// deriveID makes a stable event id from a record's coordinates and bytes, so
// a replayed record keeps its id.
func deriveID(src Source, value []byte) string {
	h := sha256.New()
	if src.Topic != "" {
		var b [24]byte
		h.Write([]byte(src.Topic))
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(b[:0], int64(src.Partition), 10))
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(b[:0], src.Offset, 10))
		h.Write([]byte{0})
	}
	h.Write(value)
	var sum [sha256.Size]byte
	return "d-" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// reader extracts typed fields from a parsed object; readers of nested
// objects share the state of the record's reader.
type reader struct {
	o      *fastjson.Object
	kv     []member // the object's members, in order
	prefix string
	st     *state
}

type member struct {
	k string
	v *fastjson.Value
}

// state is shared by the readers of one record.
type state struct {
	err     *Error   // the first error
	num     []byte   // scratch for number text
	members []member // backing store of every reader's kv
	// arena holds the bytes of every string field of the record, so that one
	// allocation backs them all. It never grows beyond its capacity (the
	// record's length, which unescaped strings cannot exceed), so the
	// strings that point into it stay valid.
	arena []byte
}

func (r *reader) fail(e *Error) {
	if e != nil && r.st.err == nil {
		r.st.err = e
	}
}

// intern returns b as a string backed by the record's arena.
func (st *state) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	n := len(st.arena)
	if n+len(b) > cap(st.arena) {
		return string(b)
	}
	st.arena = append(st.arena, b...)
	return unsafe.String(&st.arena[n], len(b))
}

func (r *reader) path(key string) string {
	if r.prefix == "" {
		return key
	}
	return r.prefix + "." + key
}

func (r *reader) sub(o *fastjson.Object, prefix string) reader {
	s := reader{o: o, prefix: prefix, st: r.st}
	s.load()
	return s
}

// get returns the value of key, or nil when it is absent or null.
func (r *reader) get(key string) *fastjson.Value {
	v := r.lookup(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	return v
}

// lookup returns the value of key, or nil when it is absent.
func (r *reader) lookup(key string) *fastjson.Value {
	for i := range r.kv {
		if r.kv[i].k == key {
			return r.kv[i].v
		}
	}
	return nil
}

// load lists the object's members once and refuses duplicate keys: readers
// that take the first or the last of two equal keys would otherwise see
// different events. A 64-bit filter on each key's length and end bytes
// keeps the common case linear; only keys that share a filter bit are compared.
func (r *reader) load() {
	st := r.st
	start := len(st.members)
	var seen uint64
	collide := false
	r.o.Visit(func(k []byte, v *fastjson.Value) {
		st.members = append(st.members, member{k: unsafe.String(unsafe.SliceData(k), len(k)), v: v})
		var h uint
		if len(k) > 0 {
			h = uint(len(k))*7 + uint(k[0])*3 + uint(k[len(k)-1])
		}
		bit := uint64(1) << (h & 63)
		collide = collide || seen&bit != 0
		seen |= bit
	})
	r.kv = st.members[start:len(st.members):len(st.members)]
	if !collide {
		return
	}
	for i := 1; i < len(r.kv); i++ {
		for j := 0; j < i; j++ {
			if r.kv[i].k == r.kv[j].k {
				r.fail(errorf(ReasonNotJSON, r.path(strings.Clone(r.kv[i].k)), "duplicate key"))
				return
			}
		}
	}
}

func (r *reader) has(key string) bool { return r.get(key) != nil }

func (r *reader) wrong(key, want string, v *fastjson.Value) {
	r.fail(errorf(ReasonWrongType, r.path(key), "want %s, got %s", want, v.Type()))
}

func (r *reader) str(key string) string {
	v := r.get(key)
	if v == nil {
		return ""
	}
	if v.Type() != fastjson.TypeString {
		r.wrong(key, "string", v)
		return ""
	}
	b, _ := v.StringBytes()
	return r.st.intern(b)
}

func (r *reader) numText(key string) (string, bool) {
	v := r.get(key)
	if v == nil {
		return "", false
	}
	if v.Type() != fastjson.TypeNumber {
		r.wrong(key, "number", v)
		return "", false
	}
	r.st.num = v.MarshalTo(r.st.num[:0])
	// The text is parsed, never kept (errors clip a copy of it).
	s := unsafe.String(unsafe.SliceData(r.st.num), len(r.st.num))
	if !isJSONNumber(s) {
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
	b, err := v.Bool()
	if err != nil {
		r.wrong(key, "boolean", v)
	}
	return b
}

func (r *reader) time(key string) time.Time {
	s := r.str(key)
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

func (r *reader) object(key string) *fastjson.Object {
	v := r.get(key)
	if v == nil {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		r.wrong(key, "object", v)
		return nil
	}
	return o
}

func (r *reader) array(key string) []*fastjson.Value {
	v := r.get(key)
	if v == nil {
		return nil
	}
	a, err := v.Array()
	if err != nil {
		r.wrong(key, "array", v)
		return nil
	}
	return a
}

// location reads a location object; a plain string is taken as a city name.
func (r *reader) location(key string) *Location {
	v := r.get(key)
	if v == nil {
		return nil
	}
	if v.Type() == fastjson.TypeString {
		return &Location{City: r.str(key)}
	}
	o := r.object(key)
	if o == nil {
		return nil
	}
	s := r.sub(o, r.path(key))
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
	if len(a) > MaxItems {
		r.fail(errorf(ReasonOversized, r.path(key), "%d lines, max %d", len(a), MaxItems))
		return nil
	}
	items := make([]Item, len(a))
	for i, v := range a {
		p := itemPath(r.path(key), i)
		o, err := v.Object()
		if err != nil {
			r.fail(errorf(ReasonWrongType, p, "want object, got %s", v.Type()))
			return nil
		}
		s := r.sub(o, p)
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
	s := r.str(key)
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

// scratch is what one Decode call borrows from the pool: the parser and the
// reader state. Nothing decoded points into it (strings live in the arena).
type scratch struct {
	parser fastjson.Parser
	state  state
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
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	rest := s[19 : len(s)-1]
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		frac, ok := num(20, 19+len(rest))
		if !ok {
			return time.Time{}, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			frac *= 10
		}
		nsec = frac
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 2026-02-30 and the like
		return time.Time{}, false
	}
	return t, true
}
