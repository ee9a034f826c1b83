package inventory_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// kafkaLog is generated traffic as the function's topics hold it.
type kafkaLog = esmtest.Log

const partitions = 4

func newKafkaLog(t testing.TB, cfg generator.Config, n int) (*kafkaLog, *generator.Truth) {
	t.Helper()
	return esmtest.Generate(t, cfg, n, partitions, event.TopicInventory, event.TopicTransactions)
}

// flakyStore wraps a Store and, while armed, fails every call after the
// first budget writes: an invocation cut at a random point.
type flakyStore struct {
	inventory.Store
	mu     sync.Mutex
	armed  bool
	budget int
	cuts   atomic.Int64
}

var errInjected = errors.New("injected failure")

func (f *flakyStore) spend() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	if f.budget <= 0 {
		f.cuts.Add(1)
		return errInjected
	}
	f.budget--
	return nil
}

func (f *flakyStore) arm(budget int) {
	f.mu.Lock()
	f.armed, f.budget = true, budget
	f.mu.Unlock()
}

func (f *flakyStore) disarm() {
	f.mu.Lock()
	f.armed = false
	f.mu.Unlock()
}

func (f *flakyStore) Products(ctx context.Context, ids []string) (map[string]*inventory.Product, error) {
	if err := f.spend(); err != nil {
		return nil, err
	}
	return f.Store.Products(ctx, ids)
}

func (f *flakyStore) PutProduct(ctx context.Context, p *inventory.Product) error {
	if err := f.spend(); err != nil {
		return err
	}
	return f.Store.PutProduct(ctx, p)
}

func (f *flakyStore) PutOrders(ctx context.Context, o []*inventory.Order) error {
	if err := f.spend(); err != nil {
		return err
	}
	return f.Store.PutOrders(ctx, o)
}

// flakyAlerts fails alert sends when its store has spent its budget.
type flakyAlerts struct {
	f    *flakyStore
	sink inventory.AlertSink
}

func (a flakyAlerts) Send(ctx context.Context, as []*event.InventoryAlert) error {
	if err := a.f.spend(); err != nil {
		return err
	}
	return a.sink.Send(ctx, as)
}

// deliveryMode is how the test's event source mapping delivers batches.
type deliveryMode int

const (
	once    deliveryMode = iota // each batch once
	twice                       // each batch twice in a row
	cutOffs                     // each batch cut at a random point, then retried as the response says
)

func (m deliveryMode) String() string { return [...]string{"once", "twice", "cut"}[m] }

// consume delivers the whole log to proc in batches that mix partitions and
// let transactions run ahead of inventory_updates (and back), so orders meet
// stock that is behind or ahead of them in event time. It returns the
// number of invocations.
func consume(t testing.TB, ctx context.Context, proc *kafkabatch.Processor, l *kafkaLog, mode deliveryMode,
	flaky *flakyStore, rng *rand.Rand, batch int) int {
	t.Helper()
	b := esmtest.Batches{Log: l, Size: batch, Rand: rng, Lead: esmtest.Alternate(20, event.TopicTransactions, event.TopicInventory)}
	invocations := 0
	for {
		ev, ok := b.Next()
		if !ok {
			return invocations
		}
		deliver := func() (kafkabatch.Response, error) {
			invocations++
			return proc.Process(ctx, ev)
		}
		var resp kafkabatch.Response
		var err error
		switch mode {
		case once:
			resp, err = deliver()
		case twice:
			if _, err = deliver(); err != nil {
				t.Fatalf("first delivery: %v", err)
			}
			resp, err = deliver()
		case cutOffs:
			flaky.arm(rng.IntN(40))
			resp, err = deliver()
			flaky.disarm()
		}
		if err != nil {
			if !errors.Is(err, errInjected) {
				t.Fatalf("batch: %v", err)
			}
			continue // the whole batch again
		}
		if b.Commit(resp) > 0 && mode != cutOffs {
			t.Fatalf("batch failed without an injected fault: %+v", resp)
		}
	}
}

func newPipeline(t testing.TB, ctx context.Context, dl *bytes.Buffer) (*inventory.DynamoDB, *flakyStore, *inventory.Handler, *kafkabatch.Processor, *memAlerts) {
	t.Helper()
	store := inventory.NewDynamoDB(dynamotest.Client(t), inventory.Tables{
		Stock:  dynamotest.TableName(t, "stock"),
		Orders: dynamotest.TableName(t, "orders"),
		Alerts: dynamotest.TableName(t, "alerts"),
	})
	if err := store.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	flaky := &flakyStore{Store: store}
	alerts := &memAlerts{}
	h := inventory.New(flaky, flakyAlerts{flaky, inventory.Alerts{store, alerts}})
	proc, err := kafkabatch.NewProcessor(inventory.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(dl)))
	if err != nil {
		t.Fatal(err)
	}
	return store, flaky, h, proc, alerts
}

