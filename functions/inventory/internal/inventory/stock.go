package inventory

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// Pending names the stock of a product whose warehouse is not known yet: an
// order reached it before any inventory event did. It moves into the first
// warehouse that appears.
const Pending = ""

// Product is the stock of one product in every warehouse that holds it, as
// stored in one DynamoDB item. It is changed only by Fold.
type Product struct {
	ID string
	// Version counts the writes of the item; a write is conditional on it.
	Version int64
	// Marks holds, per "topic-partition", the offset of the last record
	// whose effect is in this item: a record at or below it is a replay.
	Marks map[string]int64
	// Warehouses holds the stock per warehouse.
	Warehouses map[string]*Level
	// Backorders lists the open orders whose reservation this product could
	// not cover when it was made, sorted. It empties when available stock
	// is no longer negative.
	Backorders []string
	// Shorts holds, per order, the units of its line that a partial
	// reservation could not cover: the order's release and commit leave
	// them out. An entry stays after its order ships or is cancelled
	// (settled), for Policy.Horizon of event time, so that a retried batch
	// still finds what the order was short of.
	Shorts map[string]Short
	// Threshold is the low-stock threshold of the last fold.
	Threshold int64
	// Latest is the latest event time applied, in Unix milliseconds.
	Latest int64
	// Floor is the event time below which journal entries were pruned: a
	// count older than it cannot be placed exactly.
	Floor int64
}

// Short is what a partially reserved order line lacks.
type Short struct {
	// Qty is the units of the line not reserved.
	Qty int64
	// Settled says the order shipped or was cancelled, at event time
	// SettledAt (Unix ms): the entry is kept for replays only.
	Settled   bool
	SettledAt int64
}

// Level is the stock of one product in one warehouse.
type Level struct {
	OnHand   int64
	Reserved int64
	// Counted says a stock count was applied; CountedAt is its event time,
	// CountPart and CountOffset its record's coordinates (which order it
	// with changes of the same millisecond from the same partition).
	Counted     bool
	CountedAt   int64
	CountPart   string
	CountOffset int64
	// Journal holds the on-hand changes after the count (all of them when
	// never counted), in event-time order: a count that arrives late keeps
	// exactly the changes that happened after it.
	Journal []Entry
	// Alert is the alert level last raised: "", "low_stock" or "out_of_stock".
	Alert string
}

// Entry is one on-hand change at an event time (Unix milliseconds), and
// the coordinates of its record.
type Entry struct {
	At     int64
	Delta  int64
	Part   string
	Offset int64
}

// after reports whether a change at (at, part, off) happened after the
// point (t, tpart, toff). On the same partition the offsets say it: a
// partition holds one product's inventory events in the order they
// happened, even when a producer's timestamps are too coarse to (some send
// whole seconds). Across partitions the event times say it; of the same
// millisecond, the change counts as the earlier.
func after(at int64, part string, off int64, t int64, tpart string, toff int64) bool {
	if part == tpart {
		return off > toff
	}
	return at > t
}

// Available is on hand minus reserved.
func (l *Level) Available() int64 { return l.OnHand - l.Reserved }

// Op is the kind of a stock change.
type Op uint8

// Stock changes.
const (
	// OpAdd adds Qty (signed) to on hand at event time At.
	OpAdd Op = iota + 1
	// OpCount sets on hand to Qty as counted at At.
	OpCount
	// OpReserve reserves Qty for OrderID.
	OpReserve
	// OpRelease releases Qty reserved for OrderID.
	OpRelease
	// OpCommit ships Qty reserved for OrderID: on hand and reserved drop.
	OpCommit
	// OpReturn adds the units of OrderID's line that shipped back to on
	// hand: Qty less what the order was short of (from Shorts, else Short).
	OpReturn
)

