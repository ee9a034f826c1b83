package event_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// checkFast holds Decode, which reads most canonical records in one pass,
// to DecodeGeneral, which reads every record the general way: the same
// event, field for field, or the same error.
func checkFast(t *testing.T, value []byte) {
	t.Helper()
	src := event.Source{Topic: "t", Partition: 1, Offset: 9}
	got, gerr := event.Decode(value, src)
	want, werr := event.DecodeGeneral(value, src)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%.400s:\nerror %v\nwant  %v", value, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%.400s:\nevent %#v\nwant  %#v", value, got, want)
	}
}

// fastCases are records at the edges of what the one-pass read takes.
var fastCases = []string{
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p"}`,
	` {"event_type" : "page_view" ,"schema_version":1, "event_id":"e-1","occurred_at":"2026-01-01T00:00:00.5Z","user_id":"u-1","page_url":"/p"} `,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","price":1}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","user_id":"u-2"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","referrer":null,"location":null}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":"Paris"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":""}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":{}}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":{"country":"FR","city":"Paris","lat":48.8,"lon":2.3}}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":{"country":"FR","lat":null,"lon":2}}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":{"city":"A","city":"B"}}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":{"city":"A","zip":"B"}}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":{"lat":1e400}}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":{"lat":12345678901234567890}}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":[1]}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-\u0031","page_url":"\/p\n"}`,
	`{"event_id":"e-1","event_type":"page_\u0076iew","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00\u005a","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00+01:00","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":null,"user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":5,"user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1.0,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":2,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":"1","occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"metric","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","metric":"sales","value":1}`,
	`{"event_id":"e-1","event_type":"nope","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z"}`,
	`{"event_id":"e-1","event_type":null,"schema_version":1}`,
	`{"event_id":"e-1","event_type":7,"schema_version":1}`,
	`{"event_id":7,"event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p"}x`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p",}`,
	`{}`, `[]`, `{"event_type":"page_view"`, `{"event_id":"e-1","event_type":"page_view","schema_version":01}`,
	`{"event_id":"e-1","event_type":"add_to_cart","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","product_id":"p-1","quantity":2,"price":9.99}`,
	`{"event_id":"e-1","event_type":"add_to_cart","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","product_id":"p-1","quantity":2.0}`,
	`{"event_id":"e-1","event_type":"add_to_cart","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","product_id":"p-1","quantity":null}`,
	`{"event_id":"e-1","event_type":"add_to_cart","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","product_id":"p-1","quantity":1,"price":1.00001}`,
	`{"event_id":"e-1","event_type":"add_to_cart","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","product_id":"p-1","quantity":1,"price":1e2}`,
	`{"event_id":"e-1","event_type":"search","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","query":"a \"b\"","results_count":0}`,
	`{"event_id":"e-1","event_type":"search","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","query":"q","results_count":-1}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":[{"product_id":"p-1","quantity":1,"price":2.5,"category":"toys"},{"product_id":"p-2","quantity":3,"price":1}],"total_amount":5.5,"currency":"USD"}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":[],"total_amount":5.5,"currency":"USD"}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":[{"product_id":"p-1","quantity":1,"price":null}],"total_amount":5.5,"currency":"USD"}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":[{"product_id":"p-1","price":1}],"total_amount":5.5,"currency":"USD"}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":[{"product_id":"p-1","quantity":1,"quantity":2}],"total_amount":5.5,"currency":"USD"}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":[1],"total_amount":5.5,"currency":"USD"}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":{},"total_amount":5.5,"currency":"USD"}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":[{"product_id":"p-1","quantity":1,"price":1}],"total_amount":1,"currency":"USD","card_fingerprint":"fp_1","ip":"1.2.3.4","payment_method":"card","device":"app","location":{"country":"US"}}`,
	`{"event_id":"e-1","event_type":"refund_issued","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","amount":3,"restock":true,"reason":"damaged"}`,
	`{"event_id":"e-1","event_type":"refund_issued","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","restock":false}`,
	`{"event_id":"e-1","event_type":"refund_issued","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","amount":3,"restock":"yes"}`,
	`{"event_id":"e-1","event_type":"stock_adjusted","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","product_id":"p-1","warehouse_id":"wh-1","change":-3,"new_quantity":7}`,
	`{"event_id":"e-1","event_type":"stock_counted","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","product_id":"p-1","warehouse_id":"wh-1","quantity":1234567890}`,
	`{"event_id":"e-1","event_type":"feedback","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","rating":5,"feedback":"Great\tservice!\n","channel":"email"}`,
	// Keys that start like the key that came next in the record before.
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_idx":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_i\u0064":"u-1","page_url":"/p"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id"`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","u"}`,
	`{"event_id":"e-1","event_type":"page_view","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","page_url":"/p","location":{"country":"FR","cit":"x"}}`,
	`{"event_id":"e-1","event_type":"order_created","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","order_id":"o-1","user_id":"u-1","items":[{"product_id":"p-1","quantity":1,"price":1},{"product_idx":"p-2","quantity":1,"price":1}],"total_amount":2,"currency":"USD"}`,
}

func TestFastMatchesGeneral(t *testing.T) {
	t.Parallel()
	// Twice: the second time, the one pass expects the keys in the order
	// the records before had them.
	for range 2 {
		for _, s := range fastCases {
			checkFast(t, []byte(s))
		}
	}
	// Generated traffic, canonical and producer shapes, with bad records.
	for _, legacy := range []float64{0, 0.3} {
		g, err := generator.New(generator.Config{Seed: 11, LegacyShare: legacy})
		if err != nil {
			t.Fatal(err)
		}
		fast, canonical := 0, 0
		for range 20000 {
			r := g.Next()
			checkFast(t, r.Value)
			if r.Type != "" && strings.Contains(string(r.Value), `"event_type"`) {
				canonical++
				if event.ReadsFast(r.Value) {
					fast++
				}
			}
		}
		// The one pass must read the bulk of canonical traffic, or it
		// is not worth its code.
		if fast < canonical*9/10 {
			t.Errorf("legacy share %v: the one pass read %d of %d canonical records", legacy, fast, canonical)
		}
	}
}

// FuzzFast feeds arbitrary bytes to Decode and DecodeGeneral.
//
//	go test -run='^$' -fuzz=FuzzFast -fuzztime=60s ./shared/event
func FuzzFast(f *testing.F) {
	for _, s := range fastCases {
		f.Add([]byte(s))
	}
	g, err := generator.New(generator.Config{Seed: 12})
	if err != nil {
		f.Fatal(err)
	}
	seen := map[event.Type]bool{}
	for range 5000 {
		if r := g.Next(); !seen[r.Type] {
			seen[r.Type] = true
			f.Add(r.Value)
		}
	}
	files, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			continue
		}
		if s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")); err == nil {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, value []byte) { checkFast(t, value) })
}
