package generator

import (
	"testing"

	"github.com/shopstream/shopstream/shared/event"
)

// TestTruthOrderStates: the truth holds one final state per order, the one
// its last lifecycle record says, and every state occurs in a long run.
func TestTruthOrderStates(t *testing.T) {
	t.Parallel()
	recs, truth := generate(t, Config{Seed: 9, LegacyShare: 0.2}, 40000)
	if int64(len(truth.OrderStates)) != truth.Orders {
		t.Fatalf("%d order states, %d orders", len(truth.OrderStates), truth.Orders)
	}
	want := map[string]string{}
	for _, r := range recs {
		switch e := r.view.(type) {
		case *event.OrderCreated:
			want[e.OrderID] = OrderReserved
		case *event.OrderShipped:
			want[e.OrderID] = OrderShipped
		case *event.OrderCancelled:
			want[e.OrderID] = OrderCancelled
		}
	}
	seen := map[string]int{}
	for i, s := range truth.OrderStates {
		if i > 0 && truth.OrderStates[i-1].OrderID >= s.OrderID {
			t.Fatalf("order states not sorted at %d", i)
		}
		if want[s.OrderID] != s.State {
			t.Errorf("order %s: truth %s, records say %s", s.OrderID, s.State, want[s.OrderID])
		}
		seen[s.State]++
	}
	for _, st := range []string{OrderReserved, OrderShipped, OrderCancelled} {
		if seen[st] == 0 {
			t.Errorf("no order ends %s: %v", st, seen)
		}
	}
}