// Change is one effect of one record on one product.
type Change struct {
	Op        Op
	ProductID string
	// Warehouse is where the change happens; Pending means the product's
	// warehouse (the only one, or the one with most available stock).
	Warehouse string
	Qty       int64
	At        int64
	OrderID   string
	// Part and Offset are the record's coordinates ("topic-partition").
	Part   string
	Offset int64
	// Msg is the index of the record's message in the batch.
	Msg int
	// Short is, for OpReturn, what the order item knows its line was short
	// of; the product's own record of it, while kept, takes precedence.
	Short int64
}

// Policy holds the thresholds and the reservation mode Fold works with.
type Policy struct {
	// LowStock is the available stock at or below which a product is low,
	// per product id; DefaultLowStock applies to the rest.
	LowStock map[string]int64
	// DefaultLowStock is the low-stock threshold of products not in LowStock.
	DefaultLowStock int64
	// Horizon is how long journal entries are kept after the latest event
	// time of the product: a count later than that, relative to the changes
	// it supersedes, is applied inexactly (and counted in FoldResult).
	Horizon time.Duration
	// Reservation is how an order that stock cannot cover is reserved;
	// "" is ReserveBackorder.
	Reservation Reservation
}

func (p Policy) threshold(product string) int64 {
	if t, ok := p.LowStock[product]; ok {
		return t
	}
	return p.DefaultLowStock
}

// FoldResult says what a fold did beyond the new state.
type FoldResult struct {
	// Applied is the number of changes applied; replays are not.
	Applied int
	// Backordered lists the orders this fold could not cover.
	Backordered []string
	// Cleared lists the orders whose backorder this fold resolved.
	Cleared []string
	// Shorted lists the orders this fold reserved partially.
	Shorted []string
	// Alerts are the alerts raised by crossings in this fold.
	Alerts []*event.InventoryAlert
	// Inexact counts stock counts older than the journal's floor.
	Inexact int
}

// NewProduct returns the empty stock of product id.
func NewProduct(id string) *Product {
	return &Product{ID: id, Marks: map[string]int64{}, Warehouses: map[string]*Level{}, Shorts: map[string]Short{}}
}

// Clone returns a deep copy of p.
func (p *Product) Clone() *Product {
	q := *p
	q.Marks = maps.Clone(p.Marks)
	if q.Marks == nil {
		q.Marks = map[string]int64{}
	}
	q.Warehouses = make(map[string]*Level, len(p.Warehouses))
	for k, l := range p.Warehouses {
		c := *l
		c.Journal = slices.Clone(l.Journal)
		q.Warehouses[k] = &c
	}
	q.Backorders = slices.Clone(p.Backorders)
	q.Shorts = maps.Clone(p.Shorts)
	if q.Shorts == nil {
		q.Shorts = map[string]Short{}
	}
	return &q
}

