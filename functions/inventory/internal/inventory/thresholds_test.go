package inventory_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
)

// TestFoldThresholdsPerProduct: each product is low at its own threshold:
// one low_stock alert when available reaches it, one out_of_stock at zero,
// none for the steps in between or for replays, and again after a restock
// lifts it above the threshold.
func TestFoldThresholdsPerProduct(t *testing.T) {
	t.Parallel()
	pol := inventory.Policy{DefaultLowStock: 10, LowStock: map[string]int64{"p-a": 3, "p-b": 20, "p-z": 0}, Horizon: 24 * time.Hour}
	for id, thr := range map[string]int64{"p-a": 3, "p-b": 20, "p-c": 10, "p-z": 0} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			p := inventory.NewProduct(id)
			var off int64
			var got []string
			step := func(op inventory.Op, qty int64) {
				off++
				c := inventory.Change{Op: op, ProductID: id, Warehouse: "wh-01", Qty: qty, At: off * 1000, Part: "inv-0", Offset: off}
				res := inventory.Fold(p, []inventory.Change{c}, pol, time.Now())
				for _, a := range res.Alerts {
					if a.Threshold == nil || int64(*a.Threshold) != thr {
						t.Fatalf("alert %s has threshold %v, want %d", a.Kind, a.Threshold, thr)
					}
					got = append(got, fmt.Sprintf("%s@%d", a.Kind, a.Available))
				}
				if again := inventory.Fold(p, []inventory.Change{c}, pol, time.Now()); len(again.Alerts) > 0 || again.Applied > 0 {
					t.Fatalf("a replay raised %d alerts", len(again.Alerts))
				}
				p.Version++
			}
			step(inventory.OpCount, 25)
			for range 25 {
				step(inventory.OpAdd, -1)
			}
			step(inventory.OpAdd, 30)
			for range 30 - thr {
				step(inventory.OpAdd, -1)
			}
			want := []string{fmt.Sprintf("low_stock@%d", thr), "out_of_stock@0", fmt.Sprintf("low_stock@%d", thr)}
			if thr == 0 {
				// A threshold of zero: out of stock is the only alert.
				want = []string{"out_of_stock@0", "out_of_stock@0"}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("alerts %v, want %v", got, want)
			}
			if p.Threshold != thr {
				t.Fatalf("stored threshold %d, want %d", p.Threshold, thr)
			}
			low := p.Low()
			if l := low["wh-01"]; len(low) != 1 || l == nil || l.Available() != thr {
				t.Fatalf("low levels %v, want wh-01 at %d available", low, thr)
			}
		})
	}
}
