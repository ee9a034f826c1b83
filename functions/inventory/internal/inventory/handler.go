package inventory

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
const Name = "inventory"

// ErrConflict is returned by Store.PutProduct when the stored item is not at
// the version the write was computed from: another invocation wrote it.
var ErrConflict = errors.New("inventory: product changed concurrently")

// Store keeps products and orders.
//
// Products and Orders return the stored items among ids, leaving absent ones
// out of the map. PutProduct writes p in one conditional write, only if the
// stored item's version is p.Version-1 (absent when p.Version is 1), and
// returns ErrConflict otherwise. PutOrders writes whole orders; it is called
// only by the invocation that owns their partition. Unbackorder turns a
// backordered order into a reserved one (and does nothing to any other).
// Implementations must be safe for concurrent use.
type Store interface {
	Products(ctx context.Context, ids []string) (map[string]*Product, error)
	PutProduct(ctx context.Context, p *Product) error
	Orders(ctx context.Context, ids []string) (map[string]*Order, error)
	PutOrders(ctx context.Context, orders []*Order) error
	Unbackorder(ctx context.Context, orderID string) error
}

// AlertSink stores inventory alerts. Send must store every alert or return
// an error, and must be idempotent: an alert sent twice has the same
// EventID, and storing it twice must be harmless.
type AlertSink interface {
	Send(ctx context.Context, alerts []*event.InventoryAlert) error
}

// Handler applies batches of inventory and order lifecycle events.
type Handler struct {
	store       Store
	alerts      AlertSink
	pol         Policy
	known       func(productID string) bool
	logger      *slog.Logger
	metrics     io.Writer
	now         func() time.Time
	attempts    int
	concurrency int

	stats Counters
}

// Counters are running totals of a Handler, for tests and benchmarks:
// records seen, inventory events, order lifecycle events, other events
// (payments, metrics: no stock effect), product writes, version conflicts
// retried, backorders, partial reservations (one per order and product),
// alerts, counts older than the journal, and records about products not in
// the catalogue that were rejected.
type Counters struct {
	Events, StockEvents, OrderEvents, Ignored atomic.Int64
	ProductWrites, Conflicts, Backorders      atomic.Int64
	Shorted, Alerts, Inexact, Unknown         atomic.Int64
}

// Option configures a Handler.
type Option func(*Handler)

// WithPolicy sets the thresholds and the reservation mode. Default: low
// stock at 10 units or fewer for every product, journal horizon 24 hours,
// ReserveBackorder.
func WithPolicy(p Policy) Option { return func(h *Handler) { h.pol = p } }

// WithCatalog rejects, as dead letters with reason "rejected", inventory
// events about a product known does not report, and order lifecycle events
// with an item of one (the whole record: an order is not applied in part).
// Default: every product is accepted.
func WithCatalog(known func(productID string) bool) Option {
	return func(h *Handler) { h.known = known }
}

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.logger = l } }

// WithMetrics sets where one CloudWatch embedded-metric-format line per batch
// is written. Default: nowhere.
func WithMetrics(w io.Writer) Option { return func(h *Handler) { h.metrics = w } }

// WithClock sets the clock that stamps alerts. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithConcurrency sets how many product writes run at once. Default 16.
func WithConcurrency(n int) Option { return func(h *Handler) { h.concurrency = max(1, n) } }

