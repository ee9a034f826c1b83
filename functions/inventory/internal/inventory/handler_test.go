package inventory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

func items(pq ...any) []event.Item {
	var out []event.Item
	for i := 0; i < len(pq); i += 2 {
		out = append(out, event.Item{ProductID: pq[i].(string), Quantity: pq[i+1].(int), Price: event.FromCents(100)})
	}
	return out
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func env(t event.Type, id string, sec int) event.Envelope {
	return event.Envelope{EventID: id, EventType: t, SchemaVersion: 1, OccurredAt: t0.Add(time.Duration(sec) * time.Second)}
}

func created(order string, sec int, it []event.Item) *event.OrderCreated {
	return &event.OrderCreated{Envelope: env(event.TypeOrderCreated, "c-"+order, sec), Order: event.Order{OrderID: order, UserID: "u-1", Items: it}}
}

func shipped(order string, sec int, it []event.Item) *event.OrderShipped {
	return &event.OrderShipped{Envelope: env(event.TypeOrderShipped, "s-"+order, sec), Order: event.Order{OrderID: order, UserID: "u-1", Items: it}}
}

func cancelled(order string, sec int, it []event.Item) *event.OrderCancelled {
	return &event.OrderCancelled{Envelope: env(event.TypeOrderCancelled, "x-"+order, sec), Order: event.Order{OrderID: order, UserID: "u-1", Items: it}}
}

func refunded(order string, sec int, restock bool, it []event.Item) *event.RefundIssued {
	return &event.RefundIssued{Envelope: env(event.TypeRefundIssued, "r-"+order, sec), Order: event.Order{OrderID: order, UserID: "u-1", Items: it}, Restock: restock}
}

// TestOrderLifecycle: each transition and the stock it moves, including
// duplicates and events out of their order.
func TestOrderLifecycle(t *testing.T) {
	t.Parallel()
	it := items("p-1", 2, "p-2", 1, "p-1", 1)
	type step struct {
		e      event.Event
		status string
		ops    []inventory.Op
	}
	R, C, L, A := inventory.OpReserve, inventory.OpCommit, inventory.OpRelease, inventory.OpAdd
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"create ship", []step{{created("o", 1, it), "reserved", []inventory.Op{R, R}}, {shipped("o", 2, it), "shipped", []inventory.Op{C, C}}}},
		{"create cancel", []step{{created("o", 1, it), "reserved", []inventory.Op{R, R}}, {cancelled("o", 2, it), "cancelled", []inventory.Op{L, L}}}},
		{"cancel after ship releases nothing", []step{{created("o", 1, it), "reserved", []inventory.Op{R, R}}, {shipped("o", 2, it), "shipped", []inventory.Op{C, C}}, {cancelled("o", 3, it), "shipped", nil}}},
		{"duplicate ship (another event id)", []step{{created("o", 1, it), "reserved", []inventory.Op{R, R}}, {shipped("o", 2, it), "shipped", []inventory.Op{C, C}}, {shipped("o", 3, it), "shipped", nil}}},
		{"ship of an unknown order", []step{{shipped("o", 2, it), "shipped", []inventory.Op{A, A}}, {created("o", 1, it), "shipped", nil}}},
		{"cancel of an unknown order", []step{{cancelled("o", 2, it), "cancelled", nil}, {created("o", 1, it), "cancelled", nil}}},
		{"refund with restock", []step{{created("o", 1, it), "reserved", []inventory.Op{R, R}}, {shipped("o", 2, it), "shipped", []inventory.Op{C, C}}, {refunded("o", 3, true, items("p-1", 1)), "shipped", []inventory.Op{A}}}},
		{"refund without restock", []step{{created("o", 1, it), "reserved", []inventory.Op{R, R}}, {refunded("o", 3, false, it), "reserved", nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &inventory.Order{ID: "o"}
			for i, s := range tc.steps {
				cs := o.Apply(s.e, "transactions-0", int64(i), i)
				var ops []inventory.Op
				for _, c := range cs {
					ops = append(ops, c.Op)
				}
				if o.Status != s.status || !slices.Equal(ops, s.ops) {
					t.Fatalf("step %d (%s): status %q ops %v, want %q %v", i, s.e.Meta().EventType, o.Status, ops, s.status, s.ops)
				}
				if again := o.Apply(s.e, "transactions-0", int64(i), i); again != nil {
					t.Fatalf("step %d replayed: %v", i, again)
				}
			}
		})
	}
}

