package inventory

import (
	"maps"
	"slices"

	"github.com/shopstream/shopstream/shared/event"
)

// Order lifecycle statuses, as stored. An open order is StatusReserved,
// StatusBackordered or StatusPartiallyReserved; see Order.
const (
	StatusReserved    = "reserved"
	StatusBackordered = "backordered"
	// StatusPartiallyReserved: in partial reservation mode, stock covered
	// only part of the order; its lines say what is short.
	StatusPartiallyReserved = "partially_reserved"
	StatusShipped           = "shipped"
	StatusCancelled         = "cancelled"
)

// Order is the lifecycle of one order, as stored in one DynamoDB item.
type Order struct {
	ID string
	// Status is "" for an order no lifecycle event has reached yet.
	Status string
	// Held says stock is reserved for Lines (it was created while open).
	Held bool
	// Created says order_created was seen (it may come after a ship or a
	// cancel from a producer that sends them out of order).
	Created bool
	Lines   []Line
	// Marks holds, per "topic-partition", the offset of the last record
	// applied to the order.
	Marks map[string]int64
	// Refunds counts refund_issued events; Restocked the units they put back.
	Refunds   int64
	Restocked int64
	// Anomaly records the last lifecycle event that came in a state it does
	// not apply to ("cancel_after_ship", "ship_after_cancel",
	// "ship_unknown_order", "cancel_unknown_order").
	Anomaly string
	// UpdatedAt is the event time of the last applied event (Unix ms).
	UpdatedAt int64
}

// Line is one product of an order and its quantity, repeated products merged.
type Line struct {
	ProductID string
	Quantity  int64
	// Short is the units of Quantity a partial reservation could not
	// cover: reserved, and later shipped or released, is Quantity - Short.
	Short int64
}

// Open reports whether the order holds stock reserved.
func (o *Order) Open() bool {
	return o.Status == StatusReserved || o.Status == StatusBackordered || o.Status == StatusPartiallyReserved
}

// Shorted reports whether a line of o is short.
func (o *Order) Shorted() bool {
	return slices.ContainsFunc(o.Lines, func(l Line) bool { return l.Short > 0 })
}

func linesOf(items []event.Item) []Line {
	var out []Line
	for _, it := range items {
		i := slices.IndexFunc(out, func(l Line) bool { return l.ProductID == it.ProductID })
		if i < 0 {
			out = append(out, Line{ProductID: it.ProductID, Quantity: int64(it.Quantity)})
			continue
		}
		out[i].Quantity += int64(it.Quantity)
	}
	return out
}

// Apply applies one lifecycle event at coordinates (part, offset) to o and
// returns its stock changes; it returns nothing for a replayed record. The
// transitions:
//
//	order_created:   new -> reserved (reserve every line)
//	                 shipped/cancelled (the ship or cancel came first) -> unchanged
//	order_shipped:   open -> shipped (commit: on hand and reserved drop)
//	                 new -> shipped (on hand drops by the event's items; nothing was reserved)
//	                 cancelled -> shipped (on hand drops; the reservation was already released)
//	                 shipped -> unchanged (a duplicate)
//	order_cancelled: open -> cancelled (release)
//	                 new -> cancelled (nothing to release)
//	                 shipped -> unchanged (a cancel after ship releases nothing)
//	refund_issued:   with restock, on hand grows by the refunded items, or, when
//	                 the refund lists none, by the units of the order's lines
//	                 that shipped
//
// Open is reserved, backordered or partially reserved: which one is decided
// by the product folds (a partial reservation's commit and release leave
// out what the line was short of), not here. Payment events change no
// stock.
func (o *Order) Apply(e event.Event, part string, offset int64, msg int) []Change {
	if m, ok := o.Marks[part]; ok && offset <= m {
		return nil
	}
	if o.Marks == nil {
		o.Marks = map[string]int64{}
	}
	o.Marks[part] = offset
	env := e.Meta()
	at := env.OccurredAt.UnixMilli()
	o.UpdatedAt = max(o.UpdatedAt, at)
	change := func(op Op, l Line) Change {
		return Change{Op: op, ProductID: l.ProductID, Qty: l.Quantity, At: at, OrderID: o.ID, Part: part, Offset: offset, Msg: msg}
	}
	var out []Change
	switch e := e.(type) {
	case *event.OrderCreated:
		if o.Created {
			return nil
		}
		o.Created = true
		if o.Status != "" {
			return nil
		}
		o.Lines = linesOf(e.Items)
		o.Status, o.Held = StatusReserved, true
		for _, l := range o.Lines {
			out = append(out, change(OpReserve, l))
		}
	case *event.OrderShipped:
		switch {
		case o.Open():
			for _, l := range o.Lines {
				out = append(out, change(OpCommit, l))
			}
		case o.Status == StatusShipped:
			return nil
		default:
			if o.Status == "" {
				o.Anomaly = "ship_unknown_order"
			} else {
				o.Anomaly = "ship_after_cancel"
			}
			if len(o.Lines) == 0 {
				o.Lines = linesOf(e.Items)
			}
			for _, l := range o.Lines {
				c := change(OpAdd, l)
				c.Qty = -l.Quantity
				c.Warehouse = e.WarehouseID
				out = append(out, c)
			}
		}
		o.Status, o.Held = StatusShipped, false
	case *event.OrderCancelled:
		switch {
		case o.Open():
			for _, l := range o.Lines {
				out = append(out, change(OpRelease, l))
			}
			o.Status, o.Held = StatusCancelled, false
		case o.Status == StatusShipped:
			o.Anomaly = "cancel_after_ship"
		case o.Status == "":
			o.Anomaly = "cancel_unknown_order"
			o.Lines = linesOf(e.Items)
			o.Status = StatusCancelled
		}
	case *event.RefundIssued:
		o.Refunds++
		if !e.Restock {
			return nil
		}
		if lines := linesOf(e.Items); len(lines) > 0 {
			for _, l := range lines {
				o.Restocked += l.Quantity
				out = append(out, change(OpAdd, l))
			}
			return out
		}
		for _, l := range o.Lines {
			o.Restocked += l.Quantity - l.Short
			c := change(OpReturn, l)
			c.Short = l.Short
			out = append(out, c)
		}
	}
	return out
}

// Clone returns a deep copy of o.
func (o *Order) Clone() *Order {
	c := *o
	c.Lines = slices.Clone(o.Lines)
	c.Marks = maps.Clone(o.Marks)
	return &c
}
