package recommendations_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/shopstream/shopstream/functions/recommendations/internal/recommendations"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// TestScoreDecay: a count weighs half as much one half-life earlier, by
// event time; a pair seen 6 times now outranks one seen 10 times two
// half-lives ago (worth 2.5 now), and ties rank by id.
func TestScoreDecay(t *testing.T) {
	pol := recommendations.Policy{HalfLife: 10 * time.Hour, PurchaseWeight: 5}
	for _, c := range []struct {
		counts []recommendations.Count
		ref    int64
		want   float64
	}{
		{[]recommendations.Count{{Bucket: 100, Views: 1}}, 100, 1},
		{[]recommendations.Count{{Bucket: 90, Views: 1}}, 100, 0.5},
		{[]recommendations.Count{{Bucket: 80, Views: 4}}, 100, 1},
		{[]recommendations.Count{{Bucket: 100, Buys: 1}}, 100, 5},
		{[]recommendations.Count{{Bucket: 95, Views: 2}, {Bucket: 100, Views: 1, Buys: 1}}, 100, 2*math.Exp2(-0.5) + 6},
	} {
		if got := recommendations.Score(c.counts, c.ref, pol); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Score(%v, %d) = %v, want %v", c.counts, c.ref, got, c.want)
		}
	}
	it := recommendations.NewItem("p-1")
	recommendations.Fold(it, []recommendations.Contribution{
		{Key: "p-1", Entry: "p-old", Bucket: 100, Views: 10, Part: "user_events-0", Offset: 1},
		{Key: "p-1", Entry: "p-new", Bucket: 120, Views: 6, Part: "user_events-0", Offset: 2},
		{Key: "p-1", Entry: "p-b", Bucket: 120, Views: 1, Part: "user_events-0", Offset: 3},
		{Key: "p-1", Entry: "p-a", Bucket: 120, Views: 1, Part: "user_events-0", Offset: 4},
	}, pol)
	var ids []string
	for _, s := range it.Top {
		ids = append(ids, s.ID)
	}
	if want := []string{"p-new", "p-old", "p-a", "p-b"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ranking %v, want %v", ids, want)
	}
	if it.Top[1].Score != 2.5 || it.Top[1].Views != 10 {
		t.Fatalf("the old pair scores %+v, want 2.5 from 10 views", it.Top[1])
	}
}

// TestFoldOrderIndependent: contributions from three partitions, spanning
// more than the horizon, folded in any interleaving of per-partition
// batches, with replays of earlier batches mixed in, end in the same item
// as folding them all in order: counts, marks, ranking, pruning.
func TestFoldOrderIndependent(t *testing.T) {
	pol := recommendations.Policy{TopN: 5, HalfLife: time.Hour, Horizon: 6}
	rng := rand.New(rand.NewPCG(3, 4))
	type chunk []recommendations.Contribution
	var parts [3][]chunk
	for p := range 3 {
		off := int64(0)
		for range 12 {
			var ch chunk
			for range 1 + rng.IntN(6) {
				off += 1 + int64(rng.IntN(3))
				ch = append(ch, recommendations.Contribution{Key: "p-1", Entry: fmt.Sprint("p-", rng.IntN(9)),
					Bucket: int64(rng.IntN(30)), Views: int64(rng.IntN(2)), Buys: int64(rng.IntN(2)),
					Part: fmt.Sprint("user_events-", p), Offset: off})
			}
			parts[p] = append(parts[p], ch)
		}
	}
	want := recommendations.NewItem("p-1")
	for p := range 3 {
		for _, ch := range parts[p] {
			recommendations.Fold(want, ch, pol)
		}
	}
	if len(want.Entries) == 0 || want.Newest() < 25 {
		t.Fatalf("degenerate item %+v", want)
	}
	for trial := range 200 {
		got := recommendations.NewItem("p-1")
		next := [3]int{}
		for next[0]+next[1]+next[2] < 36 {
			p := rng.IntN(3)
			if next[p] == len(parts[p]) {
				continue
			}
			if next[p] > 0 && rng.IntN(4) == 0 { // a replay of an earlier batch
				recommendations.Fold(got, parts[p][rng.IntN(next[p])], pol)
			}
			recommendations.Fold(got, parts[p][next[p]], pol)
			next[p]++
		}
		if !reflect.DeepEqual(got.Entries, want.Entries) || !reflect.DeepEqual(got.Top, want.Top) || !reflect.DeepEqual(got.Marks, want.Marks) {
			t.Fatalf("trial %d: %+v\nwant %+v", trial, got, want)
		}
	}
}