// Fold applies changes, all for p, to p in event-time order, skipping those
// already applied (at or below p's mark of their partition), and advances
// the marks. In ReserveBackorder mode the result does not depend on the
// order of changes, nor on how changes are split between folds, except for
// which orders were backordered on the way; in ReservePartial mode what a
// reservation takes depends on the stock folded before it. now stamps the
// alerts.
func Fold(p *Product, changes []Change, pol Policy, now time.Time) FoldResult {
	var res FoldResult
	fresh := make([]Change, 0, len(changes))
	newMarks := map[string]int64{}
	for _, c := range changes {
		if m, ok := p.Marks[c.Part]; ok && c.Offset <= m {
			continue
		}
		fresh = append(fresh, c)
		newMarks[c.Part] = max(c.Offset, newMarks[c.Part])
	}
	if len(fresh) == 0 {
		return res
	}
	slices.SortStableFunc(fresh, func(a, b Change) int { return cmp.Compare(a.At, b.At) })
	thr := pol.threshold(p.ID)
	p.Threshold = thr
	if p.Shorts == nil {
		p.Shorts = map[string]Short{}
	}
	for _, c := range fresh {
		l := p.level(c.Warehouse)
		switch c.Op {
		case OpAdd:
			l.add(c)
		case OpCount:
			if l.Counted && !after(c.At, c.Part, c.Offset, l.CountedAt, l.CountPart, l.CountOffset) {
				break // an older count, superseded
			}
			if c.At < p.Floor {
				res.Inexact++
			}
			on := c.Qty
			keep := l.Journal[:0]
			for _, e := range l.Journal {
				if after(e.At, e.Part, e.Offset, c.At, c.Part, c.Offset) {
					on += e.Delta
					keep = append(keep, e)
				}
			}
			l.OnHand, l.Journal, l.Counted, l.CountedAt, l.CountPart, l.CountOffset = on, keep, true, c.At, c.Part, c.Offset
		case OpReserve:
			if pol.Reservation == ReservePartial {
				take := min(c.Qty, max(l.Available(), 0))
				l.Reserved += take
				if short := c.Qty - take; short > 0 {
					p.Shorts[c.OrderID] = Short{Qty: short}
					res.Shorted = append(res.Shorted, c.OrderID)
					res.Alerts = append(res.Alerts, p.alert(now, p.warehouseOf(l), l, KindBackordered, c.OrderID, 0, len(res.Alerts)))
				}
				break
			}
			l.Reserved += c.Qty
			if l.Available() < 0 && p.addBackorder(c.OrderID) {
				res.Backordered = append(res.Backordered, c.OrderID)
				res.Alerts = append(res.Alerts, p.alert(now, p.warehouseOf(l), l, KindBackordered, c.OrderID, 0, len(res.Alerts)))
			}
		case OpRelease:
			l.Reserved -= c.Qty - p.settle(c.OrderID, c.At)
			p.removeBackorder(c.OrderID)
		case OpCommit:
			qty := c.Qty - p.settle(c.OrderID, c.At)
			neg := c
			neg.Qty = -qty
			l.add(neg)
			l.Reserved -= qty
			p.removeBackorder(c.OrderID)
		case OpReturn:
			back := c
			if s, ok := p.Shorts[c.OrderID]; ok {
				back.Qty -= s.Qty
			} else {
				back.Qty -= c.Short
			}
			if back.Qty > 0 {
				l.add(back)
			}
		}
		p.Latest = max(p.Latest, c.At)
		res.Applied++
		// Alerts: once per crossing into a worse level.
		if w := p.warehouseOf(l); w != Pending {
			lvl := alertLevel(l.Available(), thr)
			if severity(lvl) > severity(l.Alert) {
				res.Alerts = append(res.Alerts, p.alert(now, w, l, lvl, "", thr, len(res.Alerts)))
			}
			l.Alert = lvl
		}
	}
	for part, off := range newMarks {
		p.Marks[part] = off
	}
	// Prune the journals, and the shorts of settled orders, beyond the
	// horizon.
	if pol.Horizon > 0 {
		cut := p.Latest - pol.Horizon.Milliseconds()
		maps.DeleteFunc(p.Shorts, func(_ string, s Short) bool { return s.Settled && s.SettledAt < cut })
		for _, l := range p.Warehouses {
			i := 0
			for i < len(l.Journal) && l.Journal[i].At < cut {
				i++
			}
			if i > 0 {
				l.Journal = slices.Delete(l.Journal, 0, i)
				p.Floor = max(p.Floor, cut)
			}
		}
	}
	// Backorders resolve once no warehouse is short.
	short := false
	for _, l := range p.Warehouses {
		if l.Available() < 0 {
			short = true
		}
	}
	if !short && len(p.Backorders) > 0 {
		res.Cleared = p.Backorders
		p.Backorders = nil
	}
	return res
}

