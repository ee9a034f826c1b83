package generator

import (
	"cmp"
	"slices"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// SupportTruth is what the support function ends up with: rating aggregates
// per hour overall, per product and per category, and one support case per
// order with a problem feedback (and per problem feedback without an order).
type SupportTruth struct {
	Ratings []SupportRating `json:"ratings"`
	Cases   []SupportCase   `json:"cases"`
}

// Scopes of SupportRating.
const (
	SupportScopeAll      = "all"
	SupportScopeProduct  = "product"
	SupportScopeCategory = "category"
)

// SupportRating aggregates the ratings given in one hour (UTC): overall (Key
// ""), for one product (the one the feedback names), or for one category
// (the category of that product in the feedback's order, as the order's
// transactions tell it; UnknownCategory when none does).
type SupportRating struct {
	Hour  time.Time `json:"hour"`
	Scope string    `json:"scope"`
	Key   string    `json:"key,omitempty"`
	Count int64     `json:"count"`
	Sum   int64     `json:"sum"`
	// Dist counts the ratings 1 to 5.
	Dist [5]int64 `json:"dist"`
}

// SupportCase is one support case: of an order (OrderID set) or of one
// feedback without an order (identified by its user and time).
type SupportCase struct {
	OrderID string `json:"order_id,omitempty"`
	UserID  string `json:"user_id"`
	// OpenedAt is the time of the subject's first feedback.
	OpenedAt     time.Time `json:"opened_at"`
	Priority     string    `json:"priority"`
	Reasons      []string  `json:"reasons"`
	Feedback     int       `json:"feedback"`
	LowestRating int       `json:"lowest_rating"`
	// Order is the order context the transactions give; nil when the
	// feedback names no order or none of the order's records was seen.
	Order *SupportOrder `json:"order,omitempty"`
}

// SupportOrder is an order as its lifecycle events describe it, merged.
type SupportOrder struct {
	UserID     string            `json:"user_id"`
	Categories map[string]string `json:"categories"` // product -> category ("" unknown)
	TotalCents *int64            `json:"total_cents,omitempty"`
	Lifecycle  []string          `json:"lifecycle"`
}

// Reasons and priorities of support cases. A rating of 1 is high priority,
// 2 medium; a text reason has its own priority; a case has the highest of
// its feedback's.
var (
	supportTextReasons = map[string][]string{
		"The item arrived broken, I want a refund.": {"damaged", "refund"},
		"My package never arrived.":                 {"not_delivered"},
		"Delivery was two weeks late.":              {"late"},
		"Wrong size and support never answered.":    {"no_response", "wrong_item"},
		"I think my card was used for fraud.":       {"fraud"},
	}
	supportReasonPriority = map[string]int{"fraud": 3, "not_delivered": 3, "damaged": 2, "refund": 2, "wrong_item": 2,
		"late": 1, "no_response": 1}
	supportPriorities = [...]string{"", "low", "medium", "high"}
)

// supportBuilder follows orders and feedback for the support truth.
type supportBuilder struct {
	orders   map[string]*SupportOrder
	feedback []*event.Feedback
}

func (s *supportBuilder) observe(e event.Event) {
	var o *event.Order
	switch e := e.(type) {
	case *event.Feedback:
		s.feedback = append(s.feedback, e)
		return
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
		return
	}
	if s.orders == nil {
		s.orders = map[string]*SupportOrder{}
	}
	so := s.orders[o.OrderID]
	if so == nil {
		so = &SupportOrder{Categories: map[string]string{}}
		s.orders[o.OrderID] = so
	}
	if so.UserID == "" {
		so.UserID = o.UserID
	}
	if so.TotalCents == nil && o.TotalAmount != nil {
		c := o.TotalAmount.Cents()
		so.TotalCents = &c
	}
	for _, it := range o.Items {
		if so.Categories[it.ProductID] == "" {
			so.Categories[it.ProductID] = it.Category
		}
	}
	if t := string(e.Meta().EventType); !slices.Contains(so.Lifecycle, t) {
		so.Lifecycle = append(so.Lifecycle, t)
		slices.Sort(so.Lifecycle)
	}
}

func (s *supportBuilder) build() SupportTruth {
	type rkey struct {
		hour       int64
		scope, key string
	}
	ratings := map[rkey]*SupportRating{}
	add := func(at time.Time, scope, key string, r int) {
		h := at.Truncate(time.Hour)
		k := rkey{h.Unix(), scope, key}
		a := ratings[k]
		if a == nil {
			a = &SupportRating{Hour: h, Scope: scope, Key: key}
			ratings[k] = a
		}
		a.Count++
		a.Sum += int64(r)
		a.Dist[r-1]++
	}
	cases := map[string]*SupportCase{}
	var orderless []SupportCase
	for _, f := range s.feedback {
		o := s.orders[f.OrderID]
		if f.Rating >= 1 {
			add(f.OccurredAt, SupportScopeAll, "", f.Rating)
			if f.ProductID != "" {
				add(f.OccurredAt, SupportScopeProduct, f.ProductID, f.Rating)
			}
			cat := UnknownCategory
			if o != nil && f.OrderID != "" && o.Categories[f.ProductID] != "" {
				cat = o.Categories[f.ProductID]
			}
			add(f.OccurredAt, SupportScopeCategory, cat, f.Rating)
		}
		reasons := slices.Clone(supportTextReasons[f.Text])
		prio := 0
		for _, r := range reasons {
			prio = max(prio, supportReasonPriority[r])
		}
		if f.Rating >= 1 && f.Rating <= 2 {
			reasons = append(reasons, "low_rating")
			prio = max(prio, 4-f.Rating)
		}
		if f.OrderID == "" {
			if len(reasons) > 0 {
				slices.Sort(reasons)
				orderless = append(orderless, SupportCase{UserID: f.UserID, OpenedAt: f.OccurredAt, Priority: supportPriorities[prio],
					Reasons: reasons, Feedback: 1, LowestRating: f.Rating})
			}
			continue
		}
		c := cases[f.OrderID]
		if c == nil {
			c = &SupportCase{OrderID: f.OrderID, UserID: f.UserID, OpenedAt: f.OccurredAt, Reasons: []string{}}
			if o != nil {
				c.Order = o
				c.UserID = o.UserID
			}
			cases[f.OrderID] = c
		}
		c.Feedback++
		if f.OccurredAt.Before(c.OpenedAt) {
			c.OpenedAt = f.OccurredAt
		}
		if f.Rating >= 1 && (c.LowestRating == 0 || f.Rating < c.LowestRating) {
			c.LowestRating = f.Rating
		}
		for _, r := range reasons {
			if !slices.Contains(c.Reasons, r) {
				c.Reasons = append(c.Reasons, r)
			}
		}
		slices.Sort(c.Reasons)
		for i, p := range supportPriorities {
			if p == c.Priority {
				c.Priority = supportPriorities[max(i, prio)]
				break
			}
		}
	}
	var out SupportTruth
	out.Ratings = make([]SupportRating, 0, len(ratings))
	for _, r := range ratings {
		out.Ratings = append(out.Ratings, *r)
	}
	slices.SortFunc(out.Ratings, func(a, b SupportRating) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Key, b.Key))
	})
	out.Cases = orderless
	for _, c := range cases {
		if len(c.Reasons) > 0 {
			cc := *c
			if c.Order != nil {
				o := *c.Order
				o.Categories = make(map[string]string, len(c.Order.Categories))
				for k, v := range c.Order.Categories {
					o.Categories[k] = v
				}
				o.Lifecycle = slices.Clone(c.Order.Lifecycle)
				cc.Order = &o
			}
			out.Cases = append(out.Cases, cc)
		}
	}
	if out.Cases == nil {
		out.Cases = []SupportCase{}
	}
	slices.SortFunc(out.Cases, func(a, b SupportCase) int {
		return cmp.Or(cmp.Compare(a.OrderID, b.OrderID), cmp.Compare(a.UserID, b.UserID), a.OpenedAt.Compare(b.OpenedAt))
	})
	return out
}
