package analytics

import (
	"cmp"
	"math/bits"
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

// ProductCounters are a product's figures in one window.
type ProductCounters struct {
	Views, AddToCart, Units, Revenue int64
}

// UserPoints are one user's session events in a batch.
type UserPoints struct {
	User   string
	Points []Point
}

// WindowDelta is what a batch adds to one window row: its counters and its
// distinct users, sorted (byte order).
type WindowDelta struct {
	WindowKey
	Counters
	Users []string
}

// ProductDelta is what a batch adds to one product in one minute.
type ProductDelta struct {
	ID string
	ProductCounters
}

// ProductMinute is what a batch adds to the products of one category in
// one minute (start, unix ms), sorted by product id (byte order).
type ProductMinute struct {
	Start    int64
	Category string
	Products []ProductDelta
}

// SearchCount is the number of searches for one text.
type SearchCount struct {
	Query    string
	Searches int64
}

// SearchMinute is what a batch adds to the search texts of one minute,
// sorted (byte order).
type SearchMinute struct {
	Start   int64
	Queries []SearchCount
}

// Point is one session event of a user: its event time (unix ms) and what
// it adds to its session. A point may also stand for several events that
// make a session of their own (a batch's session waiting to be merged):
// then Last is the time of the last and Events their number.
type Point struct {
	At                     int64
	Pages, Orders, Revenue int64
	// Last is the time of the last event (0: At), Events the number of
	// events (0: one).
	Last, Events int64
}

// end returns the time of the point's last event.
func (p Point) end() int64 { return max(p.At, p.Last) }

// events returns the number of events the point stands for.
func (p Point) events() int64 { return max(1, p.Events) }

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
	// Windows are the window rows the batch adds to, sorted by key.
	Windows []WindowDelta
	// Products are the products of 1-minute windows (5-minute figures are
	// their sums), sorted by start and category.
	Products []ProductMinute
	// Searches are the search texts per minute, sorted by start.
	Searches []SearchMinute
	// Sessions holds the session events of each user with on-time ones,
	// in batch order, sorted by user.
	Sessions []UserPoints
	Late     []LateEvent
	Metrics  []MetricRow
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
	return NewFolding(msgs, marks, lateness).Delta()
}

// Folding is a batch being folded (see Fold) in two passes, so that its
// sessions can be stored while the rest is folded. NewFolding makes the
// first: which records count, the watermarks after them, late events,
// metrics, rejections and every user's session events. The second, the
// windows, products and searches of the events that count, runs on its
// own goroutine as the first hands it records; Delta waits for it.
type Folding struct {
	d    *Delta
	done chan struct{}
}

// onTime is an event that counts in its windows, at at (unix ms).
type onTime struct {
	e  event.Event
	at int64
}

// foldChunk is how many records the first pass hands the second at once.
const foldChunk = 256