// level returns the level of warehouse w, resolving Pending to the
// product's warehouse and moving pending stock into the first named one.
func (p *Product) level(w string) *Level {
	if w == Pending {
		best := ""
		for name, l := range p.Warehouses {
			if name == Pending {
				continue
			}
			if b, ok := p.Warehouses[best]; best == "" || !ok || l.Available() > b.Available() ||
				(l.Available() == b.Available() && name < best) {
				best = name
			}
		}
		w = best
	}
	if l, ok := p.Warehouses[w]; ok {
		return l
	}
	l := &Level{}
	if pend, ok := p.Warehouses[Pending]; ok && w != Pending {
		// The first named warehouse takes over what was pending.
		l = pend
		delete(p.Warehouses, Pending)
	}
	p.Warehouses[w] = l
	return l
}

// warehouseOf returns the name of level l of p.
func (p *Product) warehouseOf(l *Level) string {
	for w, x := range p.Warehouses {
		if x == l {
			return w
		}
	}
	return Pending
}

// add applies the on-hand change c (Qty signed), unless a count taken
// after it already includes it.
func (l *Level) add(c Change) {
	if l.Counted && !after(c.At, c.Part, c.Offset, l.CountedAt, l.CountPart, l.CountOffset) {
		return
	}
	l.OnHand += c.Qty
	i := len(l.Journal)
	for i > 0 && l.Journal[i-1].At > c.At {
		i--
	}
	l.Journal = slices.Insert(l.Journal, i, Entry{At: c.At, Delta: c.Qty, Part: c.Part, Offset: c.Offset})
}

// settle marks the short of order id settled at event time at and returns
// the units its line was short of (0 for an order reserved in full).
func (p *Product) settle(id string, at int64) int64 {
	s, ok := p.Shorts[id]
	if !ok || s.Settled {
		return 0
	}
	p.Shorts[id] = Short{Qty: s.Qty, Settled: true, SettledAt: at}
	return s.Qty
}

// Low returns the stock of p's warehouses at or below its threshold (out of
// stock included), by warehouse; stock not yet in a named warehouse is left
// out.
func (p *Product) Low() map[string]*Level {
	var out map[string]*Level
	for w, l := range p.Warehouses {
		if w == Pending || alertLevel(l.Available(), p.Threshold) == "" {
			continue
		}
		if out == nil {
			out = map[string]*Level{}
		}
		out[w] = l
	}
	return out
}

func (p *Product) addBackorder(id string) bool {
	i, found := slices.BinarySearch(p.Backorders, id)
	if found {
		return false
	}
	p.Backorders = slices.Insert(p.Backorders, i, id)
	return true
}

func (p *Product) removeBackorder(id string) {
	if i, found := slices.BinarySearch(p.Backorders, id); found {
		p.Backorders = slices.Delete(p.Backorders, i, i+1)
	}
}

// Alert kinds.
const (
	KindLowStock    = "low_stock"
	KindOutOfStock  = "out_of_stock"
	KindBackordered = "backordered"
)

func alertLevel(avail, threshold int64) string {
	switch {
	case avail <= 0:
		return KindOutOfStock
	case avail <= threshold:
		return KindLowStock
	}
	return ""
}

func severity(level string) int {
	switch level {
	case KindLowStock:
		return 1
	case KindOutOfStock:
		return 2
	}
	return 0
}

// alert builds an alert whose id depends only on the product, the item
// version it was raised from, its place among the fold's alerts, and what
// it says: a retried batch, folding
// the same changes into the same version, raises the same alert id.
func (p *Product) alert(now time.Time, w string, l *Level, kind, orderID string, threshold int64, seq int) *event.InventoryAlert {
	a := event.New(event.TypeInventoryAlert).(*event.InventoryAlert)
	h := sha256.New()
	for _, s := range []string{p.ID, strconv.FormatInt(p.Version, 10), strconv.Itoa(seq), w, kind, orderID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	a.EventID = "ia-" + hex.EncodeToString(h.Sum(nil)[:16])
	a.OccurredAt = now.UTC().Truncate(time.Millisecond)
	a.ProductID, a.WarehouseID, a.Kind, a.OrderID = p.ID, w, kind, orderID
	a.Available = int(l.Available())
	if kind != KindBackordered {
		t := int(threshold)
		a.Threshold = &t
	}
	return a
}
