package generator

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// Category names used in the truth for events that carry no category.
const (
	// UnknownCategory stands for events whose shape carries no category.
	UnknownCategory = "unknown"
	// AllCategories rows count each event once, whatever its categories.
	AllCategories = "_all"
)

// Truth is what a correct pipeline ends up with after consuming every record
// generated so far. Every list is sorted, so equal runs give equal files.
type Truth struct {
	Seed        uint64    `json:"seed"`
	Start       time.Time `json:"start"`
	Records     int64     `json:"records"`
	Good        int64     `json:"good"`
	Bad         int64     `json:"bad"`
	Legacy      int64     `json:"legacy"`
	FirstEvent  time.Time `json:"first_event_at"`
	LastEvent   time.Time `json:"last_event_at"`
	Users       int       `json:"users"`
	Products    int       `json:"products"`
	Warehouses  int       `json:"warehouses"`
	FraudRate   float64   `json:"fraud_rate"`
	BadRate     float64   `json:"bad_rate"`
	LegacyShare float64   `json:"legacy_share"`

	ByTopic map[string]int64 `json:"by_topic"`
	ByType  map[string]int64 `json:"by_type"`
	ByShape map[string]int64 `json:"by_shape"`

	// BadRecords lists every bad record; BadByReason counts them.
	BadRecords  []BadRecord      `json:"bad_records"`
	BadByReason map[string]int64 `json:"bad_by_reason"`

	// Fraud lists every order of an injected fraud pattern.
	Fraud          []FraudLabel     `json:"fraud"`
	FraudByPattern map[string]int64 `json:"fraud_by_pattern"`
	Orders         int64            `json:"orders"`

	// Stock is the final stock per product and warehouse.
	Stock []StockLevel `json:"stock"`

	// OrderStates is the final lifecycle state of every order, by order id.
	OrderStates []OrderState `json:"order_states"`

	// Windows holds the tumbling-window aggregates by event time.
	Windows struct {
		OneMinute  []Window `json:"1m"`
		FiveMinute []Window `json:"5m"`
	} `json:"windows"`

	// Metrics counts pre-computed metric events by metric name: they are
	// stored as metrics, never counted as sales.
	Metrics map[string]int64 `json:"metrics"`

	// Analytics holds the sessions and per-product windows.
	Analytics AnalyticsTruth `json:"analytics"`

	// Recs holds the recommendations function's exact counts.
	Recs RecsTruth `json:"recommendations"`

	// Support holds the support function's rating aggregates and cases.
	Support SupportTruth `json:"support"`
}

// FraudLabel marks one order as part of an injected fraud pattern.
type FraudLabel struct {
	OrderID string `json:"order_id"`
	UserID  string `json:"user_id"`
	Pattern string `json:"pattern"`
}

// StockLevel is the stock of one product in one warehouse.
type StockLevel struct {
	ProductID   string `json:"product_id"`
	WarehouseID string `json:"warehouse_id"`
	OnHand      int    `json:"on_hand"`
	Reserved    int    `json:"reserved"`
	Available   int    `json:"available"`
}

// Order lifecycle states in OrderState.State. An open order holds its stock
// reserved; the generator only places orders its stock can cover.
const (
	OrderReserved  = "reserved"
	OrderShipped   = "shipped"
	OrderCancelled = "cancelled"
)

// OrderState is the final lifecycle state of one order.
type OrderState struct {
	OrderID string `json:"order_id"`
	State   string `json:"state"`
}

// Window holds the aggregates of one category in one tumbling window. Orders,
// payments, shipments, cancellations and refunds count once per category
// among their items (an item without a category counts as UnknownCategory);
// money is in cents. The AllCategories row counts each event once.
type Window struct {
	Start          time.Time `json:"start"`
	Category       string    `json:"category"`
	PageViews      int64     `json:"page_views"`
	ProductViews   int64     `json:"product_views"`
	Clicks         int64     `json:"clicks"`
	Searches       int64     `json:"searches"`
	AddToCart      int64     `json:"add_to_cart"`
	RemoveFromCart int64     `json:"remove_from_cart"`
	Orders         int64     `json:"orders"`
	Units          int64     `json:"units"`
	OrderValue     int64     `json:"order_value_cents"`
	PaidOrders     int64     `json:"paid_orders"`
	Revenue        int64     `json:"revenue_cents"`
	FailedPayments int64     `json:"failed_payments"`
	Shipped        int64     `json:"shipped"`
	Cancellations  int64     `json:"cancellations"`
	Refunds        int64     `json:"refunds"`
	Refunded       int64     `json:"refunded_cents"`
}

