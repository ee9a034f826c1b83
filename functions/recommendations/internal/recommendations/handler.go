package recommendations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name in dead letters, logs and metrics.
const Name = "recommendations"

// AllCategories is the key of the popular item that ranks every product,
// whatever its category: the fallback of a product whose category is not
// known.
const AllCategories = "_all"

// Default caps on the pairs one session or one order makes.
const (
	// DefaultMaxSessionProducts is how many distinct products of one
	// session make co-view pairs: the first 20 viewed. A session of n
	// products makes at most n·(n−1) directed pairs, 380 at 20, whatever
	// its length (a crawler's session of thousands of views included).
	DefaultMaxSessionProducts = 20
	// DefaultMaxOrderProducts is how many distinct products of one order
	// make co-purchase pairs: the first 20 in item order.
	DefaultMaxOrderProducts = 20
)

// ErrConflict is returned by Store.PutItem when the stored item is not at
// the version the write was computed from: another invocation wrote it.
var ErrConflict = errors.New("recommendations: item changed concurrently")

// Kind names the two kinds of items.
type Kind int

const (
	// Related items rank a product's co-viewed and co-purchased products.
	Related Kind = iota
	// Popular items rank a category's products by views and purchases.
	Popular
)

func (k Kind) String() string { return [...]string{"related", "popular"}[k] }

// Viewed is a product a session viewed, with the category its view named.
type Viewed struct {
	ID       string
	Category string
}

// Session is what the function remembers of a browsing session: the
// distinct products it viewed (at most the cap), and, per topic-partition,
// the offset of the last record that added one, and that record's event
// time. A view of a product the session holds already, or past the cap,
// changes nothing and is not recorded: the state depends on the records
// only, not on how they were cut into batches.
type Session struct {
	ID       string
	Marks    map[string]int64
	Products []Viewed
	LastAt   time.Time
}

// Store keeps items and sessions.
//
// Items and Sessions return the stored ones among keys, leaving absent ones
// out of the map. PutItem writes it in one conditional write, only if the
// stored item's version is it.Version-1 (absent when it.Version is 1), and
// returns ErrConflict otherwise. PutSessions writes whole sessions; it is
// called only by the invocation that owns their partition. Implementations
// must be safe for concurrent use.
type Store interface {
	Items(ctx context.Context, kind Kind, keys []string) (map[string]*Item, error)
	PutItem(ctx context.Context, kind Kind, it *Item) error
	Sessions(ctx context.Context, ids []string) (map[string]*Session, error)
	PutSessions(ctx context.Context, ss []*Session) error
}

// Handler counts co-views, co-purchases and popularity from batches of
// user_events and transactions, and keeps the rankings.
type Handler struct {
	store       Store
	pol         Policy
	maxSession  int
	maxOrder    int
	logger      *slog.Logger
	metrics     io.Writer
	now         func() time.Time
	attempts    int
	concurrency int

	stats Counters
}

// Counters are running totals of a Handler, for tests and benchmarks:
// records seen, product views, orders, contributions made (one per item,
// entry and record), item writes, version conflicts retried, session
// writes, views of a new product past their session's cap, and orders
// past their cap.
type Counters struct {
	Records, Views, Orders, Contributions atomic.Int64
	ItemWrites, Conflicts, SessionWrites  atomic.Int64
	CappedViews, CappedOrders             atomic.Int64
}

// Option configures a Handler.
type Option func(*Handler)

// WithPolicy sets how counts are ranked; zero fields keep DefaultPolicy's.
func WithPolicy(p Policy) Option { return func(h *Handler) { h.pol = p.withDefaults() } }

// WithCaps sets how many distinct products of a session and of an order
// make pairs. Default DefaultMaxSessionProducts, DefaultMaxOrderProducts.
func WithCaps(session, order int) Option {
	return func(h *Handler) {
		if session > 0 {
			h.maxSession = session
		}
		if order > 0 {
			h.maxOrder = order
		}
	}
}

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.logger = l } }

// WithMetrics sets where one CloudWatch embedded-metric-format line per batch
// is written. Default: nowhere.
func WithMetrics(w io.Writer) Option { return func(h *Handler) { h.metrics = w } }

// WithConcurrency sets how many item writes run at once. Default 16.
func WithConcurrency(n int) Option { return func(h *Handler) { h.concurrency = max(1, n) } }