// NewFolding makes the first pass of folding msgs onto marks and starts
// the second.
func NewFolding(msgs []*kafkabatch.Message, marks map[Partition]Mark, lateness time.Duration) *Folding {
	d := &Delta{Marks: make(map[Partition]Mark, len(marks)+8)}
	g := &Folding{d: d, done: make(chan struct{})}
	chunks := make(chan []onTime, len(msgs)/foldChunk+1)
	go func() {
		f := newFolder(len(msgs))
		for c := range chunks {
			for _, r := range c {
				f.add(r.at, r.e)
			}
		}
		f.finish(d)
		close(g.done)
	}()
	for p, m := range marks {
		d.Marks[p] = m
	}
	late := lateness.Milliseconds()
	users := make(map[string]int32, len(msgs)/4)
	var (
		points [][]Point
		names  []string
		chunk  = make([]onTime, 0, foldChunk)
		p      Partition
		mk     Mark
		open   bool
		dirty  bool
	)
	for i, m := range msgs {
		// Records come in runs of one partition: its watermark is read and
		// written once per run.
		if !open || m.Partition != p.Partition || m.Topic != p.Topic {
			if dirty {
				d.Marks[p] = mk
			}
			p = Partition{m.Topic, m.Partition}
			var ok bool
			if mk, ok = d.Marks[p]; !ok {
				mk = Mark{Offset: -1}
			}
			open, dirty = true, false
		}
		if err := storable(m.Event); err != nil {
			// Rejected again when replayed: its dead letter (keyed by the
			// record's coordinates) may not have been stored the first time.
			d.Rejected = append(d.Rejected, Rejection{i, err})
			if m.Offset > mk.Offset {
				mk.Offset, dirty = m.Offset, true
			}
			continue
		}
		if m.Offset <= mk.Offset {
			d.Skipped++
			continue
		}
		mk.Offset, dirty = m.Offset, true
		meta := m.Event.Meta()
		at := meta.OccurredAt.UnixMilli()
		d.Applied++
		if mk.MaxEventAt != 0 && at < mk.MaxEventAt-late {
			d.Late = append(d.Late, LateEvent{Partition: p, Offset: m.Offset, EventID: meta.EventID,
				Type: string(meta.EventType), At: at, MaxEventAt: mk.MaxEventAt, Value: m.Value})
			continue
		}
		mk.MaxEventAt = max(mk.MaxEventAt, at)
		if mt, ok := m.Event.(*event.Metric); ok {
			d.Metrics = append(d.Metrics, MetricRow{Partition: p, Offset: m.Offset, EventID: meta.EventID, Name: mt.Name,
				Value: mt.Value, Category: mt.Category, At: at})
			continue
		}
		if su, pages, orders, revenue, ok := generator.SessionEventOf(m.Event); ok {
			u, seen := users[su]
			if !seen {
				u = int32(len(names))
				users[su] = u
				names = append(names, su)
				points = append(points, nil)
			}
			points[u] = append(points[u], Point{At: at, Pages: pages, Orders: orders, Revenue: revenue})
		}
		if chunk = append(chunk, onTime{m.Event, at}); len(chunk) == foldChunk {
			chunks <- chunk
			chunk = make([]onTime, 0, foldChunk)
		}
	}
	chunks <- chunk
	close(chunks)
	if dirty {
		d.Marks[p] = mk
	}
	d.Sessions = make([]UserPoints, len(names))
	for i, u := range names {
		d.Sessions[i] = UserPoints{u, points[i]}
	}
	slices.SortFunc(d.Sessions, func(a, b UserPoints) int { return strings.Compare(a.User, b.User) })
	return g
}

// Sessions returns the users' session events that count, sorted by user.
func (g *Folding) Sessions() []UserPoints { return g.d.Sessions }

// Delta waits for the second pass and returns the folded batch.
func (g *Folding) Delta() *Delta {
	<-g.done
	return g.d
}

// floorTo returns the start of the window of size ms that holds at (unix
// ms): a multiple of size, also before 1970.
func floorTo(at, size int64) int64 {
	q := at / size
	if at%size < 0 {
		q--
	}
	return q * size
}

// winKey names a window row while folding: categories are interned.
type winKey struct {
	start int64
	cat   int32
	secs  int32
}

type winAcc struct {
	key winKey
	c   Counters
	// users is a set of user indexes (folder.userNames), one bit each.
	users []uint64
}

// searchKey is a search text in a one-minute window.
type searchKey struct {
	start int64
	query string
}

type prodKey struct {
	start int64
	cat   int32
	id    string
}

// orderCat is one category an order counts in, with its items' units and
// value there, and its two windows.
type orderCat struct {
	cat          int32
	units, value int64
	wins         [2]int32
}

// minuteWindows caches the window rows of one minute (and its 5 minutes)
// by category: the records of a partition come in event-time order, so
// most events fall in the minute of the one before.
type minuteWindows struct {
	m1, m5 int64
	w1, w5 []int32 // by category index; -1 for not yet looked up
}

// folder accumulates a Delta with interned categories and users, so that
// the hot path hashes one string per user and category and indexes slices
// for the rest.
type folder struct {
	cats      map[string]int32
	catNames  []string
	all       int32
	unknown   int32
	wins      map[winKey]int32
	win       []winAcc
	cache     minuteWindows
	users     map[string]int32
	userNames []string
	prods     map[prodKey]*ProductCounters
	searches  map[searchKey]int64
	idx       []int32
	ocats     []orderCat
}

