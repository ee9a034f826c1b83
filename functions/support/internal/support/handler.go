package support

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name in dead letters, logs and metrics.
const Name = "support"

// ErrConflict says a subject changed between its read and its write.
var ErrConflict = errors.New("support: subject changed concurrently")

// Change is one subject's new state and what it changes elsewhere.
type Change struct {
	// Prev is the version the change was computed from (0: the subject
	// was absent); Next.Version is Prev+1.
	Prev int64
	Next *Subject
	// Ratings are the changes of rating aggregates.
	Ratings map[RatingKey]Ratings
	// Case is the subject's case as it now is, nil when it did not change.
	Case *Case
}

// Store keeps subjects, rating aggregates and cases.
//
// Subjects returns the stored subjects among ids, leaving absent ones out.
// Commit writes each change atomically with its rating changes and its
// case, only if the stored subject is still at the change's Prev version;
// it returns the ids of the subjects whose version had moved, whose
// changes it did not write, and writes every other change or returns an
// error. Implementations must be safe for concurrent use.
type Store interface {
	Subjects(ctx context.Context, ids []string) (map[string]*Subject, error)
	Commit(ctx context.Context, changes []*Change) (conflicts []string, err error)
}

// Handler applies batches of feedback and order lifecycle events.
type Handler struct {
	store    Store
	alerts   Publisher
	logger   *slog.Logger
	metrics  io.Writer
	now      func() time.Time
	attempts int

	stats Counters
}

// Counters are running totals of a Handler, for tests and benchmarks.
type Counters struct {
	Records, Feedback, OrderEvents, Ignored atomic.Int64
	Changes, Conflicts, Cases, Alerts       atomic.Int64
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.logger = l } }

// WithMetrics sets where one CloudWatch embedded-metric-format line per batch
// is written. Default: nowhere.
func WithMetrics(w io.Writer) Option { return func(h *Handler) { h.metrics = w } }

