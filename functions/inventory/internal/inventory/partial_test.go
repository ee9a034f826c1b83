package inventory_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

var partialPolicy = inventory.Policy{DefaultLowStock: 10, Horizon: 24 * time.Hour, Reservation: inventory.ReservePartial}

// TestFoldPartial: in partial mode a reservation takes what is available
// and records the rest as short; commit, release and a return of the
// order's lines leave the short units out; replays change nothing; settled
// shorts are pruned after the horizon.
func TestFoldPartial(t *testing.T) {
	t.Parallel()
	p := inventory.NewProduct("p-1")
	count := inventory.Change{Op: inventory.OpCount, ProductID: "p-1", Warehouse: "wh-01", Qty: 5, At: 1, Part: "inv-0", Offset: 0}
	type want struct {
		onHand, reserved int64
		shorts           map[string]int64
		alerts           []string
	}
	steps := []struct {
		c    inventory.Change
		want want
	}{
		{count, want{5, 0, nil, []string{"low_stock"}}},
		{change(inventory.OpReserve, 3, 2, "o-1", 1), want{5, 3, nil, nil}},
		{change(inventory.OpReserve, 4, 3, "o-2", 2), want{5, 5, map[string]int64{"o-2": 2}, []string{"backordered", "out_of_stock"}}},
		{change(inventory.OpReserve, 1, 4, "o-3", 3), want{5, 5, map[string]int64{"o-2": 2, "o-3": 1}, []string{"backordered"}}},
		{change(inventory.OpCommit, 4, 5, "o-2", 4), want{3, 3, map[string]int64{"o-2": 2, "o-3": 1}, nil}},
		{change(inventory.OpRelease, 1, 6, "o-3", 5), want{3, 3, map[string]int64{"o-2": 2, "o-3": 1}, nil}},
		{change(inventory.OpAdd, 10, 7, "", 6), want{13, 3, map[string]int64{"o-2": 2, "o-3": 1}, nil}},
		{change(inventory.OpReturn, 4, 8, "o-2", 7), want{15, 3, map[string]int64{"o-2": 2, "o-3": 1}, nil}},
		{change(inventory.OpCommit, 3, 9, "o-1", 8), want{12, 0, map[string]int64{"o-2": 2, "o-3": 1}, nil}},
	}
	for i, s := range steps {
		res := inventory.Fold(p, []inventory.Change{s.c}, partialPolicy, time.Now())
		if got := kinds(res.Alerts); !slices.Equal(got, s.want.alerts) {
			t.Errorf("step %d: alerts %v, want %v", i, got, s.want.alerts)
		}
		if again := inventory.Fold(p, []inventory.Change{s.c}, partialPolicy, time.Now()); again.Applied != 0 {
			t.Errorf("step %d: a replay applied %d changes", i, again.Applied)
		}
		l := p.Warehouses["wh-01"]
		shorts := map[string]int64{}
		for id, sh := range p.Shorts {
			shorts[id] = sh.Qty
		}
		if l.OnHand != s.want.onHand || l.Reserved != s.want.reserved || !maps.Equal(shorts, s.want.shorts) {
			t.Fatalf("step %d: on hand %d, reserved %d, shorts %v; want %+v", i, l.OnHand, l.Reserved, shorts, s.want)
		}
		if len(p.Backorders) > 0 {
			t.Fatalf("step %d: partial mode backordered %v", i, p.Backorders)
		}
		p.Version++
	}
	for _, id := range []string{"o-2", "o-3"} {
		if !p.Shorts[id].Settled {
			t.Errorf("short of %s not settled: %+v", id, p.Shorts[id])
		}
	}
	// 25 hours of event time later the settled shorts are gone.
	inventory.Fold(p, []inventory.Change{change(inventory.OpAdd, 1, 25*3600*1000, "", 9)}, partialPolicy, time.Now())
	if len(p.Shorts) != 0 {
		t.Errorf("settled shorts kept beyond the horizon: %v", p.Shorts)
	}
}

