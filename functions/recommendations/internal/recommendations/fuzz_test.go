package recommendations

import (
	"reflect"
	"testing"
)

// FuzzEntries: any bytes decode to entries or an error, never a panic, and
// decoded entries encode back to what decodes to them again.
func FuzzEntries(f *testing.F) {
	f.Add(encodeEntries(map[string][]Count{"p-00001": {{Bucket: 493000, Views: 3}, {Bucket: 493002, Views: 1, Buys: 2}}, "p-00420": {{Bucket: 1, Buys: 1}}}))
	f.Add([]byte{})
	f.Add([]byte{1, 0x80})
	f.Add([]byte{1, 1, 'a', 2, 2, 2, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := decodeEntries(b)
		if err != nil {
			return
		}
		again, err := decodeEntries(encodeEntries(es))
		if err != nil || !reflect.DeepEqual(again, es) {
			t.Fatalf("round trip: %v %v != %v", err, again, es)
		}
	})
}