// memStore is a Store in memory that can fail writes of chosen products.
type memStore struct {
	mu       sync.Mutex
	products map[string]*inventory.Product
	orders   map[string]*inventory.Order
	failFor  map[string]bool
}

func newMemStore() *memStore {
	return &memStore{products: map[string]*inventory.Product{}, orders: map[string]*inventory.Order{}, failFor: map[string]bool{}}
}

func (m *memStore) Products(_ context.Context, ids []string) (map[string]*inventory.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]*inventory.Product{}
	for _, id := range ids {
		if p, ok := m.products[id]; ok {
			out[id] = p.Clone()
		}
	}
	return out, nil
}

func (m *memStore) PutProduct(_ context.Context, p *inventory.Product) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failFor[p.ID] {
		return errors.New("throttled")
	}
	var v int64
	if cur, ok := m.products[p.ID]; ok {
		v = cur.Version
	}
	if v != p.Version-1 {
		return inventory.ErrConflict
	}
	m.products[p.ID] = p.Clone()
	return nil
}

func (m *memStore) Orders(_ context.Context, ids []string) (map[string]*inventory.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]*inventory.Order{}
	for _, id := range ids {
		if o, ok := m.orders[id]; ok {
			out[id] = o.Clone()
		}
	}
	return out, nil
}

func (m *memStore) PutOrders(_ context.Context, os []*inventory.Order) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range os {
		m.orders[o.ID] = o.Clone()
	}
	return nil
}

func (m *memStore) Unbackorder(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.orders[id]; ok && o.Status == inventory.StatusBackordered {
		o.Status = inventory.StatusReserved
	}
	return nil
}

type nopAlerts struct{}

func (nopAlerts) Send(context.Context, []*event.InventoryAlert) error { return nil }

func batchOf(es ...event.Event) *kafkabatch.Batch {
	msgs := make([]*kafkabatch.Message, len(es))
	next := map[string]int64{}
	for i, e := range es {
		topic := e.Meta().EventType.Topic()
		msgs[i] = &kafkabatch.Message{Record: kafkabatch.Record{Topic: topic, Offset: next[topic]}, Event: e}
		next[topic]++
	}
	slices.SortStableFunc(msgs, func(a, b *kafkabatch.Message) int {
		if a.Topic != b.Topic {
			return map[bool]int{true: -1, false: 1}[a.Topic < b.Topic]
		}
		return int(a.Offset - b.Offset)
	})
	return kafkabatch.NewBatch(msgs)
}

func counted(product string, qty, sec int) *event.StockCounted {
	return &event.StockCounted{Envelope: env(event.TypeStockCounted, fmt.Sprint("k-", product, sec), sec),
		Stock: event.Stock{ProductID: product, WarehouseID: "wh-01"}, Quantity: qty}
}

// TestHandlerFailedProductWrite: a product whose write fails fails the
// records that changed it, their orders are not written, and the rest of
// the batch stands; the retry completes it without applying anything twice.
func TestHandlerFailedProductWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	h := inventory.New(store, nopAlerts{})
	es := []event.Event{counted("p-1", 10, 1), counted("p-2", 10, 1), created("o-1", 2, items("p-1", 2)), created("o-2", 3, items("p-2", 3))}
	store.failFor["p-2"] = true
	b := batchOf(es...)
	if err := h.Handle(ctx, b); err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, o := range b.Failed() {
		failed = append(failed, string(o.Message.Event.Meta().EventID))
	}
	slices.Sort(failed)
	if want := []string{"c-o-2", "k-p-21"}; !slices.Equal(failed, want) {
		t.Fatalf("failed %v, want %v", failed, want)
	}
	if _, ok := store.orders["o-2"]; ok {
		t.Fatal("the order of a failed product was written")
	}
	// The event source mapping redelivers; this time the write works.
	delete(store.failFor, "p-2")
	b = batchOf(es...)
	if err := h.Handle(ctx, b); err != nil || len(b.Failed()) > 0 {
		t.Fatalf("retry: %v %v", err, b.Failed())
	}
	for id, want := range map[string][2]int64{"p-1": {10, 2}, "p-2": {10, 3}} {
		l := store.products[id].Warehouses["wh-01"]
		if l.OnHand != want[0] || l.Reserved != want[1] {
			t.Errorf("%s: on hand %d reserved %d, want %v", id, l.OnHand, l.Reserved, want)
		}
	}
	if got := slices.Sorted(maps.Keys(store.orders)); !slices.Equal(got, []string{"o-1", "o-2"}) {
		t.Errorf("orders %v", got)
	}
}