// TestFoldPartialOpenShortKept: an open order's short is never pruned,
// however old: its commit must still leave the short units out.
func TestFoldPartialOpenShortKept(t *testing.T) {
	t.Parallel()
	p := inventory.NewProduct("p-1")
	inventory.Fold(p, []inventory.Change{
		{Op: inventory.OpCount, ProductID: "p-1", Warehouse: "wh-01", Qty: 1, At: 1, Part: "inv-0", Offset: 0},
		change(inventory.OpReserve, 3, 2, "o-1", 1),
	}, partialPolicy, time.Now())
	inventory.Fold(p, []inventory.Change{change(inventory.OpAdd, 50, 48*3600*1000, "", 2)}, partialPolicy, time.Now())
	inventory.Fold(p, []inventory.Change{change(inventory.OpCommit, 3, 48*3600*1000+1, "o-1", 3)}, partialPolicy, time.Now())
	if l := p.Warehouses["wh-01"]; l.OnHand != 50 || l.Reserved != 0 {
		t.Fatalf("on hand %d, reserved %d; want 50, 0", l.OnHand, l.Reserved)
	}
}

// ordersFailOnce is a store whose order writes fail while armed: the
// product writes of a batch stand, its orders do not.
type ordersFailOnce struct {
	*memStore
	fail bool
}

func (o *ordersFailOnce) PutOrders(ctx context.Context, os []*inventory.Order) error {
	if o.fail {
		o.fail = false
		return errors.New("throttled")
	}
	return o.memStore.PutOrders(ctx, os)
}

// feed numbers the records of successive batches as their partitions
// would: offsets go on from one batch to the next.
type feed struct{ next map[string]int64 }

// messages returns es as the messages of one batch, in partition order.
func (f *feed) messages(es ...event.Event) []*kafkabatch.Message {
	if f.next == nil {
		f.next = map[string]int64{}
	}
	msgs := make([]*kafkabatch.Message, len(es))
	for i, e := range es {
		topic := e.Meta().EventType.Topic()
		msgs[i] = &kafkabatch.Message{Record: kafkabatch.Record{Topic: topic, Offset: f.next[topic]}, Event: e}
		f.next[topic]++
	}
	slices.SortStableFunc(msgs, func(a, b *kafkabatch.Message) int {
		if a.Topic != b.Topic {
			return strings.Compare(a.Topic, b.Topic)
		}
		return int(a.Offset - b.Offset)
	})
	return msgs
}

func lineShorts(o *inventory.Order) map[string]int64 {
	out := map[string]int64{}
	for _, l := range o.Lines {
		out[l.ProductID] = l.Short
	}
	return out
}

// TestHandlerPartial drives the handler in partial mode: an order that
// stock covers in part is partially_reserved with its short quantities on
// its lines; its ship commits, and another's cancel releases, exactly what
// was reserved; an order created and shipped in one batch whose order write
// failed keeps its short quantities when the batch is retried.
func TestHandlerPartial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &ordersFailOnce{memStore: newMemStore()}
	mem := &memAlerts{}
	h := inventory.New(store, mem, inventory.WithPolicy(partialPolicy))
	var f feed
	handle := func(msgs []*kafkabatch.Message) {
		t.Helper()
		b := kafkabatch.NewBatch(msgs)
		if err := h.Handle(ctx, b); err != nil || len(b.Failed()) > 0 || len(b.Rejected()) > 0 {
			t.Fatalf("%v failed %v rejected %v", err, b.Failed(), b.Rejected())
		}
	}
	run := func(es ...event.Event) { t.Helper(); handle(f.messages(es...)) }
	level := func(id string) *inventory.Level { return store.products[id].Warehouses["wh-01"] }
	run(counted("p-1", 5, 1), counted("p-2", 10, 1))
	run(created("o-1", 2, items("p-1", 3, "p-2", 2)), created("o-2", 3, items("p-1", 4, "p-2", 1)))
	o1, o2 := store.orders["o-1"], store.orders["o-2"]
	if o1.Status != inventory.StatusReserved || o2.Status != inventory.StatusPartiallyReserved {
		t.Fatalf("statuses %s %s, want reserved, partially_reserved", o1.Status, o2.Status)
	}
	if got := lineShorts(o2); !maps.Equal(got, map[string]int64{"p-1": 2, "p-2": 0}) {
		t.Fatalf("o-2 shorts %v", got)
	}
	if l := level("p-1"); l.OnHand != 5 || l.Reserved != 5 {
		t.Fatalf("p-1 %+v", l)
	}
	var backordered []string
	for _, a := range mem.byID {
		if a.Kind == inventory.KindBackordered {
			backordered = append(backordered, a.OrderID+"/"+a.ProductID)
		}
	}
	if !slices.Equal(backordered, []string{"o-2/p-1"}) {
		t.Fatalf("backordered alerts %v, want o-2/p-1", backordered)
	}
	// o-2 ships what it reserved (2 of p-1, 1 of p-2); o-1 is cancelled.
	run(shipped("o-2", 4, items("p-1", 4, "p-2", 1)), cancelled("o-1", 5, items("p-1", 3, "p-2", 2)))
	if l := level("p-1"); l.OnHand != 3 || l.Reserved != 0 {
		t.Fatalf("p-1 after ship and cancel: %+v", l)
	}
	if l := level("p-2"); l.OnHand != 9 || l.Reserved != 0 {
		t.Fatalf("p-2 after ship and cancel: %+v", l)
	}
	if o := store.orders["o-2"]; o.Status != inventory.StatusShipped || lineShorts(o)["p-1"] != 2 {
		t.Fatalf("o-2 after ship: %+v", o)
	}
	// A refund that lists no items puts back what shipped.
	run(refunded("o-2", 6, true, nil))
	if l := level("p-1"); l.OnHand != 5 {
		t.Fatalf("p-1 after the refund: %+v", l)
	}
	// o-3, created and shipped in one batch, 4 of p-1 where 5 are
	// available... after o-4 takes 3: short 2. The order write fails once.
	store.fail = true
	msgs := f.messages(created("o-4", 7, items("p-1", 3)), created("o-3", 8, items("p-1", 4)), shipped("o-3", 9, items("p-1", 4)))
	b := kafkabatch.NewBatch(msgs)
	if err := h.Handle(ctx, b); err != nil || len(b.Failed()) != 3 {
		t.Fatalf("%v: %d failed, want the 3 records of the unwritten orders", err, len(b.Failed()))
	}
	handle(msgs)
	if o := store.orders["o-3"]; o.Status != inventory.StatusShipped || lineShorts(o)["p-1"] != 2 {
		t.Fatalf("o-3 after the retry: %+v", o)
	}
	if l := level("p-1"); l.OnHand != 3 || l.Reserved != 3 {
		t.Fatalf("p-1 after o-3 shipped 2 and o-4 reserved 3: %+v", l)
	}
}

