package recommendations_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/recommendations/internal/recommendations"
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

// newLog returns an empty log of the function's topics.
func newLog() *kafkaLog {
	return esmtest.NewLog(partitions, event.TopicUserEvents, event.TopicTransactions)
}

func newKafkaLog(t testing.TB, cfg generator.Config, n int) (*kafkaLog, *generator.Truth) {
	t.Helper()
	return esmtest.Generate(t, cfg, n, partitions, event.TopicUserEvents, event.TopicTransactions)
}

// records returns a payload's records in arrival order.
func records(ev events.KafkaEvent) []events.KafkaRecord {
	var all []events.KafkaRecord
	for _, tp := range slices.Sorted(maps.Keys(ev.Records)) {
		all = append(all, ev.Records[tp]...)
	}
	slices.SortStableFunc(all, func(a, b events.KafkaRecord) int { return a.Timestamp.Compare(b.Timestamp.Time) })
	return all
}

// memStore is an in-memory Store and ItemReader, for handler tests and the
// handler's own cost in benchmarks.
type memStore struct {
	mu       sync.Mutex
	items    [2]map[string]*recommendations.Item
	sessions map[string]*recommendations.Session
}

var (
	_ recommendations.Store      = (*memStore)(nil)
	_ recommendations.ItemReader = (*memStore)(nil)
)

func newMemStore() *memStore {
	return &memStore{items: [2]map[string]*recommendations.Item{{}, {}}, sessions: map[string]*recommendations.Session{}}
}

func (m *memStore) Items(_ context.Context, k recommendations.Kind, keys []string) (map[string]*recommendations.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]*recommendations.Item{}
	for _, key := range keys {
		if it, ok := m.items[k][key]; ok {
			out[key] = it.Clone()
		}
	}
	return out, nil
}

func (m *memStore) Item(_ context.Context, k recommendations.Kind, key string) (*recommendations.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it, ok := m.items[k][key]; ok {
		return it.Clone(), nil
	}
	return nil, nil
}

func (m *memStore) PutItem(_ context.Context, k recommendations.Kind, it *recommendations.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var prev int64
	if cur, ok := m.items[k][it.Key]; ok {
		prev = cur.Version
	}
	if prev != it.Version-1 {
		return recommendations.ErrConflict
	}
	m.items[k][it.Key] = it.Clone()
	return nil
}

func (m *memStore) Sessions(_ context.Context, ids []string) (map[string]*recommendations.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]*recommendations.Session{}
	for _, id := range ids {
		if s, ok := m.sessions[id]; ok {
			c := *s
			c.Marks = maps.Clone(s.Marks)
			c.Products = slices.Clone(s.Products)
			out[id] = &c
		}
	}
	return out, nil
}

func (m *memStore) PutSessions(_ context.Context, ss []*recommendations.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range ss {
		c := *s
		c.Marks = maps.Clone(s.Marks)
		c.Products = slices.Clone(s.Products)
		m.sessions[s.ID] = &c
	}
	return nil
}

// flakyStore wraps a Store and, while armed, fails every call after the
// first budget calls: an invocation cut at a random point.
type flakyStore struct {
	recommendations.Store
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

func (f *flakyStore) Items(ctx context.Context, k recommendations.Kind, keys []string) (map[string]*recommendations.Item, error) {
	if err := f.spend(); err != nil {
		return nil, err
	}
	return f.Store.Items(ctx, k, keys)
}

func (f *flakyStore) PutItem(ctx context.Context, k recommendations.Kind, it *recommendations.Item) error {
	if err := f.spend(); err != nil {
		return err
	}
	return f.Store.PutItem(ctx, k, it)
}

func (f *flakyStore) Sessions(ctx context.Context, ids []string) (map[string]*recommendations.Session, error) {
	if err := f.spend(); err != nil {
		return nil, err
	}
	return f.Store.Sessions(ctx, ids)
}

func (f *flakyStore) PutSessions(ctx context.Context, ss []*recommendations.Session) error {
	if err := f.spend(); err != nil {
		return err
	}
	return f.Store.PutSessions(ctx, ss)
}

// newDynamo returns a store on fresh DynamoDB Local tables.
func newDynamo(t testing.TB, ctx context.Context) *recommendations.DynamoDB {
	t.Helper()
	store := recommendations.NewDynamoDB(dynamotest.Client(t), recommendations.Tables{
		Related:  dynamotest.TableName(t, "related"),
		Popular:  dynamotest.TableName(t, "popular"),
		Sessions: dynamotest.TableName(t, "sessions"),
	})
	if err := store.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	return store
}

func newProcessor(t testing.TB, h *recommendations.Handler, dl *bytes.Buffer) *kafkabatch.Processor {
	t.Helper()
	proc, err := kafkabatch.NewProcessor(recommendations.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(dl)))
	if err != nil {
		t.Fatal(err)
	}
	return proc
}

// mustProcess delivers ev and fails the test on any error or failed record.
func mustProcess(t testing.TB, ctx context.Context, proc *kafkabatch.Processor, ev events.KafkaEvent) {
	t.Helper()
	resp, err := proc.Process(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("batch: %v %+v", err, resp)
	}
}