// WithClock sets the clock of the metrics. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// New returns a Handler that keeps its state in store and publishes alerts
// of high-priority cases to alerts.
func New(store Store, alerts Publisher, opts ...Option) *Handler {
	h := &Handler{store: store, alerts: alerts, now: time.Now, attempts: 8}
	for _, o := range opts {
		o(h)
	}
	if h.logger == nil {
		h.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h
}

// Stats returns the handler's running totals.
func (h *Handler) Stats() *Counters { return &h.stats }

var _ kafkabatch.Handler = (*Handler)(nil)

type orderEvent struct {
	typ   event.Type
	order *event.Order
}

// MaxFeedback is the most feedback one subject keeps. Further mentions of
// an order are dead-lettered (reason "rejected"): a subject's change, with
// up to three rating items per feedback, must fit one transaction.
const MaxFeedback = 30

// work is what one batch brings to one subject.
type work struct {
	msgs     []*kafkabatch.Message
	feedback []*Entry
	fbMsgs   []*kafkabatch.Message // the message of each feedback
	orders   []orderEvent
}

// apply returns s with the batch's events merged in, and the feedback
// messages it refused because the subject is full.
func (w *work) apply(id string, s *Subject) (*Subject, []*kafkabatch.Message) {
	if s == nil {
		s = &Subject{ID: id}
	} else {
		s = s.Clone()
	}
	for _, o := range w.orders {
		s.MergeOrder(o.typ, o.order)
	}
	var full []*kafkabatch.Message
	for i, e := range w.feedback {
		if _, ok := s.Feedback[e.EventID]; !ok && len(s.Feedback) >= MaxFeedback {
			full = append(full, w.fbMsgs[i])
			continue
		}
		s.AddFeedback(e)
	}
	return s, full
}

// Handle implements kafkabatch.Handler. It groups the batch's events by
// subject, merges them into each stored subject, and commits each changed
// subject with the difference it makes to the rating aggregates and its
// case, conditional on the subject's version; a subject another invocation
// changed meanwhile is reloaded and merged again. Alerts of cases that
// became high priority are published before the commit that records them.
func (h *Handler) Handle(ctx context.Context, b *kafkabatch.Batch) error {
	msgs := b.Messages()
	works := map[string]*work{}
	var ids []string
	get := func(id string) *work {
		w := works[id]
		if w == nil {
			w = &work{}
			works[id] = w
			ids = append(ids, id)
		}
		return w
	}
	var feedback, orders int
	for _, m := range msgs {
		switch e := m.Event.(type) {
		case *event.Feedback:
			w := get(SubjectOf(e))
			w.msgs = append(w.msgs, m)
			w.feedback = append(w.feedback, NewEntry(e))
			w.fbMsgs = append(w.fbMsgs, m)
			feedback++
		default:
			t, o := orderOf(m.Event)
			if o == nil || o.OrderID == "" {
				h.stats.Ignored.Add(1)
				continue
			}
			w := get(OrderSubject(o.OrderID))
			w.msgs = append(w.msgs, m)
			w.orders = append(w.orders, orderEvent{t, o})
			orders++
		}
	}
	h.stats.Records.Add(int64(len(msgs)))
	h.stats.Feedback.Add(int64(feedback))
	h.stats.OrderEvents.Add(int64(orders))
	if len(ids) == 0 {
		h.emit(len(msgs), 0, 0, result{})
		return nil
	}
	slices.Sort(ids)
	stored, err := h.store.Subjects(ctx, ids)
	if err != nil {
		return fmt.Errorf("load %d subjects: %w", len(ids), err)
	}
	var res result
	pending := ids
	full := map[string][]*kafkabatch.Message{}
	for attempt := 1; len(pending) > 0; attempt++ {
		changes, alerts := h.plan(pending, works, stored, full)
		if len(alerts) > 0 {
			if err := h.alerts.Publish(ctx, alerts); err != nil {
				return fmt.Errorf("publish %d alerts: %w", len(alerts), err)
			}
		}
		conflicts, err := h.store.Commit(ctx, changes)
		if err != nil {
			return fmt.Errorf("commit %d subjects: %w", len(changes), err)
		}
		res.count(changes, alerts, conflicts)
		h.logCases(ctx, changes, conflicts, stored)
		if len(conflicts) == 0 {
			break
		}
		h.stats.Conflicts.Add(int64(len(conflicts)))
		if attempt >= h.attempts {
			for _, id := range conflicts {
				for _, m := range works[id].msgs {
					b.Fail(m, fmt.Errorf("subject %s: %w", id, ErrConflict))
				}
			}
			res.failed = len(conflicts)
			break
		}
		slices.Sort(conflicts)
		got, err := h.store.Subjects(ctx, conflicts)
		if err != nil {
			return fmt.Errorf("reload %d subjects: %w", len(conflicts), err)
		}
		for _, id := range conflicts {
			if s, ok := got[id]; ok {
				stored[id] = s
			} else {
				delete(stored, id)
			}
		}
		pending = conflicts
	}
	for id, ms := range full {
		for _, m := range ms {
			b.Reject(m, &event.Error{Reason: event.ReasonRejected, Field: "order_id",
				Detail: fmt.Sprintf("subject %s holds %d feedback already", id, MaxFeedback)})
		}
	}
	h.stats.Changes.Add(int64(res.changes))
	h.stats.Cases.Add(int64(res.cases))
	h.stats.Alerts.Add(int64(res.alerts))
	h.emit(len(msgs), feedback, orders, res)
	return nil
}

// plan computes the change of every subject in ids whose state the batch
// changes, and the alerts of the cases that become high priority; it
// records in full the feedback each subject refused.
func (h *Handler) plan(ids []string, works map[string]*work, stored map[string]*Subject, full map[string][]*kafkabatch.Message) ([]*Change, []*Alert) {
	var changes []*Change
	var alerts []*Alert
	for _, id := range ids {
		prev := stored[id]
		next, refused := works[id].apply(id, prev)
		full[id] = refused
		if prev != nil && next.Equal(prev) {
			continue // a replay
		}
		c := &Change{Next: next, Ratings: Diff(prev, next)}
		if prev != nil {
			c.Prev = prev.Version
		}
		next.Version = c.Prev + 1
		oldCase, newCase := CaseOf(prev), CaseOf(next)
		if !newCase.Equal(oldCase) {
			c.Case = newCase
			if newCase.Priority == PriorityHigh && (oldCase == nil || oldCase.Priority != PriorityHigh) {
				alerts = append(alerts, NewAlert(newCase))
			}
		}
		changes = append(changes, c)
	}
	return changes, alerts
}

// result counts what a batch wrote.
type result struct {
	changes, ratings, cases, alerts, failed int
}

func (r *result) count(changes []*Change, alerts []*Alert, conflicts []string) {
	lost := map[string]bool{}
	for _, id := range conflicts {
		lost[id] = true
	}
	for _, c := range changes {
		if lost[c.Next.ID] {
			continue
		}
		r.changes++
		r.ratings += len(c.Ratings)
		if c.Case != nil {
			r.cases++
		}
	}
	r.alerts += len(alerts)
}

// logCases logs each case the batch opened or raised, with a capped
// excerpt of the feedback text that raised it.
func (h *Handler) logCases(ctx context.Context, changes []*Change, conflicts []string, stored map[string]*Subject) {
	for _, c := range changes {
		if c.Case == nil || slices.Contains(conflicts, c.Next.ID) {
			continue
		}
		old := CaseOf(stored[c.Next.ID])
		if old != nil && old.Priority == c.Case.Priority && slices.Equal(old.Reasons, c.Case.Reasons) {
			continue // context or feedback added, nothing new to say
		}
		last := c.Case.Feedback[len(c.Case.Feedback)-1]
		h.logger.LogAttrs(ctx, slog.LevelInfo, "support case", slog.String("case_id", c.Case.ID),
			slog.String("priority", c.Case.Priority), slog.Any("reasons", c.Case.Reasons),
			slog.String("event_id", last.EventID), slog.Any("text", Text(last.Text)), slog.Bool("new", old == nil))
	}
}

// orderOf returns the order an order lifecycle event is about.
func orderOf(e event.Event) (event.Type, *event.Order) {
	switch e := e.(type) {
	case *event.OrderCreated:
		return e.EventType, &e.Order
	case *event.PaymentAuthorized:
		return e.EventType, &e.Order
	case *event.PaymentFailed:
		return e.EventType, &e.Order
	case *event.OrderShipped:
		return e.EventType, &e.Order
	case *event.OrderCancelled:
		return e.EventType, &e.Order
	case *event.RefundIssued:
		return e.EventType, &e.Order
	}
	return "", nil
}

// emit writes the batch's metrics as one CloudWatch EMF line.
func (h *Handler) emit(records, feedback, orders int, r result) {
	if h.metrics == nil {
		return
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": h.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "shopstream",
				"Dimensions": [][]string{{"function"}},
				"Metrics": []map[string]string{
					{"Name": "Records", "Unit": "Count"}, {"Name": "Feedback", "Unit": "Count"},
					{"Name": "OrderEvents", "Unit": "Count"}, {"Name": "SubjectWrites", "Unit": "Count"},
					{"Name": "CaseWrites", "Unit": "Count"}, {"Name": "Alerts", "Unit": "Count"},
					{"Name": "FailedSubjects", "Unit": "Count"},
				},
			}},
		},
		"function": Name, "Records": records, "Feedback": feedback, "OrderEvents": orders,
		"SubjectWrites": r.changes, "CaseWrites": r.cases, "Alerts": r.alerts, "FailedSubjects": r.failed,
	}
	b, _ := json.Marshal(line)
	_, _ = h.metrics.Write(append(b, '\n'))
}