// starvedLog is generated traffic of the function's topics without the
// restocks, received shipments and stock counts (but the first) of about a
// third of the products, so that their orders outrun their stock.
func starvedLog(t testing.TB, cfg generator.Config, draws int) *kafkaLog {
	t.Helper()
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := esmtest.NewLog(partitions, event.TopicInventory, event.TopicTransactions)
	counted := map[string]bool{}
	for range draws {
		r := g.Next()
		h := fnv.New32a()
		h.Write([]byte(r.Key))
		starved := r.Topic == event.TopicInventory && h.Sum32()%3 == 0
		switch r.Type {
		case event.TypeRestocked, event.TypeShipmentReceived:
			if starved {
				continue
			}
		case event.TypeStockCounted:
			if starved && counted[r.Key] {
				continue
			}
			counted[r.Key] = true
		}
		l.Add(r)
	}
	return l
}

// partialModel is an independent model of partial reservation: every
// record applied one at a time in event-time order, one warehouse per
// product.
type partialModel struct {
	stock     map[string]*modelLevel
	orders    map[string]*modelOrder
	shortened map[string]bool // "order/product" of every short line
}

type modelLevel struct {
	warehouse        string
	onHand, reserved int64
}

type modelOrder struct {
	status string
	lines  []inventory.Line
}