func newFolder(n int) *folder {
	f := &folder{
		cats: map[string]int32{}, wins: make(map[winKey]int32, 64), users: make(map[string]int32, n/4),
		prods: make(map[prodKey]*ProductCounters, n/4), searches: map[searchKey]int64{},
		cache: minuteWindows{m1: -1, m5: -1},
	}
	f.all = f.cat(generator.AllCategories)
	f.unknown = f.cat(generator.UnknownCategory)
	return f
}

func (f *folder) cat(c string) int32 {
	if c == "" {
		return f.unknown
	}
	i, ok := f.cats[c]
	if !ok {
		i = int32(len(f.catNames))
		f.cats[c] = i
		f.catNames = append(f.catNames, c)
		f.cache.w1 = append(f.cache.w1, -1)
		f.cache.w5 = append(f.cache.w5, -1)
	}
	return i
}

func (f *folder) user(u string) int32 {
	i, ok := f.users[u]
	if !ok {
		i = int32(len(f.userNames))
		f.users[u] = i
		f.userNames = append(f.userNames, u)
	}
	return i
}

func (f *folder) window(secs int32, start int64, cat int32) int32 {
	k := winKey{start: start, cat: cat, secs: secs}
	i, ok := f.wins[k]
	if !ok {
		i = int32(len(f.win))
		f.wins[k] = i
		f.win = append(f.win, winAcc{key: k})
	}
	return i
}

// windows returns the 1- and 5-minute windows of category cat at at.
func (f *folder) windows(at int64, cat int32) (int32, int32) {
	c := &f.cache
	if m1 := floorTo(at, 60_000); m1 != c.m1 {
		c.m1 = m1
		for i := range c.w1 {
			c.w1[i] = -1
		}
		if m5 := floorTo(at, 300_000); m5 != c.m5 {
			c.m5 = m5
			for i := range c.w5 {
				c.w5[i] = -1
			}
		}
	}
	if c.w1[cat] < 0 {
		c.w1[cat] = f.window(60, c.m1, cat)
	}
	if c.w5[cat] < 0 {
		c.w5[cat] = f.window(300, c.m5, cat)
	}
	return c.w1[cat], c.w5[cat]
}

// join adds user (-1 for none) to window i.
func (f *folder) join(i, user int32) {
	if user < 0 {
		return
	}
	w := &f.win[i]
	word := int(user >> 6)
	for len(w.users) <= word {
		w.users = append(w.users, 0)
	}
	w.users[word] |= 1 << (user & 63)
}

// activity returns the windows of an activity event of category c: its
// category's and the total's, 1 and 5 minutes each; user joins them.
func (f *folder) activity(at int64, c string, user int32) []int32 {
	cat := f.cat(c)
	c1, c5 := f.windows(at, cat)
	a1, a5 := f.windows(at, f.all)
	f.idx = append(f.idx[:0], c1, c5, a1, a5)
	for _, i := range f.idx {
		f.join(i, user)
	}
	return f.idx
}

// order returns the categories an order event counts in (see
// generator.WindowCategories): each category among its items with that
// category's units and value, and the total with all of them; an item
// without a category, or an order without items, counts under "unknown".
func (f *folder) order(at int64, o *event.Order, user int32) []orderCat {
	f.ocats = f.ocats[:0]
	if len(o.Items) == 0 {
		var v int64
		if o.TotalAmount != nil {
			v = o.TotalAmount.Cents()
		}
		f.ocats = append(f.ocats, orderCat{cat: f.unknown, value: v})
	}
	var units, value int64
	for _, it := range o.Items {
		c := f.cat(it.Category)
		v := it.Price.Mul(it.Quantity).Cents()
		units += int64(it.Quantity)
		value += v
		j := 0
		for j < len(f.ocats) && f.ocats[j].cat != c {
			j++
		}
		if j == len(f.ocats) {
			f.ocats = append(f.ocats, orderCat{cat: c})
		}
		f.ocats[j].units += int64(it.Quantity)
		f.ocats[j].value += v
	}
	if len(o.Items) == 0 {
		units, value = 0, f.ocats[0].value
	}
	f.ocats = append(f.ocats, orderCat{cat: f.all, units: units, value: value})
	for j := range f.ocats {
		oc := &f.ocats[j]
		w1, w5 := f.windows(at, oc.cat)
		oc.wins = [2]int32{w1, w5}
		f.join(w1, user)
		f.join(w5, user)
	}
	return f.ocats
}

