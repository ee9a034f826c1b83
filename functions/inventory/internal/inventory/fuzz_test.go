package inventory

import (
	"slices"
	"testing"
)

// FuzzJournal: any bytes decode to a journal or an error, never a panic,
// and a decoded journal encodes back to what decodes to it again.
func FuzzJournal(f *testing.F) {
	f.Add(encodeJournal([]Entry{{At: 1767225600000, Delta: -3, Part: "inventory_updates-2", Offset: 9}, {At: 1767225600500, Delta: 20, Part: "transactions-0", Offset: 4}}))
	f.Add([]byte{})
	f.Add([]byte{1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := decodeJournal(b)
		if err != nil {
			return
		}
		again, err := decodeJournal(encodeJournal(j))
		if err != nil || !slices.Equal(again, j) {
			t.Fatalf("round trip: %v %v != %v", err, again, j)
		}
	})
}