func newPartialModel(recs []events.KafkaRecord) (*partialModel, error) {
	m := &partialModel{stock: map[string]*modelLevel{}, orders: map[string]*modelOrder{}, shortened: map[string]bool{}}
	dec := event.NewDecoder()
	level := func(id string) *modelLevel {
		l := m.stock[id]
		if l == nil {
			l = &modelLevel{}
			m.stock[id] = l
		}
		return l
	}
	inv := func(s event.Stock) *modelLevel {
		l := level(s.ProductID)
		if l.warehouse == "" {
			l.warehouse = s.WarehouseID
		}
		return l
	}
	for _, r := range recs {
		v, err := base64.StdEncoding.DecodeString(r.Value)
		if err != nil {
			return nil, err
		}
		e, err := dec.Decode(v, event.Source{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset})
		if err != nil {
			continue // a dead letter
		}
		switch e := e.(type) {
		case *event.StockAdjusted:
			inv(e.Stock).onHand += int64(e.Change)
		case *event.Restocked:
			inv(e.Stock).onHand += int64(e.Quantity)
		case *event.ShipmentReceived:
			inv(e.Stock).onHand += int64(e.Quantity)
		case *event.StockCounted:
			if e.WarehouseID == "" {
				continue // rejected
			}
			inv(e.Stock).onHand = int64(e.Quantity)
		case *event.OrderCreated:
			if m.orders[e.OrderID] != nil {
				return nil, fmt.Errorf("order %s created twice", e.OrderID)
			}
			o := &modelOrder{status: inventory.StatusReserved}
			for _, it := range e.Items {
				i := slices.IndexFunc(o.lines, func(l inventory.Line) bool { return l.ProductID == it.ProductID })
				if i < 0 {
					o.lines = append(o.lines, inventory.Line{ProductID: it.ProductID})
					i = len(o.lines) - 1
				}
				o.lines[i].Quantity += int64(it.Quantity)
			}
			for i := range o.lines {
				ln := &o.lines[i]
				l := level(ln.ProductID)
				take := min(ln.Quantity, max(0, l.onHand-l.reserved))
				l.reserved += take
				if ln.Short = ln.Quantity - take; ln.Short > 0 {
					o.status = inventory.StatusPartiallyReserved
					m.shortened[e.OrderID+"/"+ln.ProductID] = true
				}
			}
			m.orders[e.OrderID] = o
		case *event.OrderShipped:
			o := m.orders[e.OrderID]
			if o == nil || (o.status != inventory.StatusReserved && o.status != inventory.StatusPartiallyReserved) {
				return nil, fmt.Errorf("order %s shipped while %v", e.OrderID, o)
			}
			for _, ln := range o.lines {
				l := level(ln.ProductID)
				l.onHand -= ln.Quantity - ln.Short
				l.reserved -= ln.Quantity - ln.Short
			}
			o.status = inventory.StatusShipped
		case *event.OrderCancelled:
			o := m.orders[e.OrderID]
			if o == nil || (o.status != inventory.StatusReserved && o.status != inventory.StatusPartiallyReserved) {
				return nil, fmt.Errorf("order %s cancelled while %v", e.OrderID, o)
			}
			for _, ln := range o.lines {
				level(ln.ProductID).reserved -= ln.Quantity - ln.Short
			}
			o.status = inventory.StatusCancelled
		case *event.RefundIssued:
			if !e.Restock {
				continue
			}
			if len(e.Items) == 0 {
				return nil, fmt.Errorf("refund of %s lists no items", e.OrderID)
			}
			for _, it := range e.Items {
				level(it.ProductID).onHand += int64(it.Quantity)
			}
		}
	}
	return m, nil
}

