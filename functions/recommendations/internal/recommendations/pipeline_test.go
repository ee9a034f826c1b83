package recommendations_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/functions/recommendations/internal/recommendations"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// deliveryMode is how the test's event source mapping delivers batches.
type deliveryMode int

const (
	once    deliveryMode = iota // each batch once
	twice                       // each batch twice in a row
	cutOffs                     // each batch cut at a random point, then retried as the response says
)

func (m deliveryMode) String() string { return [...]string{"once", "twice", "cut"}[m] }

// consume delivers the whole log to proc in batches that take an uneven
// share of each partition, letting one topic run ahead of the other for a
// while, so that co-views and co-purchases of one product arrive from many
// partitions in every order. It returns the number of invocations.
func consume(t testing.TB, ctx context.Context, proc *kafkabatch.Processor, l *kafkaLog, mode deliveryMode,
	flaky *flakyStore, rng *rand.Rand, batch int) int {
	t.Helper()
	b := esmtest.Batches{Log: l, Size: batch, Rand: rng, Lead: esmtest.Alternate(20, event.TopicTransactions, event.TopicUserEvents)}
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
			flaky.arm(rng.IntN(150))
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

// TestFinalStateEqualsTruth drives the handler against DynamoDB Local with
// a generated run (a fifth of it in producer shapes, some without sessions
// or categories), once, with every batch delivered twice, and with batches
// cut at random points and retried as the partial batch response says; the
// counts per pair and hour, the categories and the rankings equal what the
// generator's truth makes, and every bad record was dead-lettered with the
// truth's reason.
func TestFinalStateEqualsTruth(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, generator.Config{Seed: 11, LegacyShare: 0.2}, 10000)
	if len(truth.Recs.Pairs) < 500 {
		t.Fatalf("only %d pairs in the run", len(truth.Recs.Pairs))
	}
	for _, mode := range []deliveryMode{once, twice, cutOffs} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := newDynamo(t, ctx)
			flaky := &flakyStore{Store: store}
			h := recommendations.New(flaky)
			var dl bytes.Buffer
			proc := newProcessor(t, h, &dl)
			n := consume(t, ctx, proc, l, mode, flaky, rand.New(rand.NewPCG(uint64(mode)+1, 7)), 1000)
			st := h.Stats()
			t.Logf("%s: %d records in %d invocations, %d cuts, %d contributions, %d item writes, %d session writes",
				mode, l.Count, n, flaky.cuts.Load(), st.Contributions.Load(), st.ItemWrites.Load(), st.SessionWrites.Load())
			if mode == cutOffs && flaky.cuts.Load() == 0 {
				t.Fatal("no invocation was cut")
			}
			for _, d := range recommendations.Compare(ctx, store, truth, recommendations.DefaultPolicy) {
				t.Error(d)
			}
			want := map[string]event.Reason{}
			for _, b := range truth.BadRecords {
				if b.Topic == event.TopicUserEvents || b.Topic == event.TopicTransactions {
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

// TestReplayIdenticalState: the same traffic delivered in batches once,
// with every batch delivered twice, and with every batch cut in half (its
// first half delivered, then the whole batch again, as after a timeout)
// leaves identical tables in DynamoDB, every attribute of every item,
// sessions included. The version counter, the items' concurrency token,
// counts writes: it is identical for the double delivery, which writes
// nothing the second time, and left out for the cut, whose halves make two
// writes of an item where one delivery makes one.
func TestReplayIdenticalState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, truth := newKafkaLog(t, generator.Config{Seed: 5, LegacyShare: 0.1}, 8000)
	batches := l.LiveBatches(800)
	run := func(deliver func(proc *kafkabatch.Processor, ev events.KafkaEvent)) *recommendations.DynamoDB {
		store := newDynamo(t, ctx)
		var dl bytes.Buffer
		proc := newProcessor(t, recommendations.New(store), &dl)
		for _, ev := range batches {
			deliver(proc, ev)
		}
		return store
	}
	base := run(func(proc *kafkabatch.Processor, ev events.KafkaEvent) { mustProcess(t, ctx, proc, ev) })
	doubled := run(func(proc *kafkabatch.Processor, ev events.KafkaEvent) {
		mustProcess(t, ctx, proc, ev)
		mustProcess(t, ctx, proc, ev)
	})
	halves := run(func(proc *kafkabatch.Processor, ev events.KafkaEvent) {
		rs := records(ev)
		mustProcess(t, ctx, proc, esmtest.Payload(rs[:len(rs)/2]))
		mustProcess(t, ctx, proc, ev)
	})
	if d := recommendations.Compare(ctx, base, truth, recommendations.DefaultPolicy); len(d) > 0 {
		t.Fatalf("the single delivery differs from the truth: %v", d)
	}
	tables := func(d *recommendations.DynamoDB) []string {
		tb := reflect.ValueOf(d).Elem().FieldByName("tables")
		return []string{tb.FieldByName("Related").String(), tb.FieldByName("Popular").String(), tb.FieldByName("Sessions").String()}
	}
	key := map[int]string{0: "product_id", 1: "category", 2: "session_id"}
	dump := func(d *recommendations.DynamoDB, i int, dropVersion bool) map[string]map[string]types.AttributeValue {
		items, err := d.Scan(ctx, tables(d)[i])
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]types.AttributeValue{}
		for _, it := range items {
			if dropVersion {
				delete(it, "version")
			}
			out[it[key[i]].(*types.AttributeValueMemberS).Value] = it
		}
		return out
	}
	for i, name := range []string{"related", "popular", "sessions"} {
		want := dump(base, i, false)
		if len(want) == 0 {
			t.Fatalf("%s: no items", name)
		}
		if got := dump(doubled, i, false); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: every batch twice leaves other items (%d, want %d)", name, len(got), len(want))
		}
		wantNoVersion := dump(base, i, true)
		if got := dump(halves, i, true); !reflect.DeepEqual(got, wantNoVersion) {
			n := 0
			for k, v := range wantNoVersion {
				if !reflect.DeepEqual(got[k], v) {
					n++
				}
			}
			t.Errorf("%s: every batch cut in half leaves %d items that differ (%d items, want %d)", name, n, len(got), len(wantNoVersion))
		}
	}
}

