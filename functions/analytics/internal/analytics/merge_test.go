package analytics

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMergeUsers: merging random sorted batches into a user set, in any
// order, gives the sorted union and its size; a set in the one-id-per-line
// form the migration writes, or out of order, reads the same.
func TestMergeUsers(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 300 {
		want := map[string]bool{}
		var set []byte
		for range 1 + rng.IntN(6) {
			batch := map[string]bool{}
			for range rng.IntN(40) {
				u := fmt.Sprintf("u-%06d", rng.IntN(500))
				if rng.IntN(10) == 0 {
					u = fmt.Sprintf("user%d@example.com", rng.IntN(50)) // ids of other shapes
				}
				batch[u] = true
				want[u] = true
			}
			var n int
			set, n = MergeUsers(set, slices.Sorted(maps.Keys(batch)))
			if n != len(want) {
				t.Fatalf("trial %d: size %d, want %d", trial, n, len(want))
			}
		}
		if got := DecodeUsers(set); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
			t.Fatalf("trial %d: %q, want %q", trial, got, slices.Sorted(maps.Keys(want)))
		}
	}
	// Migrated: ids one per line, sorted; and out of order.
	for _, stored := range []string{"u-000001\nu-000005\nu-000009", "u-000009\nu-000001\nu-000005\nu-000001"} {
		set, n := MergeUsers([]byte(stored), []string{"u-000002", "u-000005", "u-000010"})
		if got := DecodeUsers(set); n != 5 || !slices.Equal(got, []string{"u-000001", "u-000002", "u-000005", "u-000009", "u-000010"}) {
			t.Fatalf("%q: %d %q", stored, n, got)
		}
		if set[0] != userSetVersion {
			t.Fatalf("%q: merged set not front-coded", stored)
		}
	}
	if set, n := MergeUsers(nil, nil); n != 0 || len(set) != 0 || set == nil {
		t.Fatalf("empty: %q %d", set, n)
	}
	// Front coding: sorted ids of one shape take a few bytes each.
	var ids []string
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("u-%06d", i*3))
	}
	if set := EncodeUsers(ids); len(set) > 5*len(ids) {
		t.Fatalf("%d ids take %d bytes", len(ids), len(set))
	}
}

// TestMergeProductsAndSearches: merging sums each id's figures and keeps
// the ids sorted; stored lists out of order, or with repeats, are summed.
func TestMergeProductsAndSearches(t *testing.T) {
	t.Parallel()
	stored := &ProductList{IDs: []string{"p-2", "p-1", "p-2"}, Views: []int64{1, 2, 3}, AddToCart: []int64{0, 1, 0},
		Units: []int64{0, 0, 4}, Revenue: []int64{0, 0, 500}}
	var out ProductList
	MergeProducts(&out, stored, []ProductDelta{{"p-0", ProductCounters{Views: 1}}, {"p-2", ProductCounters{Views: 1, Revenue: 7}}})
	want := ProductList{IDs: []string{"p-0", "p-1", "p-2"}, Views: []int64{1, 2, 5}, AddToCart: []int64{0, 1, 0},
		Units: []int64{0, 0, 4}, Revenue: []int64{0, 0, 507}}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("products %+v, want %+v", out, want)
	}
	var s SearchList
	MergeSearches(&s, &SearchList{Queries: []string{"b", "a'; DROP TABLE x; --"}, Searches: []int64{2, 1}},
		[]SearchCount{{"a'; DROP TABLE x; --", 1}, {"c", 3}})
	if fmt.Sprint(s) != fmt.Sprint(SearchList{Queries: []string{"a'; DROP TABLE x; --", "b", "c"}, Searches: []int64{2, 2, 3}}) {
		t.Fatalf("searches %+v", s)
	}
}

// TestMergeLatest: a user's events delivered in random batches, in random
// order, to a store that keeps the latest session apart from the earlier
// ones and reads an earlier one only when MergeLatest needs it (and only
// those within SessionGap of an event) end with the sessions of the
// definition.
func TestMergeLatest(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	gap := SessionGap.Milliseconds()
	for trial := range 500 {
		var points []Point
		at := int64(0)
		for range 1 + rng.IntN(40) {
			switch rng.IntN(4) {
			case 0:
				at += gap
			case 1:
				at += gap + 1
			default:
				at += rng.Int64N(gap * 2)
			}
			points = append(points, Point{At: at, Pages: rng.Int64N(2), Orders: rng.Int64N(2), Revenue: rng.Int64N(1000)})
		}
		want := definition(points)
		if rng.IntN(2) == 0 {
			rng.Shuffle(len(points), func(i, j int) { points[i], points[j] = points[j], points[i] })
		}
		var latest *Session
		earlier := map[int64]Session{}
		for len(points) > 0 {
			n := 1 + rng.IntN(len(points))
			batch := points[:n]
			points = points[n:]
			var near []Session
			if NeedsEarlier(latest, batch) {
				for _, s := range earlier {
					for _, p := range batch {
						if s.End >= p.At-gap && s.Start <= p.At+gap {
							near = append(near, s)
							break
						}
					}
				}
			}
			next, del, ins := MergeLatest("u", latest, near, batch)
			for _, s := range del {
				if earlier[s.Start] != s {
					t.Fatalf("trial %d: deleted %+v, never stored", trial, s)
				}
				delete(earlier, s.Start)
			}
			for _, s := range ins {
				if _, dup := earlier[s.Start]; dup {
					t.Fatalf("trial %d: inserted %+v over a stored one", trial, s)
				}
				earlier[s.Start] = s
			}
			latest = &next
		}
		got := slices.SortedFunc(maps.Values(earlier), func(a, b Session) int { return int(a.Start - b.Start) })
		got = append(got, *latest)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d:\ngot  %+v\nwant %+v", trial, got, want)
		}
	}
}

// definition cuts points, sorted by time, where two are more than
// SessionGap apart.
func definition(points []Point) []Session {
	sorted := slices.Clone(points)
	slices.SortStableFunc(sorted, func(a, b Point) int { return int(a.At - b.At) })
	var out []Session
	for _, p := range sorted {
		if n := len(out); n > 0 && p.At-out[n-1].End <= SessionGap.Milliseconds() {
			s := &out[n-1]
			s.End, s.Events, s.Pages, s.Orders, s.Revenue = p.At, s.Events+1, s.Pages+p.Pages, s.Orders+p.Orders, s.Revenue+p.Revenue
			continue
		}
		out = append(out, Session{User: "u", Start: p.At, End: p.At, Events: 1, Pages: p.Pages, Orders: p.Orders, Revenue: p.Revenue})
	}
	return out
}