// New returns a Handler that keeps its counts in store.
func New(store Store, opts ...Option) *Handler {
	h := &Handler{store: store, pol: DefaultPolicy, maxSession: DefaultMaxSessionProducts, maxOrder: DefaultMaxOrderProducts,
		now: time.Now, attempts: 5, concurrency: 16}
	for _, o := range opts {
		o(h)
	}
	if h.logger == nil {
		h.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h
}

// Policy returns the handler's ranking policy.
func (h *Handler) Policy() Policy { return h.pol }

// Stats returns the handler's running totals.
func (h *Handler) Stats() *Counters { return &h.stats }

var _ kafkabatch.Handler = (*Handler)(nil)

// sessionWork is one session's views in a batch.
type sessionWork struct {
	msgs    []int // message indices, in partition order
	state   *Session
	changed bool
}

// Handle implements kafkabatch.Handler. It turns product views into
// co-view pairs through each session's stored state, orders into
// co-purchase pairs, both into popularity, folds every item's
// contributions into one conditional write, then writes the sessions. An
// item whose write fails fails the records that contributed to it, and
// every record of a session that made one of them; such a session is not
// written, so that the retry makes the same pairs again, the items written
// skipping them by their marks.
func (h *Handler) Handle(ctx context.Context, b *kafkabatch.Batch) error {
	msgs := b.Messages()
	contrib := [2]map[string][]Contribution{{}, {}}
	add := func(k Kind, c Contribution) {
		contrib[k][c.Key] = append(contrib[k][c.Key], c)
		h.stats.Contributions.Add(1)
	}
	sessions := map[string]*sessionWork{}
	var sessionOrder []string
	views, orders := 0, 0
	for i, m := range msgs {
		part, off := m.TopicPartition(), m.Offset
		switch e := m.Event.(type) {
		case *event.ProductView:
			views++
			bucket := BucketOf(e.OccurredAt.UnixMilli())
			for _, key := range popularKeys(e.Category) {
				add(Popular, Contribution{Key: key, Entry: e.ProductID, Bucket: bucket, Views: 1, Part: part, Offset: off, Msg: i})
			}
			if e.SessionID == "" {
				continue // a producer shape without sessions: popularity only
			}
			w := sessions[e.SessionID]
			if w == nil {
				w = &sessionWork{}
				sessions[e.SessionID] = w
				sessionOrder = append(sessionOrder, e.SessionID)
			}
			w.msgs = append(w.msgs, i)
		case *event.OrderCreated:
			orders++
			bucket := BucketOf(e.OccurredAt.UnixMilli())
			lines := distinctLines(e.Items, h.maxOrder)
			if len(lines) < countDistinct(e.Items) {
				h.stats.CappedOrders.Add(1)
			}
			for _, x := range lines {
				for _, key := range popularKeys(x.Category) {
					add(Popular, Contribution{Key: key, Entry: x.ID, Bucket: bucket, Buys: 1, Part: part, Offset: off, Msg: i})
				}
				for _, y := range lines {
					if y.ID != x.ID {
						add(Related, Contribution{Key: x.ID, Entry: y.ID, Bucket: bucket, Buys: 1, Category: x.Category,
							Part: part, Offset: off, Msg: i})
					}
				}
			}
		}
	}
	h.stats.Records.Add(int64(len(msgs)))
	h.stats.Views.Add(int64(views))
	h.stats.Orders.Add(int64(orders))

	// Sessions: each one's views, from its stored state.
	if len(sessionOrder) > 0 {
		stored, err := h.store.Sessions(ctx, sessionOrder)
		if err != nil {
			return fmt.Errorf("load %d sessions: %w", len(sessionOrder), err)
		}
		for _, id := range sessionOrder {
			w := sessions[id]
			if s, ok := stored[id]; ok {
				w.state = s.clone()
			} else {
				w.state = &Session{ID: id, Marks: map[string]int64{}}
			}
			for _, i := range w.msgs {
				m := msgs[i]
				part, off := m.TopicPartition(), m.Offset
				if mk, ok := w.state.Marks[part]; ok && off <= mk {
					continue // applied by an earlier delivery
				}
				e := m.Event.(*event.ProductView)
				x := Viewed{ID: e.ProductID, Category: e.Category}
				if slices.ContainsFunc(w.state.Products, func(v Viewed) bool { return v.ID == x.ID }) {
					continue
				}
				if len(w.state.Products) >= h.maxSession {
					h.stats.CappedViews.Add(1)
					continue
				}
				bucket := BucketOf(e.OccurredAt.UnixMilli())
				for _, y := range w.state.Products {
					add(Related, Contribution{Key: x.ID, Entry: y.ID, Bucket: bucket, Views: 1, Category: x.Category, Part: part, Offset: off, Msg: i})
					add(Related, Contribution{Key: y.ID, Entry: x.ID, Bucket: bucket, Views: 1, Category: y.Category, Part: part, Offset: off, Msg: i})
				}
				w.state.Products = append(w.state.Products, x)
				w.state.Marks[part] = off
				if e.OccurredAt.After(w.state.LastAt) {
					w.state.LastAt = e.OccurredAt
				}
				w.changed = true
			}
		}
	}

	// Items: one conditional write each.
	failed := map[int]error{}
	writes := 0
	for _, k := range []Kind{Related, Popular} {
		n, err := h.applyItems(ctx, k, contrib[k], failed)
		if err != nil {
			return err
		}
		writes += n
	}

	// Sessions whose records all stand are written; the others come back.
	var put []*Session
	var putMsgs []int
	for _, id := range sessionOrder {
		w := sessions[id]
		if !w.changed {
			continue
		}
		if slices.ContainsFunc(w.msgs, func(i int) bool { return failed[i] != nil }) {
			for _, i := range w.msgs {
				if failed[i] == nil {
					failed[i] = fmt.Errorf("session %s: a write of the batch failed", id)
				}
			}
			continue
		}
		put = append(put, w.state)
		putMsgs = append(putMsgs, w.msgs...)
	}
	if len(put) > 0 {
		if err := h.store.PutSessions(ctx, put); err != nil {
			werr := fmt.Errorf("write %d sessions: %w", len(put), err)
			for _, i := range putMsgs {
				failed[i] = werr
			}
		} else {
			h.stats.SessionWrites.Add(int64(len(put)))
		}
	}
	for i, err := range failed {
		b.Fail(msgs[i], err)
	}
	h.emit(len(msgs), views, orders, writes, len(put), len(failed))
	return nil
}

// popularKeys are the popular items a view or purchase counts in: its
// category's, when it names one, and the one of all categories.
func popularKeys(category string) []string {
	if category == "" || category == AllCategories {
		return []string{AllCategories}
	}
	return []string{category, AllCategories}
}

// distinctLines returns the distinct products of items, in item order, at
// most limit of them.
func distinctLines(items []event.Item, limit int) []Viewed {
	var out []Viewed
	for _, it := range items {
		if len(out) >= limit {
			break
		}
		if it.ProductID == "" || slices.ContainsFunc(out, func(v Viewed) bool { return v.ID == it.ProductID }) {
			continue
		}
		out = append(out, Viewed{ID: it.ProductID, Category: it.Category})
	}
	return out
}

func countDistinct(items []event.Item) int {
	seen := map[string]bool{}
	for _, it := range items {
		if it.ProductID != "" {
			seen[it.ProductID] = true
		}
	}
	return len(seen)
}

func (s *Session) clone() *Session {
	c := *s
	c.Marks = maps.Clone(s.Marks)
	if c.Marks == nil {
		c.Marks = map[string]int64{}
	}
	c.Products = slices.Clone(s.Products)
	return &c
}

// applyItems folds and writes the items of kind k, recording the records
// of the items whose write failed in failed. It returns the number of
// items written.
func (h *Handler) applyItems(ctx context.Context, k Kind, contrib map[string][]Contribution, failed map[int]error) (int, error) {
	if len(contrib) == 0 {
		return 0, nil
	}
	keys := slices.Sorted(maps.Keys(contrib))
	stored, err := h.store.Items(ctx, k, keys)
	if err != nil {
		return 0, fmt.Errorf("load %d %s items: %w", len(keys), k, err)
	}
	var (
		mu      sync.Mutex
		written int
		sem     = make(chan struct{}, h.concurrency)
		wg      sync.WaitGroup
	)
	for _, key := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, err := h.applyItem(ctx, k, key, stored[key], contrib[key])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				for _, c := range contrib[key] {
					if failed[c.Msg] == nil {
						failed[c.Msg] = err
					}
				}
				return
			}
			if ok {
				written++
			}
		})
	}
	wg.Wait()
	return written, nil
}