// memAlerts keeps alerts by id.
type memAlerts struct {
	mu   sync.Mutex
	byID map[string]*event.InventoryAlert
	sent int
}

func (m *memAlerts) Send(_ context.Context, as []*event.InventoryAlert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID == nil {
		m.byID = map[string]*event.InventoryAlert{}
	}
	for _, a := range as {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("invalid alert: %w", err)
		}
		m.byID[a.EventID] = a
		m.sent++
	}
	return nil
}

// TestFinalStateEqualsTruth drives the handler with a generated run, once,
// with every batch delivered twice, and with batches cut at random points
// and retried, and compares every product's stock and every order's state
// with the generator's truth.
func TestFinalStateEqualsTruth(t *testing.T) {
	t.Parallel()
	cfg := generator.Config{Seed: 11, LegacyShare: 0.2}
	l, truth := newKafkaLog(t, cfg, 30000)
	if len(truth.OrderStates) < 100 {
		t.Fatalf("only %d orders in the run", len(truth.OrderStates))
	}
	for _, mode := range []deliveryMode{once, twice, cutOffs} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var dl bytes.Buffer
			store, flaky, h, proc, _ := newPipeline(t, ctx, &dl)
			rng := rand.New(rand.NewPCG(uint64(mode)+1, 7))
			n := consume(t, ctx, proc, l, mode, flaky, rng, 500)
			t.Logf("%s: %d records in %d invocations, %d cuts, %d product writes, %d conflicts, %d backorders on the way",
				mode, l.Count, n, flaky.cuts.Load(), h.Stats().ProductWrites.Load(), h.Stats().Conflicts.Load(), h.Stats().Backorders.Load())
			if mode == cutOffs && flaky.cuts.Load() == 0 {
				t.Fatal("no invocation was cut")
			}
			for _, d := range inventoryCompare(ctx, store, truth) {
				t.Error(d)
			}
			// Every bad record of the function's topics was dead-lettered
			// with the truth's reason; nothing else was.
			want := map[string]event.Reason{}
			for _, b := range truth.BadRecords {
				if b.Topic == event.TopicInventory || b.Topic == event.TopicTransactions {
					want[b.SHA256] = b.Reason
				}
			}
			got := map[string]event.Reason{}
			dec := json.NewDecoder(&dl)
			for dec.More() {
				var letter event.DeadLetter
				if err := dec.Decode(&letter); err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(letter.RecordValue)
				got[hex.EncodeToString(sum[:])] = letter.Reason
			}
			if len(want) == 0 || !maps.Equal(got, want) {
				t.Errorf("dead letters by value: %d, the truth's bad records: %d (or reasons differ)", len(got), len(want))
			}
		})
	}
}

var inventoryCompare = inventory.Compare

// TestAlertsOncePerCrossing: stock that runs low and out over several
// batches, each delivered twice, leaves one low_stock and one out_of_stock
// alert in the alerts table; a restock and a new fall alert again.
func TestAlertsOncePerCrossing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var dl bytes.Buffer
	store, _, _, proc, mem := newPipeline(t, ctx, &dl)
	var recs []events.KafkaRecord
	add := func(e event.Event) {
		v, err := event.AppendJSON(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, events.KafkaRecord{Topic: event.TopicInventory, Offset: int64(len(recs)),
			Key: base64.StdEncoding.EncodeToString([]byte("p-1")), Value: base64.StdEncoding.EncodeToString(v)})
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stock := event.Stock{ProductID: "p-1", WarehouseID: "wh-01"}
	add(&event.StockCounted{Envelope: event.Envelope{EventID: "e-0", EventType: event.TypeStockCounted, SchemaVersion: 1, OccurredAt: at}, Stock: stock, Quantity: 14})
	for i := 1; i <= 14; i++ { // 13 .. 0: low at 10, out at 0
		add(&event.StockAdjusted{Envelope: event.Envelope{EventID: fmt.Sprint("e-", i), EventType: event.TypeStockAdjusted, SchemaVersion: 1,
			OccurredAt: at.Add(time.Duration(i) * time.Second)}, Stock: stock, Change: -1})
	}
	add(&event.Restocked{Envelope: event.Envelope{EventID: "e-15", EventType: event.TypeRestocked, SchemaVersion: 1, OccurredAt: at.Add(15 * time.Second)}, Stock: stock, Quantity: 20})
	add(&event.StockAdjusted{Envelope: event.Envelope{EventID: "e-16", EventType: event.TypeStockAdjusted, SchemaVersion: 1, OccurredAt: at.Add(16 * time.Second)}, Stock: stock, Change: -15})
	for chunk := range slices.Chunk(recs, 3) {
		ev := events.KafkaEvent{Records: map[string][]events.KafkaRecord{"inventory_updates-0": chunk}}
		for range 2 {
			if resp, err := proc.Process(ctx, ev); err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("%v %+v", err, resp)
			}
		}
	}
	items, err := store.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, it := range items {
		kinds = append(kinds, it["kind"].(*types.AttributeValueMemberS).Value)
	}
	slices.Sort(kinds)
	if want := []string{"low_stock", "low_stock", "out_of_stock"}; !slices.Equal(kinds, want) {
		t.Fatalf("alerts table holds %v, want %v", kinds, want)
	}
	if len(mem.byID) != 3 {
		t.Fatalf("%d distinct alerts on the topic sink, want 3", len(mem.byID))
	}
}

