package support

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Case is a support case: opened by the first feedback of a subject that
// signals a problem (a rating of LowRating or less, or a text reason), one
// per order however often the order is mentioned, and one per problem
// feedback that names no order. It is derived from its subject (CaseOf),
// so that it ends the same whatever order its feedback and its order's
// transactions arrive in.
type Case struct {
	ID      string `json:"case_id"`
	OrderID string `json:"order_id,omitempty"`
	UserID  string `json:"user_id"`
	Status  string `json:"status"`
	// Priority is the most urgent of its feedback's priorities.
	Priority string   `json:"priority"`
	Reasons  []string `json:"reasons"`
	// LowestRating is the lowest rating among its feedback, 0 when none
	// has a rating.
	LowestRating int `json:"lowest_rating,omitempty"`
	// OpenedAt and UpdatedAt are the times of its first and last feedback.
	OpenedAt  time.Time `json:"opened_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Feedback is every feedback of the subject, by time.
	Feedback []*Entry `json:"feedback"`
	// Order is the order context; nil when ContextMissing says why not.
	Order          *OrderContext `json:"order,omitempty"`
	ContextMissing string        `json:"context_missing,omitempty"`
	// AlertID is the id of the alert raised when the case became high
	// priority.
	AlertID string `json:"alert_id,omitempty"`
}

// StatusOpen is the status of a case the function opens.
const StatusOpen = "open"

// Why a case has no order context.
const (
	NoOrderID    = "the feedback names no order"
	OrderNotSeen = "no transaction of the order has been seen"
)

// CaseOf derives the case of s, or nil when no feedback of s signals a
// problem.
func CaseOf(s *Subject) *Case {
	if s == nil || len(s.Feedback) == 0 {
		return nil
	}
	entries := make([]*Entry, 0, len(s.Feedback))
	var reasons []string
	priority := ""
	lowest := 0
	for _, e := range s.Feedback {
		entries = append(entries, e)
		for _, r := range e.Reasons {
			if !slices.Contains(reasons, r) {
				reasons = append(reasons, r)
			}
		}
		if p := Priority(e.Rating, e.Reasons); severity[p] > severity[priority] {
			priority = p
		}
		if e.Rating > 0 && (lowest == 0 || e.Rating < lowest) {
			lowest = e.Rating
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	slices.Sort(reasons)
	slices.SortFunc(entries, func(a, b *Entry) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.EventID, b.EventID))
	})
	c := &Case{ID: caseID(s.ID), Status: StatusOpen, Priority: priority, Reasons: reasons, LowestRating: lowest,
		OpenedAt: entries[0].At, UpdatedAt: entries[len(entries)-1].At, Feedback: entries, Order: s.Order}
	c.OrderID = entries[0].OrderID
	c.UserID = entries[0].UserID
	if s.Order != nil && s.Order.UserID != "" {
		c.UserID = s.Order.UserID
	}
	switch {
	case c.OrderID == "":
		c.ContextMissing = NoOrderID
	case s.Order == nil:
		c.ContextMissing = OrderNotSeen
	}
	if priority == PriorityHigh {
		c.AlertID = AlertID(c.ID)
	}
	return c
}

// caseID is the case id of a subject: "order-" + order id, or "feedback-"
// + event id.
func caseID(subject string) string {
	if id, ok := strings.CutPrefix(subject, "o#"); ok {
		return "order-" + id
	}
	return "feedback-" + strings.TrimPrefix(subject, "f#")
}

// AlertID is the id of the alert of a case: one per case, so that a
// replayed alert keeps its id.
func AlertID(caseID string) string {
	sum := sha256.Sum256([]byte("support-alert\x00" + caseID))
	return "sa-" + hex.EncodeToString(sum[:12])
}

// Equal reports whether two cases (either may be nil) are the same.
func (c *Case) Equal(o *Case) bool {
	if c == nil || o == nil {
		return c == o
	}
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}