// TestConcurrentInvocations: two invocations at a time, each owning half
// of the partitions of both topics (as two pollers of one mapping do),
// write the same products and the same popularity items; the final state
// still equals the truth. (Whether their writes of one item interleave is
// up to the scheduler: TestVersionConflict makes one happen.)
func TestConcurrentInvocations(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, generator.Config{Seed: 21}, 6000)
	ctx := context.Background()
	store := newDynamo(t, ctx)
	var conflicts atomic.Int64
	t.Run("group", func(t *testing.T) {
		for half := range 2 {
			t.Run(fmt.Sprint("half=", half), func(t *testing.T) {
				t.Parallel()
				h := recommendations.New(store)
				var dl bytes.Buffer
				proc := newProcessor(t, h, &dl)
				own := l.Filter(func(_ string, rs []events.KafkaRecord) bool { return len(rs) > 0 && rs[0].Partition%2 == int64(half) })
				consume(t, ctx, proc, own, once, nil, rand.New(rand.NewPCG(uint64(half), 3)), 400)
				conflicts.Add(h.Stats().Conflicts.Load())
			})
		}
	})
	t.Logf("%d version conflicts retried", conflicts.Load())
	for _, d := range recommendations.Compare(ctx, store, truth, recommendations.DefaultPolicy) {
		t.Error(d)
	}
}

// racingStore lets another writer write an item between a handler's read
// and its write, once: a version conflict on demand.
type racingStore struct {
	recommendations.Store
	once sync.Once
	race func()
}

func (r *racingStore) PutItem(ctx context.Context, k recommendations.Kind, it *recommendations.Item) error {
	if k == recommendations.Popular {
		r.once.Do(r.race)
	}
	return r.Store.PutItem(ctx, k, it)
}

