package support

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// UnknownCategory is the category a rating counts under when its order
// context names none (no order id, no transaction of the order seen, or
// producer shapes without categories).
const UnknownCategory = "unknown"

// Subject is everything the function knows about one order (ID "o#" +
// order id): its context from the transactions topic and every feedback
// that names it; or about one feedback that names no order (ID "f#" +
// event id). Everything the function writes (rating aggregates, the case)
// is a function of subjects; see Contributions and CaseOf.
type Subject struct {
	ID      string `json:"-"`
	Version int64  `json:"-"`
	// Order is the order context, nil until a transaction of the order is
	// seen.
	Order *OrderContext `json:"order,omitempty"`
	// Feedback holds every feedback of the subject by event id.
	Feedback map[string]*Entry `json:"feedback,omitempty"`
}

// OrderContext is what the transactions topic says about an order, merged
// from every lifecycle event of it (each repeats what it knows).
type OrderContext struct {
	UserID        string           `json:"user_id,omitempty"`
	Items         map[string]*Line `json:"items,omitempty"`
	TotalCents    *int64           `json:"total_cents,omitempty"`
	Currency      string           `json:"currency,omitempty"`
	PaymentMethod string           `json:"payment_method,omitempty"`
	// Lifecycle is the set of event types seen (order_created,
	// order_shipped, refund_issued...), sorted.
	Lifecycle []string `json:"lifecycle,omitempty"`
}

// Line is one product of an order.
type Line struct {
	Quantity int    `json:"quantity"`
	Category string `json:"category,omitempty"`
}