// New returns a Handler that keeps stock in store and raises alerts to alerts.
func New(store Store, alerts AlertSink, opts ...Option) *Handler {
	h := &Handler{store: store, alerts: alerts, now: time.Now, attempts: 5, concurrency: 16,
		pol: Policy{DefaultLowStock: 10, Horizon: 24 * time.Hour}}
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

type orderWork struct {
	msgs []int // message indices, in partition order
	ord  *Order
}

// Handle implements kafkabatch.Handler: it turns order lifecycle events into
// stock changes through each order's state, folds every product's changes
// into one conditional write, then writes the orders. A product whose write
// fails fails the records that changed it (and their orders are not
// written), so that they come back; everything else of the batch stands, and
// comes back as a replay the marks skip.
func (h *Handler) Handle(ctx context.Context, b *kafkabatch.Batch) error {
	msgs := b.Messages()
	var (
		changes   = map[string][]Change{}
		orders    = map[string]*orderWork{}
		order     []string
		stock     int
		lifecycle int
	)
	for i, m := range msgs {
		part, off := m.TopicPartition(), m.Offset
		switch e := m.Event.(type) {
		case *event.StockAdjusted, *event.Restocked, *event.ShipmentReceived, *event.StockCounted:
			c, err := stockChange(e)
			if err == nil {
				err = h.unknown("product_id", c.ProductID)
			}
			if err != nil {
				b.Reject(m, err)
				continue
			}
			c.Part, c.Offset, c.Msg = part, off, i
			changes[c.ProductID] = append(changes[c.ProductID], c)
			stock++
		case *event.OrderCreated, *event.OrderShipped, *event.OrderCancelled, *event.RefundIssued:
			if err := h.unknownItem(e); err != nil {
				b.Reject(m, err)
				continue
			}
			id := orderID(e)
			w := orders[id]
			if w == nil {
				w = &orderWork{}
				orders[id] = w
				order = append(order, id)
			}
			w.msgs = append(w.msgs, i)
			lifecycle++
		default:
			h.stats.Ignored.Add(1)
		}
	}
	h.stats.Events.Add(int64(len(msgs)))
	h.stats.StockEvents.Add(int64(stock))
	h.stats.OrderEvents.Add(int64(lifecycle))

	// Orders: run each one's lifecycle from its stored state.
	if len(order) > 0 {
		stored, err := h.store.Orders(ctx, order)
		if err != nil {
			return fmt.Errorf("load %d orders: %w", len(order), err)
		}
		for _, id := range order {
			w := orders[id]
			if o, ok := stored[id]; ok {
				w.ord = o.Clone()
			} else {
				w.ord = &Order{ID: id}
			}
			for _, i := range w.msgs {
				m := msgs[i]
				if r, ok := m.Event.(*event.RefundIssued); ok && r.Restock && len(r.Items) == 0 && len(w.ord.Lines) == 0 {
					b.Reject(m, &event.Error{Reason: event.ReasonRejected, Field: "items",
						Detail: "a restocking refund of an order this function never saw must list its items"})
					continue
				}
				for _, c := range w.ord.Apply(m.Event, m.TopicPartition(), m.Offset, i) {
					changes[c.ProductID] = append(changes[c.ProductID], c)
				}
			}
		}
	}

	// Products: one conditional write each.
	failedMsgs, results, states, err := h.applyProducts(ctx, changes)
	if err != nil {
		return err
	}
	// What partial reservations were short of: the product items record
	// it (and keep it after the order settles, for retries like this one);
	// the order items are its projection.
	for _, id := range order {
		o := orders[id].ord
		for i := range o.Lines {
			l := &o.Lines[i]
			if p := states[l.ProductID]; p != nil {
				if s, ok := p.Shorts[id]; ok {
					l.Short = s.Qty
				}
			}
		}
		if o.Open() && o.Shorted() {
			o.Status = StatusPartiallyReserved
		}
	}
	backordered := map[string]bool{}
	var cleared []string
	for _, r := range results {
		for _, id := range r.Backordered {
			backordered[id] = true
		}
		cleared = append(cleared, r.Cleared...)
	}
	for id := range backordered {
		if w := orders[id]; w != nil && w.ord.Status == StatusReserved {
			w.ord.Status = StatusBackordered
		}
	}

	// Orders whose records all stand are written; the others come back.
	var put []*Order
	var putMsgs []int
	for _, id := range order {
		w := orders[id]
		if slices.ContainsFunc(w.msgs, func(i int) bool { return failedMsgs[i] != nil }) {
			for _, i := range w.msgs {
				if failedMsgs[i] == nil {
					failedMsgs[i] = fmt.Errorf("order %s: a stock write of the batch failed", id)
				}
			}
			continue
		}
		if slices.Contains(cleared, id) && w.ord.Status == StatusBackordered {
			w.ord.Status = StatusReserved
		}
		put = append(put, w.ord)
		putMsgs = append(putMsgs, w.msgs...)
	}
	if len(put) > 0 {
		if err := h.store.PutOrders(ctx, put); err != nil {
			werr := fmt.Errorf("write %d orders: %w", len(put), err)
			for _, i := range putMsgs {
				failedMsgs[i] = werr
			}
		}
	}
	// Backorders resolved for orders of earlier batches: the product items
	// say so already; this is the orders' projection of it.
	for _, id := range cleared {
		if orders[id] != nil {
			continue
		}
		if err := h.store.Unbackorder(ctx, id); err != nil {
			h.logger.WarnContext(ctx, "unbackorder failed", "order_id", id, "err", err)
		}
	}
	for i, err := range failedMsgs {
		b.Fail(msgs[i], err)
	}
	h.emit(len(msgs), stock, results, len(failedMsgs))
	return nil
}

// applyProducts folds and writes every product's changes. It returns the
// failed message indices with their errors, the fold results of the
// products written, and the state of every product written (or found
// already up to date). Alerts are sent before the writes that make them
// true: a crash between the two sends them again, with the same ids.
func (h *Handler) applyProducts(ctx context.Context, changes map[string][]Change) (map[int]error, []FoldResult, map[string]*Product, error) {
	failed := map[int]error{}
	states := map[string]*Product{}
	if len(changes) == 0 {
		return failed, nil, states, nil
	}
	ids := slices.Sorted(maps.Keys(changes))
	stored, err := h.store.Products(ctx, ids)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load %d products: %w", len(ids), err)
	}
	// Fold every product, then send all their alerts in one call, before
	// the writes that make them true.
	now := h.now()
	folds := make(map[string]*fold, len(ids))
	var alerts []*event.InventoryAlert
	for _, id := range ids {
		f := newFold(id, stored[id], changes[id], h.pol, now)
		folds[id] = f
		alerts = append(alerts, f.res.Alerts...)
	}
	var alertErr error
	if len(alerts) > 0 {
		if err := h.alerts.Send(ctx, alerts); err != nil {
			alertErr = fmt.Errorf("send %d alerts: %w", len(alerts), err)
		}
	}
	var (
		mu      sync.Mutex
		results []FoldResult
		sem     = make(chan struct{}, h.concurrency)
		wg      sync.WaitGroup
	)
	fail := func(id string, err error) {
		for _, c := range changes[id] {
			if failed[c.Msg] == nil {
				failed[c.Msg] = err
			}
		}
	}
	for _, id := range ids {
		f := folds[id]
		if alertErr != nil && len(f.res.Alerts) > 0 {
			fail(id, alertErr)
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, state, err := h.applyProduct(ctx, f, changes[id])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fail(id, err)
				return
			}
			results = append(results, res)
			states[id] = state
		})
	}
	wg.Wait()
	return failed, results, states, nil
}