type windowKey struct {
	size     time.Duration
	start    int64
	category string
}

type stockKey struct{ product, warehouse string }

type truthBuilder struct {
	t       Truth
	stock   map[stockKey]*StockLevel
	orders  map[string]string
	windows map[windowKey]*Window

	analytics analyticsBuilder
	recs      recsBuilder
	support   supportBuilder
}

func newTruthBuilder(cfg Config) *truthBuilder {
	b := &truthBuilder{stock: map[stockKey]*StockLevel{}, orders: map[string]string{}, windows: map[windowKey]*Window{}}
	b.t = Truth{Seed: cfg.Seed, Start: cfg.Start, Users: cfg.Users, Products: cfg.Products, Warehouses: cfg.Warehouses,
		FraudRate: cfg.FraudRate, BadRate: cfg.BadRate, LegacyShare: cfg.LegacyShare,
		ByTopic: map[string]int64{}, ByType: map[string]int64{}, ByShape: map[string]int64{},
		BadByReason: map[string]int64{}, FraudByPattern: map[string]int64{}, Metrics: map[string]int64{},
		BadRecords: []BadRecord{}, Fraud: []FraudLabel{}}
	return b
}

func (b *truthBuilder) observe(index int64, rec *Record) {
	t := &b.t
	t.Records++
	t.ByTopic[rec.Topic]++
	if t.FirstEvent.IsZero() {
		t.FirstEvent = rec.Time
	}
	t.LastEvent = rec.Time
	if rec.Bad != nil {
		t.Bad++
		sum := sha256.Sum256(rec.Value)
		rec.Bad.Index = index
		rec.Bad.SHA256 = hex.EncodeToString(sum[:])
		t.BadRecords = append(t.BadRecords, *rec.Bad)
		t.BadByReason[string(rec.Bad.Reason)]++
		return
	}
	t.Good++
	t.ByType[string(rec.Type)]++
	shape := string(rec.Shape)
	if shape == "" {
		shape = "canonical"
	} else {
		t.Legacy++
	}
	t.ByShape[shape]++
	if rec.Type == event.TypeOrderCreated {
		t.Orders++
	}
	if rec.label != nil {
		t.Fraud = append(t.Fraud, *rec.label)
		t.FraudByPattern[rec.label.Pattern]++
	}
	for _, fx := range rec.fx {
		k := stockKey{fx.p.id, fx.p.warehouse}
		s := b.stock[k]
		if s == nil {
			s = &StockLevel{ProductID: fx.p.id, WarehouseID: fx.p.warehouse}
			b.stock[k] = s
		}
		if fx.set {
			s.OnHand = fx.onHand
		} else {
			s.OnHand += fx.onHand
		}
		s.Reserved += fx.reserved
		s.Available = s.OnHand - s.Reserved
	}
	b.orderState(rec.view)
	b.window(rec.view)
	b.analytics.observe(rec.view)
	b.recs.observe(rec.view)
	b.support.observe(rec.view)
}

// orderState follows the lifecycle of the order e belongs to, if any.
func (b *truthBuilder) orderState(e event.Event) {
	switch e := e.(type) {
	case *event.OrderCreated:
		b.orders[e.OrderID] = OrderReserved
	case *event.OrderShipped:
		b.orders[e.OrderID] = OrderShipped
	case *event.OrderCancelled:
		b.orders[e.OrderID] = OrderCancelled
	}
}

// window adds what a reader recovers from one good record to its windows.
func (b *truthBuilder) window(e event.Event) {
	at := e.Meta().OccurredAt
	add := func(cat string, f func(w *Window)) {
		if cat == "" {
			cat = UnknownCategory
		}
		for _, size := range []time.Duration{time.Minute, 5 * time.Minute} {
			start := at.Truncate(size)
			k := windowKey{size, start.UnixMilli(), cat}
			w := b.windows[k]
			if w == nil {
				w = &Window{Start: start, Category: cat}
				b.windows[k] = w
			}
			f(w)
		}
	}
	activity := func(cat string, f func(w *Window)) {
		add(cat, f)
		add(AllCategories, f)
	}
	switch e := e.(type) {
	case *event.PageView:
		activity(e.Category, func(w *Window) { w.PageViews++ })
	case *event.ProductView:
		activity(e.Category, func(w *Window) { w.ProductViews++ })
	case *event.Click:
		activity(e.Category, func(w *Window) { w.Clicks++ })
	case *event.Search:
		activity(e.Category, func(w *Window) { w.Searches++ })
	case *event.AddToCart:
		activity(e.Category, func(w *Window) { w.AddToCart++ })
	case *event.RemoveFromCart:
		activity(e.Category, func(w *Window) { w.RemoveFromCart++ })
	case *event.OrderCreated:
		b.order(&e.Order, add, func(w *Window, units int64, value int64) {
			w.Orders++
			w.Units += units
			w.OrderValue += value
		})
	case *event.PaymentAuthorized:
		b.order(&e.Order, add, func(w *Window, _ int64, value int64) {
			w.PaidOrders++
			w.Revenue += value
		})
	case *event.PaymentFailed:
		b.order(&e.Order, add, func(w *Window, _, _ int64) { w.FailedPayments++ })
	case *event.OrderShipped:
		b.order(&e.Order, add, func(w *Window, _, _ int64) { w.Shipped++ })
	case *event.OrderCancelled:
		b.order(&e.Order, add, func(w *Window, _, _ int64) { w.Cancellations++ })
	case *event.RefundIssued:
		b.order(&e.Order, add, func(w *Window, _, value int64) {
			w.Refunds++
			w.Refunded += value
		})
	case *event.Metric:
		b.t.Metrics[e.Name]++
	}
}