// Entry is one feedback as stored: its text capped at MaxStoredText bytes.
type Entry struct {
	EventID   string    `json:"event_id"`
	UserID    string    `json:"user_id"`
	OrderID   string    `json:"order_id,omitempty"`
	ProductID string    `json:"product_id,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	Rating    int       `json:"rating,omitempty"`
	At        time.Time `json:"at"`
	Text      string    `json:"text,omitempty"`
	TextBytes int       `json:"text_bytes,omitempty"`
	Reasons   []string  `json:"reasons,omitempty"`
	// Shape is the producer shape the feedback came in ("" canonical).
	Shape string `json:"shape,omitempty"`
}

// OrderSubject and FeedbackSubject name subjects.
func OrderSubject(orderID string) string    { return "o#" + orderID }
func FeedbackSubject(eventID string) string { return "f#" + eventID }

// SubjectOf returns the subject a feedback belongs to.
func SubjectOf(f *event.Feedback) string {
	if f.OrderID != "" {
		return OrderSubject(f.OrderID)
	}
	return FeedbackSubject(f.EventID)
}

// NewEntry makes the stored form of a feedback.
func NewEntry(f *event.Feedback) *Entry {
	return &Entry{EventID: f.EventID, UserID: f.UserID, OrderID: f.OrderID, ProductID: f.ProductID, Channel: f.Channel,
		Rating: f.Rating, At: f.OccurredAt.UTC(), Text: Cap(f.Text, MaxStoredText), TextBytes: len(f.Text),
		Reasons: Reasons(f.Rating, f.Text), Shape: string(f.Origin.Shape)}
}

// Clone returns a deep copy of s.
func (s *Subject) Clone() *Subject {
	c := &Subject{ID: s.ID, Version: s.Version}
	if s.Order != nil {
		o := *s.Order
		o.Items = make(map[string]*Line, len(s.Order.Items))
		for k, v := range s.Order.Items {
			l := *v
			o.Items[k] = &l
		}
		if s.Order.TotalCents != nil {
			t := *s.Order.TotalCents
			o.TotalCents = &t
		}
		o.Lifecycle = slices.Clone(s.Order.Lifecycle)
		c.Order = &o
	}
	if s.Feedback != nil {
		c.Feedback = make(map[string]*Entry, len(s.Feedback))
		for k, v := range s.Feedback {
			e := *v
			e.Reasons = slices.Clone(v.Reasons)
			c.Feedback[k] = &e
		}
	}
	return c
}

// AddFeedback adds e unless the subject has it already (a replay).
func (s *Subject) AddFeedback(e *Entry) {
	if _, ok := s.Feedback[e.EventID]; ok {
		return
	}
	if s.Feedback == nil {
		s.Feedback = map[string]*Entry{}
	}
	s.Feedback[e.EventID] = e
}

// MergeOrder merges what an order lifecycle event says about its order into
// the context. Merging is a join: idempotent, commutative and associative,
// so the context ends the same whatever order, and however often, the
// events arrive. Where two events disagree (they do not in practice) the
// smaller value wins, to stay deterministic.
func (s *Subject) MergeOrder(t event.Type, o *event.Order) {
	if s.Order == nil {
		s.Order = &OrderContext{}
	}
	c := s.Order
	c.UserID = join(c.UserID, o.UserID)
	c.Currency = join(c.Currency, o.Currency)
	c.PaymentMethod = join(c.PaymentMethod, o.PaymentMethod)
	if o.TotalAmount != nil {
		v := o.TotalAmount.Cents()
		if c.TotalCents == nil || v < *c.TotalCents {
			c.TotalCents = &v
		}
	}
	for _, it := range o.Items {
		if c.Items == nil {
			c.Items = map[string]*Line{}
		}
		l := c.Items[it.ProductID]
		if l == nil {
			l = &Line{}
			c.Items[it.ProductID] = l
		}
		l.Quantity = max(l.Quantity, it.Quantity)
		l.Category = join(l.Category, it.Category)
	}
	if !slices.Contains(c.Lifecycle, string(t)) {
		c.Lifecycle = append(c.Lifecycle, string(t))
		slices.Sort(c.Lifecycle)
	}
}

// join keeps a non-empty value; of two, the smaller.
func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a <= b:
		return a
	}
	return b
}

// Equal reports whether s and o hold the same state (versions aside).
func (s *Subject) Equal(o *Subject) bool {
	a, _ := json.Marshal(s)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}

// Scopes of rating aggregates.
const (
	ScopeAll      = "all"
	ScopeProduct  = "product"
	ScopeCategory = "category"
)

// RatingKey names one rating aggregate: a scope, the product or category
// ("" for ScopeAll), and the hour (UTC) the ratings were given in.
type RatingKey struct {
	Scope string
	Key   string
	Hour  int64 // Unix seconds of the hour's start
}

// Ratings is a rating aggregate, or a change of one: how many ratings, their
// sum, and how many of each value 1-5.
type Ratings struct {
	Count int64
	Sum   int64
	Dist  [5]int64
}

// Add adds n ratings of value r (n may be negative).
func (a *Ratings) Add(r int, n int64) {
	a.Count += n
	a.Sum += n * int64(r)
	a.Dist[r-1] += n
}

// Zero reports whether a changes nothing.
func (a Ratings) Zero() bool { return a == Ratings{} }

// Mean is the mean rating, 0 when there is none.
func (a Ratings) Mean() float64 {
	if a.Count == 0 {
		return 0
	}
	return float64(a.Sum) / float64(a.Count)
}

// Contributions returns what s adds to the rating aggregates: each rated
// feedback counts once overall, once for the product it names, and once
// for that product's category in the order context (UnknownCategory when
// the context does not give one), in the hour it was given.
func (s *Subject) Contributions() map[RatingKey]*Ratings {
	out := map[RatingKey]*Ratings{}
	if s == nil {
		return out
	}
	add := func(k RatingKey, r int) {
		a := out[k]
		if a == nil {
			a = &Ratings{}
			out[k] = a
		}
		a.Add(r, 1)
	}
	for _, e := range s.Feedback {
		if e.Rating < 1 || e.Rating > 5 {
			continue
		}
		hour := e.At.Truncate(time.Hour).Unix()
		add(RatingKey{Scope: ScopeAll, Hour: hour}, e.Rating)
		if e.ProductID != "" {
			add(RatingKey{Scope: ScopeProduct, Key: e.ProductID, Hour: hour}, e.Rating)
		}
		add(RatingKey{Scope: ScopeCategory, Key: s.categoryOf(e.ProductID), Hour: hour}, e.Rating)
	}
	return out
}

func (s *Subject) categoryOf(productID string) string {
	if s.Order != nil && productID != "" {
		if l := s.Order.Items[productID]; l != nil && l.Category != "" {
			return l.Category
		}
	}
	return UnknownCategory
}

// Diff returns next's contributions minus prev's, without zero changes.
func Diff(prev, next *Subject) map[RatingKey]Ratings {
	out := map[RatingKey]Ratings{}
	for k, a := range next.Contributions() {
		out[k] = *a
	}
	for k, a := range prev.Contributions() {
		d := out[k]
		d.Count -= a.Count
		d.Sum -= a.Sum
		for i := range d.Dist {
			d.Dist[i] -= a.Dist[i]
		}
		out[k] = d
	}
	maps.DeleteFunc(out, func(_ RatingKey, d Ratings) bool { return d.Zero() })
	return out
}
