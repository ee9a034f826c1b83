package inventory_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
	"github.com/shopstream/shopstream/shared/event"
)

var policy = inventory.Policy{DefaultLowStock: 10, Horizon: 24 * time.Hour}

// TestFoldOrderIndependent folds random stock changes spread over three
// partitions (each in event-time order), delivered as a random interleaving
// of the partitions cut into random batches, each batch twice, and compares
// the result with applying them in event-time order.
func TestFoldOrderIndependent(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 1))
		n := 1 + rng.IntN(60)
		cs := make([]inventory.Change, n)
		times := rng.Perm(10 * n)
		for i := range cs {
			c := inventory.Change{ProductID: "p-1", Warehouse: "wh-01", At: int64(1 + times[i]), Qty: int64(1 + rng.IntN(20))}
			switch x := rng.IntN(10); {
			case x < 3:
				c.Op = inventory.OpAdd
				if rng.IntN(2) == 0 {
					c.Qty = -c.Qty
				}
			case x < 5:
				c.Op = inventory.OpCount
				c.Qty += 20
			case x < 8:
				c.Op, c.OrderID = inventory.OpReserve, fmt.Sprint("o-", i)
			case x < 9:
				c.Op, c.OrderID = inventory.OpRelease, fmt.Sprint("o-", i)
			default:
				c.Op, c.OrderID = inventory.OpCommit, fmt.Sprint("o-", i)
			}
			cs[i] = c
		}
		// The reference: event-time order.
		ref := slices.Clone(cs)
		slices.SortFunc(ref, func(a, b inventory.Change) int { return int(a.At - b.At) })
		var onHand, reserved int64
		for _, c := range ref {
			switch c.Op {
			case inventory.OpAdd:
				onHand += c.Qty
			case inventory.OpCount:
				onHand = c.Qty
			case inventory.OpReserve:
				reserved += c.Qty
			case inventory.OpRelease:
				reserved -= c.Qty
			case inventory.OpCommit:
				onHand -= c.Qty
				reserved -= c.Qty
			}
		}
		// Partitions: offsets follow event time within each; delivery is a
		// random interleaving of the partitions, each in offset order.
		queues := map[string][]inventory.Change{}
		for _, c := range ref {
			c.Part = fmt.Sprint("t-", rng.IntN(3))
			c.Offset = int64(len(queues[c.Part]))
			queues[c.Part] = append(queues[c.Part], c)
		}
		cs = cs[:0]
		for len(cs) < n {
			q := fmt.Sprint("t-", rng.IntN(3))
			if len(queues[q]) > 0 {
				cs = append(cs, queues[q][0])
				queues[q] = queues[q][1:]
			}
		}
		p := inventory.NewProduct("p-1")
		for len(cs) > 0 {
			k := 1 + rng.IntN(len(cs))
			inventory.Fold(p, cs[:k], policy, time.Now())
			if again := inventory.Fold(p, cs[:k], policy, time.Now()); again.Applied != 0 {
				t.Fatalf("seed %d: a replayed batch applied %d changes", seed, again.Applied)
			}
			cs = cs[k:]
		}
		l := p.Warehouses["wh-01"]
		if l.OnHand != onHand || l.Reserved != reserved {
			t.Fatalf("seed %d: on hand %d, reserved %d; want %d, %d", seed, l.OnHand, l.Reserved, onHand, reserved)
		}
	}
}

func change(op inventory.Op, qty, at int64, order string, off int64) inventory.Change {
	return inventory.Change{Op: op, ProductID: "p-1", Qty: qty, At: at, OrderID: order, Part: "t-0", Offset: off}
}

func kinds(as []*event.InventoryAlert) []string {
	var out []string
	for _, a := range as {
		if err := a.Validate(); err != nil {
			panic(err)
		}
		out = append(out, a.Kind)
	}
	return out
}

// TestFoldBackorderAndAlerts: an order beyond available stock is
// backordered (with an alert) until stock arrives; low and out of stock
// alert once per crossing, not once per event.
func TestFoldBackorderAndAlerts(t *testing.T) {
	t.Parallel()
	p := inventory.NewProduct("p-1")
	steps := []struct {
		cs          []inventory.Change
		alerts      []string
		backordered []string
		cleared     []string
	}{
		{cs: []inventory.Change{{Op: inventory.OpCount, ProductID: "p-1", Warehouse: "wh-01", Qty: 30, At: 1, Part: "t-0", Offset: 0}}},
		{cs: []inventory.Change{change(inventory.OpReserve, 15, 2, "o-1", 1), change(inventory.OpReserve, 8, 3, "o-2", 2)}, alerts: []string{"low_stock"}},
		{cs: []inventory.Change{change(inventory.OpReserve, 1, 4, "o-3", 3)}}, // still low: no second alert
		{cs: []inventory.Change{change(inventory.OpReserve, 10, 5, "o-4", 4)}, alerts: []string{"backordered", "out_of_stock"}, backordered: []string{"o-4"}},
		{cs: []inventory.Change{change(inventory.OpAdd, 50, 6, "", 5)}, cleared: []string{"o-4"}},
		{cs: []inventory.Change{change(inventory.OpCommit, 10, 7, "o-4", 6)}},
		{cs: []inventory.Change{change(inventory.OpAdd, -40, 8, "", 7)}, alerts: []string{"low_stock"}}, // a new crossing
	}
	for i, s := range steps {
		res := inventory.Fold(p, s.cs, policy, time.Now())
		if got := kinds(res.Alerts); !slices.Equal(got, s.alerts) {
			t.Errorf("step %d: alerts %v, want %v", i, got, s.alerts)
		}
		if !slices.Equal(res.Backordered, s.backordered) || !slices.Equal(res.Cleared, s.cleared) {
			t.Errorf("step %d: backordered %v cleared %v, want %v %v", i, res.Backordered, res.Cleared, s.backordered, s.cleared)
		}
		p.Version++
	}
	l := p.Warehouses["wh-01"]
	if l.OnHand != 30 || l.Reserved != 24 {
		t.Errorf("on hand %d reserved %d, want 30 24", l.OnHand, l.Reserved)
	}
}