// TestPartialReservationEqualsModel runs generated traffic in which a
// third of the products never get their restocks through the function in
// partial mode, against DynamoDB Local, in event-time order (as a mapping
// reading live traffic does), once, with every batch delivered twice, and
// with every batch cut at a random point and then retried; and compares
// the final stock, every order's state and short quantities, and the
// backordered alerts with the independent model.
func TestPartialReservationEqualsModel(t *testing.T) {
	t.Parallel()
	l := starvedLog(t, generator.Config{Seed: 17, Products: 40, EventsPerSecond: 5}, 40_000)
	var all []events.KafkaRecord
	for _, tp := range l.Parts {
		all = append(all, l.Records[tp]...)
	}
	slices.SortStableFunc(all, func(a, b events.KafkaRecord) int { return a.Timestamp.Compare(b.Timestamp.Time) })
	model, err := newPartialModel(all)
	if err != nil {
		t.Fatal(err)
	}
	partial, shipped, cancelled := 0, 0, 0
	for _, o := range model.orders {
		if slices.ContainsFunc(o.lines, func(l inventory.Line) bool { return l.Short > 0 }) {
			partial++
			switch o.status {
			case inventory.StatusShipped:
				shipped++
			case inventory.StatusCancelled:
				cancelled++
			}
		}
	}
	t.Logf("%d records, %d orders, %d partially reserved (%d shipped since, %d cancelled)", l.Count, len(model.orders), partial, shipped, cancelled)
	if partial < 20 || shipped == 0 || cancelled == 0 {
		t.Fatalf("the starved run has %d partial orders, %d shipped, %d cancelled: too few to test", partial, shipped, cancelled)
	}
	batches := l.LiveBatches(500)
	for _, mode := range []deliveryMode{once, twice, cutOffs} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := inventory.NewDynamoDB(dynamotest.Client(t), inventory.Tables{
				Stock: dynamotest.TableName(t, "stock"), Orders: dynamotest.TableName(t, "orders"), Alerts: dynamotest.TableName(t, "alerts"),
			})
			if err := store.CreateTables(ctx); err != nil {
				t.Fatal(err)
			}
			flaky := &flakyStore{Store: store}
			mem := &memAlerts{}
			h := inventory.New(flaky, flakyAlerts{flaky, inventory.Alerts{store, mem}}, inventory.WithPolicy(partialPolicy))
			var dl bytes.Buffer
			proc, err := kafkabatch.NewProcessor(inventory.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&dl)))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(mode), 9))
			deliver := func(ev events.KafkaEvent, mustSucceed bool) {
				resp, err := proc.Process(ctx, ev)
				if mustSucceed && (err != nil || len(resp.BatchItemFailures) > 0) {
					t.Fatalf("batch: %v %+v", err, resp)
				}
				if err != nil && !errors.Is(err, errInjected) {
					t.Fatalf("batch: %v", err)
				}
			}
			for _, ev := range batches {
				switch mode {
				case once:
					deliver(ev, true)
				case twice:
					deliver(ev, true)
					deliver(ev, true)
				case cutOffs:
					flaky.arm(rng.IntN(60))
					deliver(ev, false)
					flaky.disarm()
					deliver(ev, true) // the retry: what the cut attempt wrote is a replay
				}
			}
			if mode == cutOffs && flaky.cuts.Load() == 0 {
				t.Fatal("no invocation was cut")
			}
			t.Logf("%s: %d product writes, %d partial reservations, %d cuts", mode, h.Stats().ProductWrites.Load(), h.Stats().Shorted.Load(), flaky.cuts.Load())
			for _, d := range comparePartial(ctx, t, store, model) {
				t.Error(d)
			}
			got := map[string]bool{}
			for _, a := range mem.byID {
				if a.Kind == inventory.KindBackordered {
					got[a.OrderID+"/"+a.ProductID] = true
				}
			}
			if !maps.Equal(got, model.shortened) {
				t.Errorf("%d distinct backordered alerts, the model has %d short lines", len(got), len(model.shortened))
			}
		})
	}
}

// comparePartial lists the differences between the stored state and the
// model.
func comparePartial(ctx context.Context, t *testing.T, store *inventory.DynamoDB, m *partialModel) []string {
	t.Helper()
	products, err := store.AllProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orders, err := store.AllOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	seen := map[string]bool{}
	for _, p := range products {
		if len(p.Backorders) > 0 {
			diffs = append(diffs, fmt.Sprintf("product %s has backorders %v in partial mode", p.ID, p.Backorders))
		}
		want := m.stock[p.ID]
		if want == nil {
			diffs = append(diffs, fmt.Sprintf("product %s is not in the model", p.ID))
			continue
		}
		seen[p.ID] = true
		l := p.Warehouses[want.warehouse]
		if len(p.Warehouses) != 1 || l == nil || l.OnHand != want.onHand || l.Reserved != want.reserved {
			diffs = append(diffs, fmt.Sprintf("product %s: %v; want %s on hand %d reserved %d", p.ID, levels(p), want.warehouse, want.onHand, want.reserved))
		}
	}
	for id := range m.stock {
		if !seen[id] {
			diffs = append(diffs, fmt.Sprintf("product %s missing", id))
		}
	}
	byID := map[string]*inventory.Order{}
	for _, o := range orders {
		byID[o.ID] = o
	}
	for id, want := range m.orders {
		o := byID[id]
		delete(byID, id)
		if o == nil {
			diffs = append(diffs, fmt.Sprintf("order %s missing", id))
			continue
		}
		if st := inventory.State(o, nil); st != want.status || !slices.Equal(o.Lines, want.lines) {
			diffs = append(diffs, fmt.Sprintf("order %s is %s %+v; want %s %+v", id, st, o.Lines, want.status, want.lines))
		}
	}
	for id := range byID {
		diffs = append(diffs, fmt.Sprintf("order %s is not in the model", id))
	}
	if len(diffs) > 30 {
		diffs = append(diffs[:30], fmt.Sprintf("and %d more", len(diffs)-30))
	}
	return diffs
}

func levels(p *inventory.Product) string {
	s := ""
	for _, w := range slices.Sorted(maps.Keys(p.Warehouses)) {
		l := p.Warehouses[w]
		s += fmt.Sprintf("%s on hand %d reserved %d; ", w, l.OnHand, l.Reserved)
	}
	return s
}