// TestHandlerRejects: records the function's rules refuse are rejected with
// a reason, the rest applied.
func TestHandlerRejects(t *testing.T) {
	t.Parallel()
	noWarehouse := counted("p-1", 5, 1)
	noWarehouse.WarehouseID = ""
	noWarehouse.Origin.Missing = []string{"warehouse_id"}
	blindRefund := refunded("o-9", 2, true, nil)
	store := newMemStore()
	h := inventory.New(store, nopAlerts{})
	b := batchOf(noWarehouse, blindRefund, counted("p-2", 4, 1))
	if err := h.Handle(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	rej := b.Rejected()
	if len(rej) != 2 {
		t.Fatalf("rejected %d, want 2", len(rej))
	}
	for _, o := range rej {
		if event.ReasonOf(o.Err) != event.ReasonRejected || o.Err.Error() == "" {
			t.Errorf("rejection %v has reason %q", o.Err, event.ReasonOf(o.Err))
		}
	}
	if store.products["p-2"] == nil || store.products["p-1"] != nil {
		t.Errorf("products written: %v", slices.Sorted(maps.Keys(store.products)))
	}
}

// TestHandlerBackorderResolves: an order processed before the stock it
// needs is backordered, then reserved once the stock arrives.
func TestHandlerBackorderResolves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	h := inventory.New(store, nopAlerts{})
	if err := h.Handle(ctx, batchOf(created("o-1", 5, items("p-1", 2)))); err != nil {
		t.Fatal(err)
	}
	if st := store.orders["o-1"].Status; st != inventory.StatusBackordered {
		t.Fatalf("order is %s before stock, want backordered", st)
	}
	if err := h.Handle(ctx, batchOf(counted("p-1", 10, 1))); err != nil {
		t.Fatal(err)
	}
	if st := store.orders["o-1"].Status; st != inventory.StatusReserved {
		t.Fatalf("order is %s after stock, want reserved", st)
	}
	if l := store.products["p-1"].Warehouses["wh-01"]; l.OnHand != 10 || l.Reserved != 2 || len(store.products["p-1"].Backorders) != 0 {
		t.Fatalf("stock %+v backorders %v", l, store.products["p-1"].Backorders)
	}
}

// TestHandlerMetrics: one EMF line per batch, naming its metrics.
func TestHandlerMetrics(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := inventory.New(newMemStore(), nopAlerts{}, inventory.WithMetrics(&buf))
	if err := h.Handle(context.Background(), batchOf(counted("p-1", 3, 1), counted("p-2", 40, 1), created("o-1", 2, items("p-1", 1)))); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("%d metric lines, want 1", len(lines))
	}
	var m struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Namespace string
				Metrics   []struct{ Name string }
			}
		} `json:"_aws"`
		Records, StockEvents, ProductWrites, Alerts int
	}
	if err := json.Unmarshal(lines[0], &m); err != nil {
		t.Fatal(err)
	}
	if len(m.AWS.CloudWatchMetrics) != 1 || m.AWS.CloudWatchMetrics[0].Namespace != "shopstream" ||
		m.Records != 3 || m.StockEvents != 2 || m.ProductWrites != 2 || m.Alerts != 1 {
		t.Fatalf("metrics line %s", lines[0])
	}
}