func (f *folder) product(at int64, c, id string) *ProductCounters {
	if id == "" {
		return nil
	}
	k := prodKey{start: floorTo(at, 60_000), cat: f.cat(c), id: id}
	p := f.prods[k]
	if p == nil {
		p = &ProductCounters{}
		f.prods[k] = p
	}
	return p
}

// add folds one on-time event at at (unix ms) into its windows, products
// and searches.
func (f *folder) add(at int64, e event.Event) {
	user := int32(-1)
	if u := userOf(e); u != "" {
		user = f.user(u)
	}
	switch e := e.(type) {
	case *event.PageView:
		for _, i := range f.activity(at, e.Category, user) {
			f.win[i].c.PageViews++
		}
	case *event.ProductView:
		for _, i := range f.activity(at, e.Category, user) {
			f.win[i].c.ProductViews++
		}
		if c := f.product(at, e.Category, e.ProductID); c != nil {
			c.Views++
		}
	case *event.Click:
		for _, i := range f.activity(at, e.Category, user) {
			f.win[i].c.Clicks++
		}
	case *event.Search:
		for _, i := range f.activity(at, e.Category, user) {
			f.win[i].c.Searches++
		}
		f.searches[searchKey{floorTo(at, 60_000), e.Query}]++
	case *event.AddToCart:
		for _, i := range f.activity(at, e.Category, user) {
			f.win[i].c.AddToCart++
		}
		if c := f.product(at, e.Category, e.ProductID); c != nil {
			c.AddToCart++
		}
	case *event.RemoveFromCart:
		for _, i := range f.activity(at, e.Category, user) {
			f.win[i].c.RemoveFromCart++
		}
	case *event.OrderCreated:
		for _, oc := range f.order(at, &e.Order, user) {
			for _, i := range oc.wins {
				c := &f.win[i].c
				c.Orders++
				c.Units += oc.units
				c.OrderValue += oc.value
			}
		}
		for _, it := range e.Items {
			if c := f.product(at, it.Category, it.ProductID); c != nil {
				c.Units += int64(it.Quantity)
			}
		}
	case *event.PaymentAuthorized:
		for _, oc := range f.order(at, &e.Order, user) {
			for _, i := range oc.wins {
				c := &f.win[i].c
				c.PaidOrders++
				c.Revenue += oc.value
			}
		}
		for _, it := range e.Items {
			if c := f.product(at, it.Category, it.ProductID); c != nil {
				c.Revenue += it.Price.Mul(it.Quantity).Cents()
			}
		}
	case *event.PaymentFailed:
		for _, oc := range f.order(at, &e.Order, user) {
			for _, i := range oc.wins {
				f.win[i].c.FailedPayments++
			}
		}
	case *event.OrderShipped:
		for _, oc := range f.order(at, &e.Order, user) {
			for _, i := range oc.wins {
				f.win[i].c.Shipped++
			}
		}
	case *event.OrderCancelled:
		for _, oc := range f.order(at, &e.Order, user) {
			for _, i := range oc.wins {
				f.win[i].c.Cancellations++
			}
		}
	case *event.RefundIssued:
		for _, oc := range f.order(at, &e.Order, user) {
			for _, i := range oc.wins {
				c := &f.win[i].c
				c.Refunds++
				c.Refunded += oc.value
			}
		}
	}
}

