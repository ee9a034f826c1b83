package event

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// testCopy copies rec as the one-pass reader reads it.
func testCopy(rec []byte) []byte {
	var st state
	return st.copyRecord(rec)
}

// tapeTree renders the value at tape[i] and what it holds, for comparing
// two tapes.
func tapeTree(b *strings.Builder, tape []member, arena []byte, i uint32) {
	m := &tape[i]
	fmt.Fprintf(b, "%q(%d)=%s", arena[m.koff:m.koff+m.kn], m.v.kh, m.v.kind)
	switch m.v.kind {
	case kindString, kindNumber:
		fmt.Fprintf(b, "%q", arena[m.v.off:m.v.off+m.v.n])
	case kindObject, kindArray:
		if m.v.kind == kindObject {
			fmt.Fprintf(b, "mask %x flags %d ", keyMask(tape, &m.v), m.v.flags)
		}
		fmt.Fprintf(b, "%d{", m.v.n)
		n := 0
		for j := m.v.off; j < m.v.end; n++ {
			tapeTree(b, tape, arena, j)
			b.WriteByte(',')
			if tape[j].v.container() {
				j = tape[j].v.end
			} else {
				j++
			}
		}
		if n != int(m.v.n) {
			fmt.Fprintf(b, "!%d members", n)
		}
		b.WriteByte('}')
	}
}

// checkTape holds the one-pass reader to fastjson: when it takes a record,
// fastjson takes it too and the tapes are the same.
func checkTape(t *testing.T, rec []byte) {
	t.Helper()
	arena := testCopy(rec)
	tape, ok := parseTape(arena, nil)
	if !ok {
		return
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(rec)
	if err != nil {
		t.Fatalf("%q: one-pass reader takes it, fastjson refuses it: %v", rec, err)
	}
	if v.Type() != fastjson.TypeObject {
		t.Fatalf("%q: one-pass reader takes a %s", rec, v.Type())
	}
	c := converter{}
	c.put(0, 0, 0, v)
	var want, got strings.Builder
	tapeTree(&want, c.tape, c.b, 0)
	tapeTree(&got, tape, arena, 0)
	if got.String() != want.String() {
		t.Fatalf("%q:\none-pass %s\nfastjson %s", rec, got.String(), want.String())
	}
}

// FuzzTape feeds arbitrary bytes to the one-pass reader and to fastjson.
//
//	go test -run='^$' -fuzz=FuzzTape -fuzztime=60s ./shared/event
func FuzzTape(f *testing.F) {
	for _, s := range tapeSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		// Corpus files hold []byte("...") in Go syntax on their second line.
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			continue
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err == nil {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, rec []byte) { checkTape(t, rec) })
}

var tapeSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":[]}`, `{"a":[1,"x",{"b":null}],"c":{}}`, "{\t\"a\" :\r\n true , \"b\":false}",
	`{"a":"\"\\\/\b\f\n\r\t"}`, `{"a":"\u00e9\u4e2d\ud83d\ude00"}`, `{"a":"\ud83d"}`, `{"a":"\ude00x"}`,
	`{"a":"\ud83dx\ude00"}`, `{"a":"\ud83d\u0041"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`,
	`{"a\"b":1}`, `{"a\\":1}`, `{"a":1,}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":1e+}`,
	`{"a":-0.0e-0}`, `{"a":1.5E+10}`, `{"a":nan}`, `{"a":Infinity}`, `{"a":-inf}`, `{"a":+1}`, `{"a":.5}`,
	`{"a":1-2}`, `{"a":truex}`, `{"a":nul}`, `{"a":1}x`, `{"a":1} `, `[1]`, `"a"`, `{"a":"b`, `{"a`, `{`,
	`{"a":[`, `{"a":[1,]}`, `{"a":1 "b":2}`, `{"a" 1}`, `{"a":1,"a":2}`, `{"":""}`,
	`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	"{\"a\":\"\x00\x1f\xff\"}", `{"a":"\"}`, `{"a":"\\"}`, `{"a":"\\\""}`,
}

func TestTapeSeeds(t *testing.T) {
	t.Parallel()
	for _, s := range tapeSeeds {
		checkTape(t, []byte(s))
	}
	// Records the one-pass reader takes: a regression to fastjson for
	// every record would still pass checkTape.
	for _, s := range []string{`{}`, `{"a":[1,"x",{"b":null}],"c":{}}`, `{"a":"\u00e9\u4e2d\ud83d\ude00"}`, `{"a":-0.0e-0}`} {
		if _, ok := parseTape(testCopy([]byte(s)), nil); !ok {
			t.Errorf("%s: not taken by the one-pass reader", s)
		}
	}
}

func TestStringEnd(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			const alphabet = "ab\"\\\x00\x80"
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		arena := testCopy(b)
		for i := 0; i <= len(b); i++ {
			want := i
			for want < len(b) && b[want] != '"' && b[want] != '\\' {
				want++
			}
			if got := stringEnd(arena, i); got != want {
				t.Fatalf("stringEnd(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
}

func TestSmallNumbers(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		var s string
		switch r.IntN(4) {
		case 0:
			s = strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(12))), 'f', r.IntN(9), 64)
		case 1:
			s = strconv.FormatInt(r.Int64N(1e16)-5e15, 10)
		case 2:
			s = strconv.FormatFloat(r.Float64()*180-90, 'f', -1, 64)
		default:
			digits := make([]byte, 1+r.IntN(18))
			for i := range digits {
				digits[i] = byte('0' + r.IntN(10))
			}
			s = string(digits)
			if p := r.IntN(len(s) + 1); p > 0 && p < len(s) {
				s = s[:p] + "." + s[p:]
			}
		}
		if f, ok := smallFloat(s); ok {
			want, err := strconv.ParseFloat(s, 64)
			if err != nil || math.Float64bits(f) != math.Float64bits(want) {
				t.Fatalf("smallFloat(%s) = %v, ParseFloat: %v, %v", s, f, want, err)
			}
		}
		if n, ok := smallInt(s); ok {
			want, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n != want || n > math.MaxInt32 || n < math.MinInt32 {
				t.Fatalf("smallInt(%s) = %v, ParseInt: %v, %v", s, n, want, err)
			}
		}
	}
	for _, s := range []string{"-0", "0", "-0.0", "0.000", "123456789012345", "-1.5", "999999999"} {
		if _, ok := smallFloat(s); !ok {
			t.Errorf("smallFloat(%s) not taken", s)
		}
	}
	if f, _ := smallFloat("-0"); !math.Signbit(f) {
		t.Error("smallFloat(-0) is not negative zero")
	}
}

func TestUTCFastDates(t *testing.T) {
	t.Parallel()
	for d := time.Date(1582, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2500; d = d.AddDate(0, 0, 1) {
		for _, s := range []string{d.Format("2006-01-02T15:04:05Z"), d.Add(23*time.Hour + 59*time.Minute + 59*time.Second + 123456789).Format("2006-01-02T15:04:05.999999999Z")} {
			got, ok := parseUTCFast(s)
			want, err := time.Parse(time.RFC3339Nano, s)
			if !ok || err != nil || got != want.UTC() {
				t.Fatalf("%s: %v %v, want %v %v", s, got, ok, want.UTC(), err)
			}
		}
	}
	for _, s := range []string{"0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0004-02-29T00:00:00Z", "0100-02-29T00:00:00Z"} {
		got, ok := parseUTCFast(s)
		want, err := time.Parse(time.RFC3339, s)
		if ok != (err == nil) || ok && got != want.UTC() {
			t.Errorf("%s: %v %v, want %v %v", s, got, ok, want.UTC(), err)
		}
	}
}

func TestIDAndTextTables(t *testing.T) {
	t.Parallel()
	isID := func(s string) bool { // the definition
		if len(s) == 0 || len(s) > MaxIDLen {
			return false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			case i > 0 && strings.IndexByte("_.:@/+=-", c) >= 0:
			default:
				return false
			}
		}
		return true
	}
	printable := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return false
			}
		}
		return true
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.IntN(256))
			} else {
				const alphabet = "aZ9_-./ \x1f\x7f\x80~"
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		s := string(b)
		if IsID(s) != isID(s) {
			t.Fatalf("IsID(%q) = %v", s, IsID(s))
		}
		if printableASCII(s) != printable(s) {
			t.Fatalf("printableASCII(%q) = %v", s, printableASCII(s))
		}
	}
}

func TestFieldTable(t *testing.T) {
	t.Parallel()
	fieldOf := func(k []byte) field {
		b := make([]byte, len(k)+16)
		copy(b, k)
		return fieldAt(b, 0, len(k))
	}
	for f := fEventID; f < numFields; f++ {
		if got := fieldOf([]byte(fieldKeys[f])); got != f {
			t.Errorf("fieldOf(%q) = %d, want %d", fieldKeys[f], got, f)
		}
		// Keys that differ from a canonical key in one byte are no field.
		k := []byte(fieldKeys[f])
		for i := range k {
			c := k[i]
			k[i] ^= 0x20
			if got := fieldOf(k); got != fNone {
				t.Errorf("fieldOf(%q) = %d, want none", k, got)
			}
			k[i] = c
		}
		if got := fieldOf(append(k, 'x')); got != fNone {
			t.Errorf("fieldOf(%q) = %d, want none", append(k, 'x'), got)
		}
	}
	if got := fieldOf(nil); got != fNone {
		t.Errorf("fieldOf(empty) = %d", got)
	}
}

func TestFastTypes(t *testing.T) {
	t.Parallel()
	var s slabs
	for k, ft := range fastTypes {
		if got := fastType(string(ft.t)); got != k {
			t.Errorf("fastType(%s) = %d, want %d", ft.t, got, k)
		}
		if got, want := fmt.Sprintf("%T", s.event(k, false)), fmt.Sprintf("%T", New(ft.t)); got != want {
			t.Errorf("slab event %d is a %s, want %s", k, got, want)
		}
	}
	if got := fastType("metric"); got != -1 {
		t.Errorf("fastType(metric) = %d", got)
	}
}