// applyItem folds cs into cur and writes the result; on a version conflict
// it reloads the item and folds again. It reports whether it wrote.
func (h *Handler) applyItem(ctx context.Context, k Kind, key string, cur *Item, cs []Contribution) (bool, error) {
	for attempt := 1; ; attempt++ {
		if cur == nil {
			cur = NewItem(key)
		}
		next := cur.Clone()
		if Fold(next, cs, h.pol) == 0 {
			return false, nil // a replay
		}
		next.Version = cur.Version + 1
		err := h.store.PutItem(ctx, k, next)
		if err == nil {
			h.stats.ItemWrites.Add(1)
			return true, nil
		}
		if !errors.Is(err, ErrConflict) || attempt >= h.attempts {
			return false, fmt.Errorf("write %s item %s: %w", k, key, err)
		}
		h.stats.Conflicts.Add(1)
		got, err := h.store.Items(ctx, k, []string{key})
		if err != nil {
			return false, fmt.Errorf("reload %s item %s: %w", k, key, err)
		}
		cur = got[key]
	}
}

// emit writes the batch's metrics as one CloudWatch EMF line.
func (h *Handler) emit(records, views, orders, itemWrites, sessionWrites, failed int) {
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
					{"Name": "Records", "Unit": "Count"}, {"Name": "ProductViews", "Unit": "Count"},
					{"Name": "Orders", "Unit": "Count"}, {"Name": "ItemWrites", "Unit": "Count"},
					{"Name": "SessionWrites", "Unit": "Count"}, {"Name": "FailedRecords", "Unit": "Count"},
				},
			}},
		},
		"function": Name, "Records": records, "ProductViews": views, "Orders": orders,
		"ItemWrites": itemWrites, "SessionWrites": sessionWrites, "FailedRecords": failed,
	}
	b, _ := json.Marshal(line)
	_, _ = h.metrics.Write(append(b, '\n'))
}
