package support_test

import (
	"context"
	"errors"
	"maps"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shopstream/shopstream/functions/support/internal/support"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// kafkaLog is generated traffic as the function's topics hold it.
type kafkaLog = esmtest.Log

const partitions = 4

// feedbackTraffic is a generator configuration with feedback enough to
// test with: sparse traffic spans hours of event time, so that orders
// ship and get rated; a fifth in producer shapes.
var feedbackTraffic = generator.Config{Seed: 11, EventsPerSecond: 2, LegacyShare: 0.2}

func newKafkaLog(t testing.TB, cfg generator.Config, n int) (*kafkaLog, *generator.Truth) {
	t.Helper()
	return esmtest.Generate(t, cfg, n, partitions, event.TopicFeedback, event.TopicTransactions)
}

// memStore is a Store in memory, with the DynamoDB store's semantics:
// versioned subjects, summed ratings, cases by id.
type memStore struct {
	mu       sync.Mutex
	subjects map[string]*support.Subject
	ratings  map[support.RatingKey]support.Ratings
	cases    map[string]*support.Case
}

func newMemStore() *memStore {
	return &memStore{subjects: map[string]*support.Subject{}, ratings: map[support.RatingKey]support.Ratings{}, cases: map[string]*support.Case{}}
}

func (m *memStore) Subjects(_ context.Context, ids []string) (map[string]*support.Subject, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]*support.Subject{}
	for _, id := range ids {
		if s, ok := m.subjects[id]; ok {
			out[id] = s.Clone()
		}
	}
	return out, nil
}

func (m *memStore) Commit(_ context.Context, changes []*support.Change) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var conflicts []string
	for _, c := range changes {
		var v int64
		if s, ok := m.subjects[c.Next.ID]; ok {
			v = s.Version
		}
		if v != c.Prev {
			conflicts = append(conflicts, c.Next.ID)
			continue
		}
		m.subjects[c.Next.ID] = c.Next.Clone()
		for k, d := range c.Ratings {
			r := m.ratings[k]
			r.Count += d.Count
			r.Sum += d.Sum
			for i := range r.Dist {
				r.Dist[i] += d.Dist[i]
			}
			m.ratings[k] = r
		}
		if c.Case != nil {
			m.cases[c.Case.ID] = c.Case
		}
	}
	return conflicts, nil
}

func (m *memStore) state() (map[support.RatingKey]support.Ratings, []*support.Case) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := maps.Clone(m.ratings)
	maps.DeleteFunc(r, func(_ support.RatingKey, v support.Ratings) bool { return v.Zero() })
	return r, sortedCases(m.cases)
}

func sortedCases(m map[string]*support.Case) []*support.Case {
	out := make([]*support.Case, 0, len(m))
	for _, id := range sortedKeys(m) {
		out = append(out, m[id])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// memAlerts keeps published alerts by id.
type memAlerts struct {
	mu        sync.Mutex
	byID      map[string]*support.Alert
	published int
}

func (m *memAlerts) Publish(_ context.Context, as []*support.Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID == nil {
		m.byID = map[string]*support.Alert{}
	}
	for _, a := range as {
		m.byID[a.EventID] = a
		m.published++
	}
	return nil
}

var errInjected = errors.New("injected failure")

// flakyStore wraps a Store and, while armed, fails after its budget of
// calls; a Commit that runs out writes a prefix of its changes, then
// fails: an invocation cut at any point.
type flakyStore struct {
	support.Store
	mu     sync.Mutex
	armed  bool
	budget int
	cuts   atomic.Int64
}

func (f *flakyStore) arm(budget int) { f.mu.Lock(); f.armed, f.budget = true, budget; f.mu.Unlock() }
func (f *flakyStore) disarm()        { f.mu.Lock(); f.armed = false; f.mu.Unlock() }

// spend takes one unit of the budget; it returns false when there is none.
func (f *flakyStore) spend() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return true
	}
	if f.budget <= 0 {
		f.cuts.Add(1)
		return false
	}
	f.budget--
	return true
}

func (f *flakyStore) Subjects(ctx context.Context, ids []string) (map[string]*support.Subject, error) {
	if !f.spend() {
		return nil, errInjected
	}
	return f.Store.Subjects(ctx, ids)
}

func (f *flakyStore) Commit(ctx context.Context, changes []*support.Change) ([]string, error) {
	if f.spend() {
		return f.Store.Commit(ctx, changes)
	}
	half := changes[:len(changes)/2]
	if _, err := f.Store.Commit(ctx, half); err != nil {
		return nil, err
	}
	return nil, errInjected
}
