package analytics

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestMergeSessionsOrderIndependent: delivering a user's events in random
// batches, in random order, through MergeSessions ends with the sessions of
// cutting the sorted events at gaps over SessionGap.
func TestMergeSessionsOrderIndependent(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	gap := SessionGap.Milliseconds()
	for trial := range 200 {
		var points []Point
		at := int64(0)
		for range 1 + rng.IntN(40) {
			// Gaps around SessionGap, exactly it included.
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
		// The definition.
		sorted := slices.Clone(points)
		slices.SortStableFunc(sorted, func(a, b Point) int { return int(a.At - b.At) })
		var want []Session
		for _, p := range sorted {
			if n := len(want); n > 0 && p.At-want[n-1].End <= gap {
				w := &want[n-1]
				w.End, w.Events, w.Pages, w.Orders, w.Revenue = p.At, w.Events+1, w.Pages+p.Pages, w.Orders+p.Orders, w.Revenue+p.Revenue
				continue
			}
			want = append(want, Session{User: "u", Start: p.At, End: p.At, Events: 1, Pages: p.Pages, Orders: p.Orders, Revenue: p.Revenue})
		}
		// Random batches in random order against a store of sessions.
		rng.Shuffle(len(points), func(i, j int) { points[i], points[j] = points[j], points[i] })
		stored := map[int64]Session{}
		for len(points) > 0 {
			n := 1 + rng.IntN(len(points))
			batch := points[:n]
			points = points[n:]
			var near []Session
			for _, s := range stored {
				near = append(near, s) // a superset of what is near: harmless
			}
			del, wr := MergeSessions("u", near, batch)
			for _, s := range del {
				if _, ok := stored[s.Start]; !ok {
					t.Fatalf("trial %d: deleted a session never stored: %+v", trial, s)
				}
				delete(stored, s.Start)
			}
			for _, s := range wr {
				stored[s.Start] = s
			}
		}
		var got []Session
		for _, s := range stored {
			got = append(got, s)
		}
		slices.SortFunc(got, func(a, b Session) int { return int(a.Start - b.Start) })
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d:\ngot  %+v\nwant %+v", trial, got, want)
		}
	}
}

// TestMergeSessionsUntouched: a stored session no event reaches is neither
// deleted nor written again.
func TestMergeSessionsUntouched(t *testing.T) {
	t.Parallel()
	h := time.Hour.Milliseconds()
	stored := []Session{{User: "u", Start: 0, End: 10, Events: 2}, {User: "u", Start: 5 * h, End: 5 * h, Events: 1}}
	del, wr := MergeSessions("u", stored, []Point{{At: 5*h + 60_000}})
	if len(del) != 1 || del[0].Start != 5*h || len(wr) != 1 || wr[0] != (Session{User: "u", Start: 5 * h, End: 5*h + 60_000, Events: 2}) {
		t.Fatalf("deleted %+v, written %+v", del, wr)
	}
}
