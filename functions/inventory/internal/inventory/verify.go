package inventory

import (
	"context"
	"fmt"
	"sort"

	"github.com/shopstream/shopstream/shared/generator"
)

// maxDiffs bounds the differences Compare lists one by one.
const maxDiffs = 50

// State is an open order's state as the stock items decide it: an open order
// is backordered while a product it reserved lists it among its backorders.
// The order item's own status is a projection of that, written after the
// stock; the stock items are the authority. A partial reservation does not
// change once made: the order item's partially_reserved stands.
func State(o *Order, backordered map[string]bool) string {
	if o.Open() {
		switch {
		case backordered[o.ID]:
			return StatusBackordered
		case o.Status == StatusPartiallyReserved:
			return StatusPartiallyReserved
		}
		return StatusReserved
	}
	return o.Status
}

// Compare compares the stock and the orders in d with the truth and returns
// the differences; none means the final state is exactly the truth's.
func Compare(ctx context.Context, d *DynamoDB, truth *generator.Truth) []string {
	var diffs []string
	more := 0
	add := func(format string, args ...any) {
		if len(diffs) < maxDiffs {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	products, err := d.AllProducts(ctx)
	if err != nil {
		return []string{fmt.Sprintf("inventory: read stock: %v", err)}
	}
	orders, err := d.AllOrders(ctx)
	if err != nil {
		return []string{fmt.Sprintf("inventory: read orders: %v", err)}
	}
	type key struct{ product, warehouse string }
	got := map[key]*Level{}
	backordered := map[string]bool{}
	for _, p := range products {
		for w, l := range p.Warehouses {
			got[key{p.ID, w}] = l
		}
		for _, id := range p.Backorders {
			backordered[id] = true
		}
	}
	for _, s := range truth.Stock {
		k := key{s.ProductID, s.WarehouseID}
		l := got[k]
		delete(got, k)
		if l == nil {
			add("inventory: stock of %s in %s missing, want on hand %d, reserved %d", s.ProductID, s.WarehouseID, s.OnHand, s.Reserved)
			continue
		}
		if l.OnHand != int64(s.OnHand) || l.Reserved != int64(s.Reserved) || l.Available() != int64(s.Available) {
			add("inventory: stock of %s in %s is on hand %d, reserved %d, available %d; want %d, %d, %d",
				s.ProductID, s.WarehouseID, l.OnHand, l.Reserved, l.Available(), s.OnHand, s.Reserved, s.Available)
		}
	}
	extra := make([]key, 0, len(got))
	for k := range got {
		extra = append(extra, k)
	}
	sort.Slice(extra, func(i, j int) bool {
		if extra[i].product != extra[j].product {
			return extra[i].product < extra[j].product
		}
		return extra[i].warehouse < extra[j].warehouse
	})
	for _, k := range extra {
		l := got[k]
		add("inventory: stock of %s in warehouse %q is not in the truth (on hand %d, reserved %d)", k.product, k.warehouse, l.OnHand, l.Reserved)
	}
	byID := make(map[string]*Order, len(orders))
	for _, o := range orders {
		byID[o.ID] = o
	}
	for _, want := range truth.OrderStates {
		o := byID[want.OrderID]
		delete(byID, want.OrderID)
		if o == nil {
			add("inventory: order %s missing, want %s", want.OrderID, want.State)
			continue
		}
		if st := State(o, backordered); st != want.State {
			add("inventory: order %s is %s, want %s", want.OrderID, st, want.State)
		}
	}
	for id, o := range byID {
		add("inventory: order %s (%s) is not in the truth", id, o.Status)
	}
	if more > 0 {
		diffs = append(diffs, fmt.Sprintf("inventory: and %d more differences", more))
	}
	return diffs
}