// order adds an order event once per category among its items, with the
// units and value of that category's items, and once to AllCategories. An
// order without items counts under UnknownCategory with its total.
func (b *truthBuilder) order(o *event.Order, add func(string, func(*Window)), f func(w *Window, units, value int64)) {
	if len(o.Items) == 0 {
		var total int64
		if o.TotalAmount != nil {
			total = o.TotalAmount.Cents()
		}
		add(UnknownCategory, func(w *Window) { f(w, 0, total) })
		add(AllCategories, func(w *Window) { f(w, 0, total) })
		return
	}
	type agg struct{ units, value int64 }
	var cats []string
	per := map[string]*agg{}
	var all agg
	for _, it := range o.Items {
		c := it.Category
		if c == "" {
			c = UnknownCategory
		}
		a := per[c]
		if a == nil {
			a = &agg{}
			per[c] = a
			cats = append(cats, c)
		}
		v := it.Price.Mul(it.Quantity).Cents()
		a.units += int64(it.Quantity)
		a.value += v
		all.units += int64(it.Quantity)
		all.value += v
	}
	for _, c := range cats {
		a := per[c]
		add(c, func(w *Window) { f(w, a.units, a.value) })
	}
	add(AllCategories, func(w *Window) { f(w, all.units, all.value) })
}

func (b *truthBuilder) build() *Truth {
	t := b.t
	t.BadRecords = append([]BadRecord{}, b.t.BadRecords...)
	t.Fraud = append([]FraudLabel{}, b.t.Fraud...)
	t.Stock = make([]StockLevel, 0, len(b.stock))
	for _, s := range b.stock {
		t.Stock = append(t.Stock, *s)
	}
	sort.Slice(t.Stock, func(i, j int) bool {
		if t.Stock[i].ProductID != t.Stock[j].ProductID {
			return t.Stock[i].ProductID < t.Stock[j].ProductID
		}
		return t.Stock[i].WarehouseID < t.Stock[j].WarehouseID
	})
	t.OrderStates = make([]OrderState, 0, len(b.orders))
	for id, st := range b.orders {
		t.OrderStates = append(t.OrderStates, OrderState{OrderID: id, State: st})
	}
	sort.Slice(t.OrderStates, func(i, j int) bool { return t.OrderStates[i].OrderID < t.OrderStates[j].OrderID })
	t.Windows.OneMinute, t.Windows.FiveMinute = []Window{}, []Window{}
	for k, w := range b.windows {
		if k.size == time.Minute {
			t.Windows.OneMinute = append(t.Windows.OneMinute, *w)
		} else {
			t.Windows.FiveMinute = append(t.Windows.FiveMinute, *w)
		}
	}
	for _, ws := range [][]Window{t.Windows.OneMinute, t.Windows.FiveMinute} {
		sort.Slice(ws, func(i, j int) bool {
			if !ws[i].Start.Equal(ws[j].Start) {
				return ws[i].Start.Before(ws[j].Start)
			}
			return ws[i].Category < ws[j].Category
		})
	}
	t.ByTopic, t.ByType, t.ByShape = cloneMap(b.t.ByTopic), cloneMap(b.t.ByType), cloneMap(b.t.ByShape)
	t.BadByReason, t.FraudByPattern, t.Metrics = cloneMap(b.t.BadByReason), cloneMap(b.t.FraudByPattern), cloneMap(b.t.Metrics)
	b.analytics.build(&t)
	t.Recs = b.recs.build()
	t.Support = b.support.build()
	return &t
}

func cloneMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