// TestFoldPendingWarehouse: an order that reaches a product before any
// inventory event waits under Pending and moves into the first warehouse.
func TestFoldPendingWarehouse(t *testing.T) {
	t.Parallel()
	p := inventory.NewProduct("p-1")
	inventory.Fold(p, []inventory.Change{change(inventory.OpReserve, 3, 5, "o-1", 0)}, policy, time.Now())
	if _, ok := p.Warehouses[inventory.Pending]; !ok {
		t.Fatal("no pending stock")
	}
	inventory.Fold(p, []inventory.Change{{Op: inventory.OpCount, ProductID: "p-1", Warehouse: "wh-02", Qty: 10, At: 1, Part: "t-1", Offset: 0}}, policy, time.Now())
	l := p.Warehouses["wh-02"]
	if len(p.Warehouses) != 1 || l == nil || l.OnHand != 10 || l.Reserved != 3 || len(p.Backorders) != 0 {
		t.Fatalf("after the count: %+v, backorders %v", p.Warehouses, p.Backorders)
	}
}

// TestFoldHorizon: journal entries older than the horizon are pruned, and a
// count older than what was pruned is reported as inexact.
func TestFoldHorizon(t *testing.T) {
	t.Parallel()
	pol := inventory.Policy{DefaultLowStock: 1, Horizon: time.Second}
	p := inventory.NewProduct("p-1")
	inventory.Fold(p, []inventory.Change{
		{Op: inventory.OpAdd, ProductID: "p-1", Warehouse: "wh-01", Qty: 5, At: 1000, Part: "t", Offset: 0},
		{Op: inventory.OpAdd, ProductID: "p-1", Warehouse: "wh-01", Qty: 5, At: 5000, Part: "t", Offset: 1},
	}, pol, time.Now())
	if j := p.Warehouses["wh-01"].Journal; len(j) != 1 {
		t.Fatalf("journal %v, want the last entry only", j)
	}
	res := inventory.Fold(p, []inventory.Change{{Op: inventory.OpCount, ProductID: "p-1", Warehouse: "wh-01", Qty: 7, At: 2000, Part: "u", Offset: 0}}, pol, time.Now())
	if res.Inexact != 1 || p.Warehouses["wh-01"].OnHand != 12 {
		t.Fatalf("inexact %d, on hand %d; want 1, 12", res.Inexact, p.Warehouses["wh-01"].OnHand)
	}
}

// TestFoldSameMillisecond: a change of the same millisecond as a count, on
// the count's partition, is before or after it by offset, in either order
// of arrival.
func TestFoldSameMillisecond(t *testing.T) {
	t.Parallel()
	count := inventory.Change{Op: inventory.OpCount, ProductID: "p-1", Warehouse: "wh-01", Qty: 100, At: 50, Part: "inv-0", Offset: 5}
	before := inventory.Change{Op: inventory.OpAdd, ProductID: "p-1", Warehouse: "wh-01", Qty: -3, At: 50, Part: "inv-0", Offset: 4}
	afterIt := inventory.Change{Op: inventory.OpAdd, ProductID: "p-1", Warehouse: "wh-01", Qty: -2, At: 50, Part: "inv-0", Offset: 6}
	for _, order := range [][]inventory.Change{{before, count, afterIt}, {afterIt, before, count}, {count, afterIt, before}} {
		// One fold, and one fold per change with marks from fresh partitions.
		p := inventory.NewProduct("p-1")
		inventory.Fold(p, order, policy, time.Now())
		if got := p.Warehouses["wh-01"].OnHand; got != 98 {
			t.Errorf("one fold of %v: on hand %d, want 98", order, got)
		}
		q := inventory.NewProduct("p-1")
		for _, c := range order {
			q.Marks = map[string]int64{}
			inventory.Fold(q, []inventory.Change{c}, policy, time.Now())
		}
		if got := q.Warehouses["wh-01"].OnHand; got != 98 {
			t.Errorf("folds of %v: on hand %d, want 98", order, got)
		}
	}
}