// fold is a product's state as read, and as folded.
type fold struct {
	cur, next *Product
	res       FoldResult
}

func newFold(id string, cur *Product, cs []Change, pol Policy, now time.Time) *fold {
	if cur == nil {
		cur = NewProduct(id)
	}
	next := cur.Clone()
	res := Fold(next, cs, pol, now)
	next.Version = cur.Version + 1
	return &fold{cur: cur, next: next, res: res}
}

// applyProduct writes f, whose alerts were sent; on a version conflict it
// reloads the product, folds cs again, sends the new fold's alerts, and
// tries again. It returns the fold's result and the product as stored.
func (h *Handler) applyProduct(ctx context.Context, f *fold, cs []Change) (FoldResult, *Product, error) {
	id := f.cur.ID
	for attempt := 1; ; attempt++ {
		res := f.res
		if res.Applied == 0 {
			return res, f.cur, nil // a replay
		}
		if attempt > 1 && len(res.Alerts) > 0 {
			if err := h.alerts.Send(ctx, res.Alerts); err != nil {
				return res, nil, fmt.Errorf("send %d alerts of product %s: %w", len(res.Alerts), id, err)
			}
		}
		err := h.store.PutProduct(ctx, f.next)
		if err == nil {
			h.stats.ProductWrites.Add(1)
			h.stats.Alerts.Add(int64(len(res.Alerts)))
			h.stats.Backorders.Add(int64(len(res.Backordered)))
			h.stats.Shorted.Add(int64(len(res.Shorted)))
			h.stats.Inexact.Add(int64(res.Inexact))
			return res, f.next, nil
		}
		if !errors.Is(err, ErrConflict) || attempt >= h.attempts {
			return res, nil, fmt.Errorf("write product %s: %w", id, err)
		}
		h.stats.Conflicts.Add(1)
		got, err := h.store.Products(ctx, []string{id})
		if err != nil {
			return res, nil, fmt.Errorf("reload product %s: %w", id, err)
		}
		f = newFold(id, got[id], cs, h.pol, h.now())
	}
}

