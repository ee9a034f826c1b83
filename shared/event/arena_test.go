package event_test

import (
	"reflect"
	"testing"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// TestArena: events decoded into an Arena are those Decode gives, batch
// after batch of the Arena's reuse, and a batch decoded again after Reset
// allocates next to nothing. (Not parallel: it counts allocations.)
func TestArena(t *testing.T) {
	g, err := generator.New(generator.Config{Seed: 21, LegacyShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	var values [][]byte
	for range 3000 {
		values = append(values, g.Next().Value)
	}
	// The same records in other orders, so that memory of one type's
	// events is reused for events with other fields set.
	batches := [][][]byte{values, reversed(values), values[1000:2000], values}
	d := event.NewDecoder()
	var a event.Arena
	for n, batch := range batches {
		got := make([]event.Event, len(batch))
		gotErr := make([]error, len(batch))
		for i, v := range batch {
			got[i], gotErr[i] = d.DecodeIn(&a, v, event.Source{Topic: "t", Offset: int64(i)})
		}
		for i, v := range batch {
			want, werr := event.Decode(v, event.Source{Topic: "t", Offset: int64(i)})
			if (werr == nil) != (gotErr[i] == nil) || werr != nil && werr.Error() != gotErr[i].Error() {
				t.Fatalf("batch %d record %d: error %v, want %v", n, i, gotErr[i], werr)
			}
			if !reflect.DeepEqual(got[i], want) {
				t.Fatalf("batch %d record %d: %#v\nwant %#v", n, i, got[i], want)
			}
		}
		a.Reset()
	}
	canonical := values[:0:0]
	for _, v := range values {
		if _, err := event.Decode(v, event.Source{}); err == nil && event.ReadsFast(v) {
			canonical = append(canonical, v)
		}
	}
	if len(canonical) < len(values)/2 {
		t.Fatalf("only %d of %d records read in one pass", len(canonical), len(values))
	}
	allocs := testing.AllocsPerRun(5, func() {
		for i, v := range canonical {
			if _, err := d.DecodeIn(&a, v, event.Source{Topic: "t", Offset: int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		a.Reset()
	})
	// Pointers to optional numbers and records with their own string
	// allocation aside, events come from the Arena's memory.
	t.Logf("%.3f allocations per record", allocs/float64(len(canonical)))
	if perRecord := allocs / float64(len(canonical)); perRecord > 0.1 {
		t.Errorf("%.2f allocations per record decoded into a reused Arena", perRecord)
	}
}

func reversed(v [][]byte) [][]byte {
	out := make([][]byte, len(v))
	for i := range v {
		out[len(v)-1-i] = v[i]
	}
	return out
}
