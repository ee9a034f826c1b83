package generator

import (
	"sort"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// SessionGap is the inactivity that closes a session: a user's events belong
// to one session as long as no two consecutive ones, in event time, are more
// than SessionGap apart.
const SessionGap = 30 * time.Minute

// AnalyticsTruth is what the analytics function ends up with beyond the
// windows' counters.
type AnalyticsTruth struct {
	// Users counts the distinct users of every row of Truth.Windows, exactly
	// (an event with a user counts its user in each row it counts in), in
	// the same order.
	Users struct {
		OneMinute  []WindowUsers `json:"1m"`
		FiveMinute []WindowUsers `json:"5m"`
	} `json:"users"`
	// Sessions lists every session, by user and start.
	Sessions []Session `json:"sessions"`
	// Products holds per product views, carts, units ordered and revenue in
	// tumbling windows, under the product's category as the event gives it.
	Products struct {
		OneMinute  []ProductWindow `json:"1m"`
		FiveMinute []ProductWindow `json:"5m"`
	} `json:"products"`
}

// Session is one user's visit, defined on the set of the user's session
// events whatever order they arrive in: the user's events sorted by event
// time, cut wherever two consecutive ones are more than SessionGap apart.
//
// Session events are the user's activity (user_events) and the orders and
// payment attempts the user makes (order_created, payment_authorized,
// payment_failed); shipments, cancellations and refunds are the shop's doing
// and belong to no session. Pages counts page and product views, Orders the
// orders created, Revenue the authorized payments (cents: the items' value,
// or the total of a payment without items).
type Session struct {
	UserID  string    `json:"user_id"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Events  int64     `json:"events"`
	Pages   int64     `json:"pages"`
	Orders  int64     `json:"orders"`
	Revenue int64     `json:"revenue_cents"`
}

// Converted says whether the session placed an order.
func (s Session) Converted() bool { return s.Orders > 0 }

// WindowUsers is the number of distinct users in one window row.
type WindowUsers struct {
	Start    time.Time `json:"start"`
	Category string    `json:"category"`
	Users    int64     `json:"users"`
}

// ProductWindow holds one product's figures in one tumbling window.
type ProductWindow struct {
	Start     time.Time `json:"start"`
	Category  string    `json:"category"`
	ProductID string    `json:"product_id"`
	Views     int64     `json:"views"`
	AddToCart int64     `json:"add_to_cart"`
	Units     int64     `json:"units"`
	Revenue   int64     `json:"revenue_cents"`
}

// SessionEventOf returns the user, page, order and revenue contributions of
// e when e is a session event (see Session).
func SessionEventOf(e event.Event) (user string, pages, orders, revenue int64, ok bool) {
	switch e := e.(type) {
	case *event.PageView:
		return e.UserID, 1, 0, 0, e.UserID != ""
	case *event.ProductView:
		return e.UserID, 1, 0, 0, e.UserID != ""
	case *event.Click:
		return e.UserID, 0, 0, 0, e.UserID != ""
	case *event.Search:
		return e.UserID, 0, 0, 0, e.UserID != ""
	case *event.AddToCart:
		return e.UserID, 0, 0, 0, e.UserID != ""
	case *event.RemoveFromCart:
		return e.UserID, 0, 0, 0, e.UserID != ""
	case *event.OrderCreated:
		return e.UserID, 0, 1, 0, e.UserID != ""
	case *event.PaymentAuthorized:
		return e.UserID, 0, 0, analyticsOrderValue(&e.Order), e.UserID != ""
	case *event.PaymentFailed:
		return e.UserID, 0, 0, 0, e.UserID != ""
	}
	return "", 0, 0, 0, false
}

// analyticsOrderValue is the value of an order's items in cents, or its total when
// it lists none.
func analyticsOrderValue(o *event.Order) int64 {
	if len(o.Items) == 0 {
		if o.TotalAmount != nil {
			return o.TotalAmount.Cents()
		}
		return 0
	}
	var v int64
	for _, it := range o.Items {
		v += it.Price.Mul(it.Quantity).Cents()
	}
	return v
}

type analyticsPoint struct {
	at                     int64 // ms
	pages, orders, revenue int64
}

type analyticsUserKey struct {
	w    windowKey
	user string
}

type analyticsProductKey struct {
	size     time.Duration
	start    int64
	category string
	product  string
}

// analyticsBuilder follows what the analytics truth needs beyond the
// windows, in the same single pass over the records.
type analyticsBuilder struct {
	users    map[analyticsUserKey]struct{}
	counts   map[windowKey]int64
	points   map[string][]analyticsPoint
	products map[analyticsProductKey]*ProductWindow
}

func (a *analyticsBuilder) observe(e event.Event) {
	if a.users == nil {
		a.users = map[analyticsUserKey]struct{}{}
		a.counts = map[windowKey]int64{}
		a.points = map[string][]analyticsPoint{}
		a.products = map[analyticsProductKey]*ProductWindow{}
	}
	if e == nil {
		return
	}
	at := e.Meta().OccurredAt
	if user, pages, orders, revenue, ok := SessionEventOf(e); ok {
		a.points[user] = append(a.points[user], analyticsPoint{at: at.UnixMilli(), pages: pages, orders: orders, revenue: revenue})
	}
	user := analyticsUser(e)
	for _, c := range WindowCategories(e) {
		if user == "" {
			break
		}
		for _, size := range []time.Duration{time.Minute, 5 * time.Minute} {
			k := analyticsUserKey{windowKey{size, at.Truncate(size).UnixMilli(), c}, user}
			if _, seen := a.users[k]; !seen {
				a.users[k] = struct{}{}
				a.counts[k.w]++
			}
		}
	}
	product := func(cat, id string, f func(p *ProductWindow)) {
		if id == "" {
			return
		}
		if cat == "" {
			cat = UnknownCategory
		}
		for _, size := range []time.Duration{time.Minute, 5 * time.Minute} {
			start := at.Truncate(size)
			k := analyticsProductKey{size, start.UnixMilli(), cat, id}
			p := a.products[k]
			if p == nil {
				p = &ProductWindow{Start: start, Category: cat, ProductID: id}
				a.products[k] = p
			}
			f(p)
		}
	}
	switch e := e.(type) {
	case *event.ProductView:
		product(e.Category, e.ProductID, func(p *ProductWindow) { p.Views++ })
	case *event.AddToCart:
		product(e.Category, e.ProductID, func(p *ProductWindow) { p.AddToCart++ })
	case *event.OrderCreated:
		for _, it := range e.Items {
			product(it.Category, it.ProductID, func(p *ProductWindow) { p.Units += int64(it.Quantity) })
		}
	case *event.PaymentAuthorized:
		for _, it := range e.Items {
			v := it.Price.Mul(it.Quantity).Cents()
			product(it.Category, it.ProductID, func(p *ProductWindow) { p.Revenue += v })
		}
	}
}

// analyticsUser returns the user of a windowed event, "" when it has none.
func analyticsUser(e event.Event) string {
	switch e := e.(type) {
	case *event.PageView:
		return e.UserID
	case *event.ProductView:
		return e.UserID
	case *event.Click:
		return e.UserID
	case *event.Search:
		return e.UserID
	case *event.AddToCart:
		return e.UserID
	case *event.RemoveFromCart:
		return e.UserID
	case *event.OrderCreated:
		return e.UserID
	case *event.PaymentAuthorized:
		return e.UserID
	case *event.PaymentFailed:
		return e.UserID
	case *event.OrderShipped:
		return e.UserID
	case *event.OrderCancelled:
		return e.UserID
	case *event.RefundIssued:
		return e.UserID
	}
	return ""
}

// WindowCategories returns the window rows an event counts in: its category
// (UnknownCategory when it has none) and AllCategories for user activity;
// each category among its items (UnknownCategory for an item without one, or
// for an order without items) and AllCategories for an order lifecycle
// event; none for other events.
func WindowCategories(e event.Event) []string {
	one := func(c string) []string {
		if c == "" {
			c = UnknownCategory
		}
		return []string{c, AllCategories}
	}
	var o *event.Order
	switch e := e.(type) {
	case *event.PageView:
		return one(e.Category)
	case *event.ProductView:
		return one(e.Category)
	case *event.Click:
		return one(e.Category)
	case *event.Search:
		return one(e.Category)
	case *event.AddToCart:
		return one(e.Category)
	case *event.RemoveFromCart:
		return one(e.Category)
	case *event.OrderCreated:
		o = &e.Order
	case *event.PaymentAuthorized:
		o = &e.Order
	case *event.PaymentFailed:
		o = &e.Order
	case *event.OrderShipped:
		o = &e.Order
	case *event.OrderCancelled:
		o = &e.Order
	case *event.RefundIssued:
		o = &e.Order
	default:
		return nil
	}
	if len(o.Items) == 0 {
		return []string{UnknownCategory, AllCategories}
	}
	var cats []string
	for _, it := range o.Items {
		c := it.Category
		if c == "" {
			c = UnknownCategory
		}
		dup := false
		for _, have := range cats {
			dup = dup || have == c
		}
		if !dup {
			cats = append(cats, c)
		}
	}
	return append(cats, AllCategories)
}

// build sets t.Analytics.
func (a *analyticsBuilder) build(t *Truth) {
	out := AnalyticsTruth{Sessions: []Session{}}
	for _, ws := range []struct {
		size time.Duration
		ws   []Window
		dst  *[]WindowUsers
	}{{time.Minute, t.Windows.OneMinute, &out.Users.OneMinute}, {5 * time.Minute, t.Windows.FiveMinute, &out.Users.FiveMinute}} {
		*ws.dst = make([]WindowUsers, len(ws.ws))
		for i, w := range ws.ws {
			(*ws.dst)[i] = WindowUsers{Start: w.Start, Category: w.Category, Users: a.counts[windowKey{ws.size, w.Start.UnixMilli(), w.Category}]}
		}
	}
	out.Products.OneMinute, out.Products.FiveMinute = []ProductWindow{}, []ProductWindow{}
	gap := SessionGap.Milliseconds()
	for user, ps := range a.points {
		ps = append([]analyticsPoint(nil), ps...)
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
		var cur *Session
		for _, p := range ps {
			if cur != nil && p.at-cur.End.UnixMilli() > gap {
				out.Sessions = append(out.Sessions, *cur)
				cur = nil
			}
			if cur == nil {
				cur = &Session{UserID: user, Start: time.UnixMilli(p.at).UTC()}
			}
			cur.End = time.UnixMilli(p.at).UTC()
			cur.Events++
			cur.Pages += p.pages
			cur.Orders += p.orders
			cur.Revenue += p.revenue
		}
		if cur != nil {
			out.Sessions = append(out.Sessions, *cur)
		}
	}
	sort.Slice(out.Sessions, func(i, j int) bool {
		a, b := out.Sessions[i], out.Sessions[j]
		if a.UserID != b.UserID {
			return a.UserID < b.UserID
		}
		return a.Start.Before(b.Start)
	})
	for k, p := range a.products {
		if k.size == time.Minute {
			out.Products.OneMinute = append(out.Products.OneMinute, *p)
		} else {
			out.Products.FiveMinute = append(out.Products.FiveMinute, *p)
		}
	}
	for _, ps := range [][]ProductWindow{out.Products.OneMinute, out.Products.FiveMinute} {
		sort.Slice(ps, func(i, j int) bool {
			a, b := ps[i], ps[j]
			if !a.Start.Equal(b.Start) {
				return a.Start.Before(b.Start)
			}
			if a.Category != b.Category {
				return a.Category < b.Category
			}
			return a.ProductID < b.ProductID
		})
	}
	t.Analytics = out
}