// TestConcurrentInvocations: two invocations at a time, one consuming
// inventory_updates and one transactions (as two event source mappings, or
// one with several pollers, do), write the same products; version conflicts
// are retried and the final state still equals the truth.
func TestConcurrentInvocations(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, generator.Config{Seed: 21}, 20000)
	ctx := context.Background()
	var dl bytes.Buffer
	store := inventory.NewDynamoDB(dynamotest.Client(t), inventory.Tables{
		Stock: dynamotest.TableName(t, "stock"), Orders: dynamotest.TableName(t, "orders"), Alerts: dynamotest.TableName(t, "alerts"),
	})
	if err := store.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	var conflicts atomic.Int64
	t.Run("group", func(t *testing.T) {
		for i, topic := range []string{event.TopicInventory, event.TopicTransactions} {
			t.Run(topic, func(t *testing.T) {
				t.Parallel()
				h := inventory.New(store, &memAlerts{})
				proc, err := kafkabatch.NewProcessor(inventory.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&lockedWriter{w: &dl})))
				if err != nil {
					t.Fatal(err)
				}
				consume(t, ctx, proc, l.Only(topic), once, nil, rand.New(rand.NewPCG(uint64(i), 3)), 60)
				conflicts.Add(h.Stats().Conflicts.Load())
			})
		}
	})
	t.Logf("%d version conflicts retried", conflicts.Load())
	for _, d := range inventoryCompare(ctx, store, truth) {
		t.Error(d)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// racingStore lets another writer write a product between a handler's read
// and its write, once: a version conflict on demand.
type racingStore struct {
	inventory.Store
	once sync.Once
	race func()
}

func (r *racingStore) PutProduct(ctx context.Context, p *inventory.Product) error {
	r.once.Do(r.race)
	return r.Store.PutProduct(ctx, p)
}

// TestVersionConflict: a product written by another invocation between this
// one's read and write is reloaded and refolded; both changes stand.
func TestVersionConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := inventory.NewDynamoDB(dynamotest.Client(t), inventory.Tables{
		Stock: dynamotest.TableName(t, "stock"), Orders: dynamotest.TableName(t, "orders"), Alerts: dynamotest.TableName(t, "alerts"),
	})
	if err := store.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	other := inventory.New(store, &memAlerts{})
	racing := &racingStore{Store: store, race: func() {
		if err := other.Handle(ctx, batchOf(counted("p-1", 50, 1))); err != nil {
			t.Error(err)
		}
	}}
	h := inventory.New(racing, &memAlerts{})
	o := created("o-1", 2, items("p-1", 4))
	b := kafkabatch.NewBatch([]*kafkabatch.Message{{Record: kafkabatch.Record{Topic: event.TopicTransactions, Partition: 3, Offset: 7}, Event: o}})
	if err := h.Handle(ctx, b); err != nil || len(b.Failed()) > 0 {
		t.Fatalf("%v %v", err, b.Failed())
	}
	if n := h.Stats().Conflicts.Load(); n != 1 {
		t.Fatalf("%d conflicts, want 1", n)
	}
	ps, err := store.Products(ctx, []string{"p-1"})
	if err != nil {
		t.Fatal(err)
	}
	p := ps["p-1"]
	if l := p.Warehouses["wh-01"]; l == nil || l.OnHand != 50 || l.Reserved != 4 || p.Version != 2 || len(p.Marks) != 2 {
		t.Fatalf("product after the race: %+v %+v", p, p.Warehouses)
	}
}

// TestDenseLegacyTraffic: at 3,000 events per second of event time many
// events share a millisecond, and a tenth come in producer shapes whose
// timestamps have whole seconds only; a count and a change of one product
// are then ordered by their offsets, and the final state still equals the
// truth.
func TestDenseLegacyTraffic(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, generator.Config{Seed: 6, EventsPerSecond: 3000, LegacyShare: 0.1}, 30000)
	ctx := context.Background()
	var dl bytes.Buffer
	store, flaky, _, proc, _ := newPipeline(t, ctx, &dl)
	consume(t, ctx, proc, l, once, flaky, rand.New(rand.NewPCG(1, 2)), 500)
	for _, d := range inventoryCompare(ctx, store, truth) {
		t.Error(d)
	}
}
