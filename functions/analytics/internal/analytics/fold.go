package analytics

import (
	"cmp"
	"crypto/sha256"
	"slices"
	"strings"
	"time"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// WindowSizes are the tumbling windows, by event time.
var WindowSizes = []time.Duration{time.Minute, 5 * time.Minute}

// SessionGap closes a session: see generator.Session for the definition.
const SessionGap = generator.SessionGap

// Partition is a topic partition.
type Partition struct {
	Topic     string
	Partition int32
}

func comparePartitions(a, b Partition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// Mark is a partition's watermark: the offset of the last record applied
// (-1 for none) and the latest event time seen on it (unix ms, 0 for none),
// the reference lateness is measured against.
type Mark struct {
	Offset     int64
	MaxEventAt int64
}

// WindowKey names one row of a window table: the window's size in seconds,
// its start (unix ms) and a category.
type WindowKey struct {
	Seconds  int32
	Start    int64
	Category string
}

// Counters are the additive figures of one window row. Money is in cents.
type Counters struct {
	PageViews, ProductViews, Clicks, Searches, AddToCart, RemoveFromCart int64
	Orders, Units, OrderValue, PaidOrders, Revenue, FailedPayments       int64
	Shipped, Cancellations, Refunds, Refunded                            int64
}

// UserKey is a user seen in a window row.
type UserKey struct {
	WindowKey
	User string
}

// ProductKey is a product in a window row.
type ProductKey struct {
	WindowKey
	Product string
}

// ProductCounters are a product's figures in one window.
type ProductCounters struct {
	Views, AddToCart, Units, Revenue int64
}

// SearchKey is a search text in a one-minute window.
type SearchKey struct {
	Start int64
	Query string
}

// Point is one session event of a user: its event time (unix ms) and what
// it adds to its session.
type Point struct {
	At                     int64
	Pages, Orders, Revenue int64
}

// LateEvent is an event older than the lateness bound behind its
// partition's latest event time.
type LateEvent struct {
	Partition
	Offset     int64
	EventID    string
	Type       string
	At         int64
	MaxEventAt int64
	Value      []byte
}

// MetricRow is a pre-computed metric a producer sent.
type MetricRow struct {
	Partition
	Offset   int64
	EventID  string
	Name     string
	Value    float64
	Category string
	At       int64
}

// Rejection is a message the function refuses, by its index in the batch.
type Rejection struct {
	Index int
	Err   error
}

// Delta is a batch folded in memory: everything it adds, once.
type Delta struct {
	Windows map[WindowKey]*Counters
	Users   map[UserKey]struct{}
	// Products holds the products of 1-minute windows (5-minute figures
	// are their sums).
	Products map[ProductKey]*ProductCounters
	Searches map[SearchKey]int64
	// Points holds each user's session events, in batch order.
	Points  map[string][]Point
	Late    []LateEvent
	Metrics []MetricRow
	// Marks are the partitions' watermarks after the batch.
	Marks    map[Partition]Mark
	Rejected []Rejection
	// Applied counts the records folded (late ones included), Skipped those
	// at or below their partition's watermark.
	Applied, Skipped int
}

// Fold folds msgs, in partition order, onto the watermarks marks (a
// partition absent from marks has none): records at or below their
// partition's watermark are skipped, events more than lateness older than
// the latest event time seen on their partition go to Late, the others add
// to the windows, products, searches and sessions. marks is not modified.
func Fold(msgs []*kafkabatch.Message, marks map[Partition]Mark, lateness time.Duration) *Delta {
	n := len(msgs)
	d := &Delta{
		Windows: make(map[WindowKey]*Counters, n/16), Users: make(map[UserKey]struct{}, n/2),
		Products: make(map[ProductKey]*ProductCounters, n/4), Searches: make(map[SearchKey]int64, n/16),
		Points: make(map[string][]Point, n/8), Marks: make(map[Partition]Mark, len(marks)),
	}
	for p, m := range marks {
		d.Marks[p] = m
	}
	late := lateness.Milliseconds()
	for i, m := range msgs {
		p := Partition{m.Topic, m.Partition}
		mk, ok := d.Marks[p]
		if !ok {
			mk = Mark{Offset: -1}
		}
		if !storable(m.Event) {
			// Rejected again when replayed: its dead letter (keyed by the
			// record's coordinates) may not have been stored the first time.
			d.Rejected = append(d.Rejected, Rejection{i, &event.Error{Reason: event.ReasonInvalidValue,
				Detail: "a text field holds a NUL character, which PostgreSQL text cannot store"}})
			if m.Offset > mk.Offset {
				mk.Offset = m.Offset
				d.Marks[p] = mk
			}
			continue
		}
		if m.Offset <= mk.Offset {
			d.Skipped++
			continue
		}
		mk.Offset = m.Offset
		at := m.Event.Meta().OccurredAt.UnixMilli()
		switch {
		case mk.MaxEventAt != 0 && at < mk.MaxEventAt-late:
			d.Applied++
			d.Late = append(d.Late, LateEvent{Partition: p, Offset: m.Offset, EventID: m.Event.Meta().EventID,
				Type: string(m.Event.Meta().EventType), At: at, MaxEventAt: mk.MaxEventAt, Value: m.Value})
		default:
			d.Applied++
			d.add(p, m.Offset, m.Event)
			mk.MaxEventAt = max(mk.MaxEventAt, at)
		}
		d.Marks[p] = mk
	}
	return d
}

// add folds one on-time event.
func (d *Delta) add(p Partition, offset int64, e event.Event) {
	meta := e.Meta()
	at := meta.OccurredAt
	if mt, ok := e.(*event.Metric); ok {
		d.Metrics = append(d.Metrics, MetricRow{Partition: p, Offset: offset, EventID: meta.EventID, Name: mt.Name,
			Value: mt.Value, Category: mt.Category, At: at.UnixMilli()})
		return
	}
	cats := generator.WindowCategories(e)
	if len(cats) == 0 {
		return
	}
	keys := func(cat string, f func(k WindowKey)) {
		for _, size := range WindowSizes {
			f(WindowKey{Seconds: int32(size / time.Second), Start: at.Truncate(size).UnixMilli(), Category: cat})
		}
	}
	counters := func(k WindowKey) *Counters {
		c := d.Windows[k]
		if c == nil {
			c = &Counters{}
			d.Windows[k] = c
		}
		return c
	}
	// Activity: one category and the total.
	activity := func(f func(c *Counters)) {
		for _, cat := range cats {
			keys(cat, func(k WindowKey) { f(counters(k)) })
		}
	}
	// Orders: each category among the items with its items' units and
	// value, and the total with all of them.
	order := func(o *event.Order, f func(c *Counters, units, value int64)) {
		units, value := map[string]int64{}, map[string]int64{}
		if len(o.Items) == 0 {
			if o.TotalAmount != nil {
				value[generator.UnknownCategory] = o.TotalAmount.Cents()
				value[generator.AllCategories] = o.TotalAmount.Cents()
			}
		}
		for _, it := range o.Items {
			c := it.Category
			if c == "" {
				c = generator.UnknownCategory
			}
			v := it.Price.Mul(it.Quantity).Cents()
			units[c] += int64(it.Quantity)
			value[c] += v
			units[generator.AllCategories] += int64(it.Quantity)
			value[generator.AllCategories] += v
		}
		for _, cat := range cats {
			keys(cat, func(k WindowKey) { f(counters(k), units[cat], value[cat]) })
		}
	}
	product := func(cat, id string, f func(c *ProductCounters)) {
		if id == "" {
			return
		}
		if cat == "" {
			cat = generator.UnknownCategory
		}
		// Minutes only: the 5-minute figures are their sums.
		pk := ProductKey{WindowKey{Seconds: 60, Start: at.Truncate(time.Minute).UnixMilli(), Category: cat}, id}
		c := d.Products[pk]
		if c == nil {
			c = &ProductCounters{}
			d.Products[pk] = c
		}
		f(c)
	}
	switch e := e.(type) {
	case *event.PageView:
		activity(func(c *Counters) { c.PageViews++ })
	case *event.ProductView:
		activity(func(c *Counters) { c.ProductViews++ })
		product(e.Category, e.ProductID, func(c *ProductCounters) { c.Views++ })
	case *event.Click:
		activity(func(c *Counters) { c.Clicks++ })
	case *event.Search:
		activity(func(c *Counters) { c.Searches++ })
		d.Searches[SearchKey{at.Truncate(time.Minute).UnixMilli(), e.Query}]++
	case *event.AddToCart:
		activity(func(c *Counters) { c.AddToCart++ })
		product(e.Category, e.ProductID, func(c *ProductCounters) { c.AddToCart++ })
	case *event.RemoveFromCart:
		activity(func(c *Counters) { c.RemoveFromCart++ })
	case *event.OrderCreated:
		order(&e.Order, func(c *Counters, units, value int64) { c.Orders++; c.Units += units; c.OrderValue += value })
		for _, it := range e.Items {
			product(it.Category, it.ProductID, func(c *ProductCounters) { c.Units += int64(it.Quantity) })
		}
	case *event.PaymentAuthorized:
		order(&e.Order, func(c *Counters, _, value int64) { c.PaidOrders++; c.Revenue += value })
		for _, it := range e.Items {
			v := it.Price.Mul(it.Quantity).Cents()
			product(it.Category, it.ProductID, func(c *ProductCounters) { c.Revenue += v })
		}
	case *event.PaymentFailed:
		order(&e.Order, func(c *Counters, _, _ int64) { c.FailedPayments++ })
	case *event.OrderShipped:
		order(&e.Order, func(c *Counters, _, _ int64) { c.Shipped++ })
	case *event.OrderCancelled:
		order(&e.Order, func(c *Counters, _, _ int64) { c.Cancellations++ })
	case *event.RefundIssued:
		order(&e.Order, func(c *Counters, _, value int64) { c.Refunds++; c.Refunded += value })
	}
	if user := userOf(e); user != "" {
		for _, cat := range cats {
			keys(cat, func(k WindowKey) { d.Users[UserKey{k, user}] = struct{}{} })
		}
	}
	if user, pages, orders, revenue, ok := generator.SessionEventOf(e); ok {
		d.Points[user] = append(d.Points[user], Point{At: at.UnixMilli(), Pages: pages, Orders: orders, Revenue: revenue})
	}
}

// userOf returns the user of an event, "" when it has none.
func userOf(e event.Event) string {
	if k, ok := e.(interface{ Key() string }); ok {
		switch e.(type) {
		case *event.Metric:
			return ""
		}
		return k.Key()
	}
	return ""
}

// storable says whether every text of e that the function stores fits
// PostgreSQL text (which cannot hold NUL). The decoder refuses control
// characters already; this keeps one record from failing its batch forever.
func storable(e event.Event) bool {
	nul := func(ss ...string) bool {
		for _, s := range ss {
			if strings.IndexByte(s, 0) >= 0 {
				return true
			}
		}
		return false
	}
	if nul(e.Meta().EventID, userOf(e)) {
		return false
	}
	items := func(o *event.Order) bool {
		for _, it := range o.Items {
			if nul(it.ProductID, it.Category) {
				return false
			}
		}
		return true
	}
	switch e := e.(type) {
	case *event.PageView:
		return !nul(e.Category)
	case *event.ProductView:
		return !nul(e.ProductID, e.Category)
	case *event.Click:
		return !nul(e.Category)
	case *event.Search:
		return !nul(e.Query, e.Category)
	case *event.AddToCart:
		return !nul(e.ProductID, e.Category)
	case *event.RemoveFromCart:
		return !nul(e.Category)
	case *event.OrderCreated:
		return items(&e.Order)
	case *event.PaymentAuthorized:
		return items(&e.Order)
	case *event.PaymentFailed:
		return items(&e.Order)
	case *event.OrderShipped:
		return items(&e.Order)
	case *event.OrderCancelled:
		return items(&e.Order)
	case *event.RefundIssued:
		return items(&e.Order)
	case *event.Metric:
		return !nul(e.Name, e.Category)
	}
	return true
}

// UserRange is the span of a user's session events in a batch.
type UserRange struct {
	User     string
	From, To int64 // unix ms
}

// UserRanges returns, sorted by user, the span of every user's session
// events in msgs: the stored sessions a batch can touch lie within
// SessionGap of it.
func UserRanges(msgs []*kafkabatch.Message) []UserRange {
	idx := map[string]int{}
	var out []UserRange
	for _, m := range msgs {
		user, _, _, _, ok := generator.SessionEventOf(m.Event)
		if !ok {
			continue
		}
		at := m.Event.Meta().OccurredAt.UnixMilli()
		i, seen := idx[user]
		if !seen {
			idx[user] = len(out)
			out = append(out, UserRange{User: user, From: at, To: at})
			continue
		}
		out[i].From, out[i].To = min(out[i].From, at), max(out[i].To, at)
	}
	slices.SortFunc(out, func(a, b UserRange) int { return cmp.Compare(a.User, b.User) })
	return out
}

// Partitions returns the partitions of msgs, sorted.
func Partitions(msgs []*kafkabatch.Message) []Partition {
	var out []Partition
	for _, m := range msgs {
		p := Partition{m.Topic, m.Partition}
		if len(out) == 0 || out[len(out)-1] != p {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, comparePartitions)
	return slices.Compact(out)
}

func queryHash(q string) []byte {
	h := sha256.Sum256([]byte(q))
	return h[:]
}