// finish sorts what f accumulated into d.
func (f *folder) finish(d *Delta) {
	// Users in byte order: each window's users come out sorted.
	order := make([]int32, len(f.userNames))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(f.userNames[a], f.userNames[b]) })
	d.Windows = make([]WindowDelta, len(f.win))
	var rank, ranks []int32 // rank[i] is user i's place in order
	for j := range f.win {
		w := &f.win[j]
		n := 0
		for _, word := range w.users {
			n += bits.OnesCount64(word)
		}
		users := make([]string, 0, n)
		if n*8 < len(order) {
			// Few of the batch's users: their ranks, sorted.
			if rank == nil {
				rank = make([]int32, len(order))
				for r, i := range order {
					rank[i] = int32(r)
				}
			}
			ranks = ranks[:0]
			for wi, word := range w.users {
				for word != 0 {
					ranks = append(ranks, rank[wi<<6+bits.TrailingZeros64(word)])
					word &= word - 1
				}
			}
			slices.Sort(ranks)
			for _, r := range ranks {
				users = append(users, f.userNames[order[r]])
			}
		} else {
			for _, i := range order {
				if int(i>>6) < len(w.users) && w.users[i>>6]&(1<<(i&63)) != 0 {
					users = append(users, f.userNames[i])
				}
			}
		}
		d.Windows[j] = WindowDelta{WindowKey: WindowKey{Seconds: w.key.secs, Start: w.key.start, Category: f.catNames[w.key.cat]},
			Counters: w.c, Users: users}
	}
	slices.SortFunc(d.Windows, func(a, b WindowDelta) int { return compareWindowKeys(a.WindowKey, b.WindowKey) })

	// Products by minute and category, then id.
	type prod struct {
		start int64
		cat   string
		p     ProductDelta
	}
	ps := make([]prod, 0, len(f.prods))
	for k, c := range f.prods {
		ps = append(ps, prod{k.start, f.catNames[k.cat], ProductDelta{k.id, *c}})
	}
	slices.SortFunc(ps, func(a, b prod) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		if c := strings.Compare(a.cat, b.cat); c != 0 {
			return c
		}
		return strings.Compare(a.p.ID, b.p.ID)
	})
	for _, p := range ps {
		if n := len(d.Products); n == 0 || d.Products[n-1].Start != p.start || d.Products[n-1].Category != p.cat {
			d.Products = append(d.Products, ProductMinute{Start: p.start, Category: p.cat})
		}
		last := &d.Products[len(d.Products)-1]
		last.Products = append(last.Products, p.p)
	}

	// Search texts by minute, then text.
	ss := make([]searchKey, 0, len(f.searches))
	for k := range f.searches {
		ss = append(ss, k)
	}
	slices.SortFunc(ss, func(a, b searchKey) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return strings.Compare(a.query, b.query)
	})
	for _, k := range ss {
		if n := len(d.Searches); n == 0 || d.Searches[n-1].Start != k.start {
			d.Searches = append(d.Searches, SearchMinute{Start: k.start})
		}
		last := &d.Searches[len(d.Searches)-1]
		last.Queries = append(last.Queries, SearchCount{k.query, f.searches[k]})
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

var errNUL = &event.Error{Reason: event.ReasonInvalidValue,
	Detail: "a text field holds a NUL character, which PostgreSQL text cannot store"}

// storable says whether every text of e that the function stores fits
// PostgreSQL text, which cannot hold NUL. The decoder refuses control
// characters already; this keeps one record from failing its batch forever.
func storable(e event.Event) error {
	nul := func(s string) bool { return strings.IndexByte(s, 0) >= 0 }
	bad := nul(e.Meta().EventID) || nul(userOf(e))
	items := func(o *event.Order) bool {
		for _, it := range o.Items {
			if nul(it.ProductID) || nul(it.Category) {
				return true
			}
		}
		return false
	}
	switch e := e.(type) {
	case *event.PageView:
		bad = bad || nul(e.Category)
	case *event.ProductView:
		bad = bad || nul(e.ProductID) || nul(e.Category)
	case *event.Click:
		bad = bad || nul(e.Category)
	case *event.Search:
		bad = bad || nul(e.Query) || nul(e.Category)
	case *event.AddToCart:
		bad = bad || nul(e.ProductID) || nul(e.Category)
	case *event.RemoveFromCart:
		bad = bad || nul(e.Category)
	case *event.OrderCreated:
		bad = bad || items(&e.Order)
	case *event.PaymentAuthorized:
		bad = bad || items(&e.Order)
	case *event.PaymentFailed:
		bad = bad || items(&e.Order)
	case *event.OrderShipped:
		bad = bad || items(&e.Order)
	case *event.OrderCancelled:
		bad = bad || items(&e.Order)
	case *event.RefundIssued:
		bad = bad || items(&e.Order)
	case *event.Metric:
		bad = bad || nul(e.Name) || nul(e.Category)
	}
	if bad {
		return errNUL
	}
	return nil
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