// TestVersionConflict: a popularity item written by another invocation
// between this one's read and write is reloaded and refolded; both
// invocations' counts stand.
func TestVersionConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newDynamo(t, ctx)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	other := recommendations.New(store)
	racing := &racingStore{Store: store, race: func() {
		b := kafkabatch.NewBatch([]*kafkabatch.Message{view(event.TopicUserEvents, 1, 4, "s-2", "p-2", "books", at)})
		if err := other.Handle(ctx, b); err != nil || len(b.Failed()) > 0 {
			t.Errorf("the other invocation: %v %v", err, b.Failed())
		}
	}}
	h := recommendations.New(racing)
	b := kafkabatch.NewBatch([]*kafkabatch.Message{view(event.TopicUserEvents, 0, 7, "s-1", "p-1", "books", at)})
	if err := h.Handle(ctx, b); err != nil || len(b.Failed()) > 0 {
		t.Fatalf("%v %v", err, b.Failed())
	}
	// The other invocation wrote both popularity items this one read.
	if n := h.Stats().Conflicts.Load(); n != 2 {
		t.Fatalf("%d conflicts, want 2", n)
	}
	items, err := store.Items(ctx, recommendations.Popular, []string{"books", recommendations.AllCategories})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"books", recommendations.AllCategories} {
		it := items[key]
		if it == nil || len(it.Entries) != 2 || it.Version != 2 || len(it.Top) != 2 || len(it.Marks) != 2 {
			t.Fatalf("%s after the race: %+v", key, it)
		}
	}
}

// view is a product_view message at the given coordinates.
func view(topic string, partition int32, offset int64, session, product, category string, at time.Time) *kafkabatch.Message {
	return &kafkabatch.Message{
		Record: kafkabatch.Record{Topic: topic, Partition: partition, Offset: offset},
		Event: &event.ProductView{Envelope: event.Envelope{EventID: fmt.Sprint("e-", session, "-", offset), EventType: event.TypeProductView,
			SchemaVersion: 1, OccurredAt: at}, Activity: event.Activity{UserID: "u-" + session, SessionID: session},
			ProductID: product, Category: category},
	}
}

// TestCompareFindsDifferences: verification reports a count changed, an
// item missing and a ranking out of order, and nothing on the state that
// equals the truth.
func TestCompareFindsDifferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, truth := newKafkaLog(t, generator.Config{Seed: 9}, 3000)
	store := newDynamo(t, ctx)
	var dl bytes.Buffer
	proc := newProcessor(t, recommendations.New(store), &dl)
	for _, ev := range l.LiveBatches(1000) {
		mustProcess(t, ctx, proc, ev)
	}
	if d := recommendations.Compare(ctx, store, truth, recommendations.DefaultPolicy); len(d) > 0 {
		t.Fatalf("differences before tampering: %v", d)
	}
	pair := truth.Recs.Pairs[0]
	items, err := store.Items(ctx, recommendations.Related, []string{pair.ProductID})
	if err != nil {
		t.Fatal(err)
	}
	it := items[pair.ProductID]
	it.Entries[pair.RelatedID][0].Views++
	it.Top[0], it.Top[len(it.Top)-1] = it.Top[len(it.Top)-1], it.Top[0]
	it.Version++
	if err := store.PutItem(ctx, recommendations.Related, it); err != nil {
		t.Fatal(err)
	}
	diffs := recommendations.Compare(ctx, store, truth, recommendations.DefaultPolicy)
	joined := strings.Join(diffs, "\n")
	if !strings.Contains(joined, "entry "+pair.RelatedID+" counts") || !strings.Contains(joined, "ranking") {
		t.Fatalf("tampered counts and ranking not reported: %v", diffs)
	}
	// A policy the function did not run with ranks differently: reported.
	if d := recommendations.Compare(ctx, store, truth, recommendations.Policy{PurchaseWeight: 1}); len(d) <= len(diffs) {
		t.Fatalf("another policy: %d differences, the tampered state alone %d", len(d), len(diffs))
	}
	empty := newDynamo(t, ctx)
	if d := recommendations.Compare(ctx, empty, truth, recommendations.DefaultPolicy); len(d) < 10 || !strings.Contains(strings.Join(d, "\n"), "missing") {
		t.Fatalf("empty tables: %v", d)
	}
}