// TestPairsBounded: a session viewing 300 distinct products and an order
// of 100 distinct products make at most 20·19 directed pairs each, however
// large they are.
func TestPairsBounded(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	h := recommendations.New(store)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var msgs []*kafkabatch.Message
	for i := range 300 {
		msgs = append(msgs, view(event.TopicUserEvents, 0, int64(i), "s-crawler", fmt.Sprintf("p-%05d", i), "", at))
	}
	var items []event.Item
	for i := range 100 {
		items = append(items, event.Item{ProductID: fmt.Sprintf("p-%05d", 1000+i), Quantity: 1, Price: event.FromCents(100)})
	}
	msgs = append(msgs, &kafkabatch.Message{Record: kafkabatch.Record{Topic: event.TopicTransactions, Offset: 1},
		Event: &event.OrderCreated{Envelope: event.Envelope{EventID: "e-o", EventType: event.TypeOrderCreated, SchemaVersion: 1, OccurredAt: at},
			Order: event.Order{OrderID: "o-1", UserID: "u-1", Items: items}}})
	b := kafkabatch.NewBatch(msgs)
	if err := h.Handle(ctx, b); err != nil || len(b.Failed()) > 0 {
		t.Fatalf("%v %v", err, b.Failed())
	}
	// 300 views and 20 purchases counted twice (the product's category is
	// unknown: only _all), 380 co-view and 380 co-purchase pairs.
	if got, want := h.Stats().Contributions.Load(), int64(300+20+380+380); got != want {
		t.Fatalf("%d contributions, want %d", got, want)
	}
	if h.Stats().CappedViews.Load() != 280 || h.Stats().CappedOrders.Load() != 1 {
		t.Fatalf("views past the cap %d, orders %d; want 280, 1", h.Stats().CappedViews.Load(), h.Stats().CappedOrders.Load())
	}
	it, _ := store.Item(ctx, recommendations.Related, "p-00000")
	if it == nil || len(it.Entries) != 19 || len(it.Top) != 10 {
		t.Fatalf("first product of the session: %+v", it)
	}
	if it, _ := store.Item(ctx, recommendations.Related, "p-00020"); it != nil {
		t.Fatalf("the 21st product of the session has pairs: %+v", it)
	}
}

// TestItemSizeBounded: an item whose counts would outgrow DynamoDB's item
// size keeps its highest-ranked entries under MaxEntriesBytes, and its
// encoding stays under it.
func TestItemSizeBounded(t *testing.T) {
	it := recommendations.NewItem("p-hot")
	var cs []recommendations.Contribution
	for e := range 1500 {
		for h := range 40 {
			cs = append(cs, recommendations.Contribution{Key: "p-hot", Entry: fmt.Sprintf("p-%06d", e), Bucket: int64(500000 + h*3),
				Views: int64(1 + e%7), Buys: int64(e % 3), Part: "user_events-0", Offset: int64(len(cs))})
		}
	}
	recommendations.Fold(it, cs, recommendations.Policy{})
	if len(it.Entries) == 1500 || len(it.Entries) < 500 {
		t.Fatalf("%d entries kept of 1500", len(it.Entries))
	}
	if n := recommendations.EncodedSize(it); n > recommendations.MaxEntriesBytes {
		t.Fatalf("encoded counts %d bytes, bound %d", n, recommendations.MaxEntriesBytes)
	}
	// The entries kept are the highest-ranked: every one dropped ranks below
	// the last one kept.
	kept := recommendations.Rank(it, recommendations.Policy{}, 0)
	full := recommendations.NewItem("p-hot")
	for _, c := range cs { // unfolded: no bound
		full.Entries[c.Entry] = append(full.Entries[c.Entry], recommendations.Count{Bucket: c.Bucket, Views: c.Views, Buys: c.Buys})
	}
	all := recommendations.Rank(full, recommendations.Policy{}, 0)
	if len(all) != 1500 {
		t.Fatalf("the full ranking has %d entries", len(all))
	}
	for i, s := range kept {
		if all[i].ID != s.ID {
			t.Fatalf("rank %d kept %s, the full ranking has %s", i, s.ID, all[i].ID)
		}
	}
}