// stockChange maps an inventory event to its stock change.
func stockChange(e event.Event) (Change, error) {
	at := e.Meta().OccurredAt.UnixMilli()
	switch e := e.(type) {
	case *event.StockAdjusted:
		return Change{Op: OpAdd, ProductID: e.ProductID, Warehouse: e.WarehouseID, Qty: int64(e.Change), At: at}, nil
	case *event.Restocked:
		return Change{Op: OpAdd, ProductID: e.ProductID, Warehouse: e.WarehouseID, Qty: int64(e.Quantity), At: at}, nil
	case *event.ShipmentReceived:
		return Change{Op: OpAdd, ProductID: e.ProductID, Warehouse: e.WarehouseID, Qty: int64(e.Quantity), At: at}, nil
	case *event.StockCounted:
		if e.WarehouseID == "" {
			// An absolute count of an unnamed warehouse could overwrite the
			// wrong one's stock.
			return Change{}, &event.Error{Reason: event.ReasonRejected, Field: "warehouse_id",
				Detail: "a stock count must name its warehouse"}
		}
		return Change{Op: OpCount, ProductID: e.ProductID, Warehouse: e.WarehouseID, Qty: int64(e.Quantity), At: at}, nil
	}
	return Change{}, fmt.Errorf("not an inventory event: %T", e)
}

// unknown rejects product id, named in field, when the catalogue does not
// list it.
func (h *Handler) unknown(field, id string) error {
	if h.known == nil || h.known(id) {
		return nil
	}
	h.stats.Unknown.Add(1)
	return &event.Error{Reason: event.ReasonRejected, Field: field,
		Detail: fmt.Sprintf("product %q is not in the catalogue (unknown products are rejected)", id)}
}

// unknownItem rejects an order lifecycle event with an item about a product
// the catalogue does not list.
func (h *Handler) unknownItem(e event.Event) error {
	if h.known == nil {
		return nil
	}
	var items []event.Item
	switch e := e.(type) {
	case *event.OrderCreated:
		items = e.Items
	case *event.OrderShipped:
		items = e.Items
	case *event.OrderCancelled:
		items = e.Items
	case *event.RefundIssued:
		items = e.Items
	}
	for i, it := range items {
		if err := h.unknown(fmt.Sprintf("items[%d].product_id", i), it.ProductID); err != nil {
			return err
		}
	}
	return nil
}

func orderID(e event.Event) string {
	switch e := e.(type) {
	case *event.OrderCreated:
		return e.OrderID
	case *event.OrderShipped:
		return e.OrderID
	case *event.OrderCancelled:
		return e.OrderID
	case *event.RefundIssued:
		return e.OrderID
	}
	return ""
}

// emit writes the batch's metrics as one CloudWatch EMF line.
func (h *Handler) emit(records, stock int, results []FoldResult, failed int) {
	if h.metrics == nil {
		return
	}
	alerts, backorders, shorted, writes := 0, 0, 0, 0
	for _, r := range results {
		if r.Applied > 0 {
			writes++
		}
		alerts += len(r.Alerts)
		backorders += len(r.Backordered)
		shorted += len(r.Shorted)
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": h.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "shopstream",
				"Dimensions": [][]string{{"function"}},
				"Metrics": []map[string]string{
					{"Name": "Records", "Unit": "Count"}, {"Name": "StockEvents", "Unit": "Count"},
					{"Name": "ProductWrites", "Unit": "Count"}, {"Name": "Alerts", "Unit": "Count"},
					{"Name": "Backorders", "Unit": "Count"}, {"Name": "PartialReservations", "Unit": "Count"},
					{"Name": "FailedRecords", "Unit": "Count"},
				},
			}},
		},
		"function": Name, "Records": records, "StockEvents": stock, "ProductWrites": writes,
		"Alerts": alerts, "Backorders": backorders, "PartialReservations": shorted, "FailedRecords": failed,
	}
	b, _ := json.Marshal(line)
	_, _ = h.metrics.Write(append(b, '\n'))
}
