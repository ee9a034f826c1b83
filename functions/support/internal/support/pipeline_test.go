package support_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/support/internal/support"
	"github.com/shopstream/shopstream/shared/dynamotest"
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
	halved                      // the first half of each batch, then the whole batch
	cutOffs                     // each invocation cut at a random point, then retried as the response says
)

func (m deliveryMode) String() string { return [...]string{"once", "twice", "halved", "cut"}[m] }

// consume delivers the whole log to proc in batches that mix partitions
// and topics, and let one topic run ahead of the other for a while (ahead
// says which first: "" alternates every 4 batches), so that feedback meets
// its order's context before and after it arrives. It returns the number of
// invocations.
func consume(t testing.TB, ctx context.Context, proc *kafkabatch.Processor, l *kafkaLog, mode deliveryMode,
	flaky *flakyStore, rng *rand.Rand, batch int, ahead string) int {
	t.Helper()
	lead := esmtest.Alternate(4, event.TopicTransactions, event.TopicFeedback)
	if ahead != "" {
		lead = func(int) string { return ahead }
	}
	b := esmtest.Batches{Log: l, Size: batch, Rand: rng, Behind: 8, Lead: lead}
	invocations := 0
	for {
		ev, ok := b.Next()
		if !ok {
			return invocations
		}
		deliver := func(ev events.KafkaEvent) (kafkabatch.Response, error) {
			invocations++
			return proc.Process(ctx, ev)
		}
		var resp kafkabatch.Response
		var err error
		switch mode {
		case once:
			resp, err = deliver(ev)
		case twice:
			if _, err = deliver(ev); err != nil {
				t.Fatalf("first delivery: %v", err)
			}
			resp, err = deliver(ev)
		case halved:
			half := events.KafkaEvent{EventSource: ev.EventSource, Records: map[string][]events.KafkaRecord{}}
			for tp, rs := range ev.Records {
				if n := len(rs) / 2; n > 0 {
					half.Records[tp] = rs[:n]
				}
			}
			if len(half.Records) > 0 {
				if r, err := deliver(half); err != nil || len(r.BatchItemFailures) > 0 {
					t.Fatalf("first half: %v %+v", err, r)
				}
			}
			resp, err = deliver(ev)
		case cutOffs:
			flaky.arm(rng.IntN(4))
			resp, err = deliver(ev)
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

func newStore(t testing.TB, ctx context.Context) *support.DynamoDB {
	t.Helper()
	store, _ := newTables(t, ctx)
	return store
}

func newTables(t testing.TB, ctx context.Context) (*support.DynamoDB, support.Tables) {
	t.Helper()
	tables := support.Tables{
		Subjects: dynamotest.TableName(t, "subjects"),
		Ratings:  dynamotest.TableName(t, "ratings"),
		Cases:    dynamotest.TableName(t, "cases"),
	}
	store := support.NewDynamoDB(dynamotest.Client(t), tables)
	if err := store.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	return store, tables
}

func newPipeline(t testing.TB, ctx context.Context, dl *bytes.Buffer) (*support.DynamoDB, *flakyStore, *support.Handler, *kafkabatch.Processor, *memAlerts) {
	t.Helper()
	store := newStore(t, ctx)
	flaky := &flakyStore{Store: store}
	alerts := &memAlerts{}
	h := support.New(flaky, alerts)
	proc, err := kafkabatch.NewProcessor(support.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(dl)))
	if err != nil {
		t.Fatal(err)
	}
	return store, flaky, h, proc, alerts
}

// checkTruth compares the store with the truth, and the alerts published
// with the truth's high-priority cases.
func checkTruth(t *testing.T, ctx context.Context, store *support.DynamoDB, alerts *memAlerts, truth *generator.Truth) {
	t.Helper()
	for _, d := range support.Compare(ctx, store, truth) {
		t.Error(d)
	}
	if alerts == nil {
		return
	}
	high := 0
	for _, c := range truth.Support.Cases {
		if c.Priority == support.PriorityHigh {
			high++
		}
	}
	cases, err := store.AllCases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.AlertID != "" && alerts.byID[c.AlertID] == nil {
			t.Errorf("case %s is high priority; its alert %s was never published", c.ID, c.AlertID)
		}
	}
	if len(alerts.byID) != high {
		t.Errorf("%d distinct alerts published, the truth has %d high-priority cases", len(alerts.byID), high)
	}
}

// checkDeadLetters: every bad record of the function's topics was
// dead-lettered with the truth's reason; nothing else was.
func checkDeadLetters(t *testing.T, dl *bytes.Buffer, truth *generator.Truth) {
	t.Helper()
	want := map[string]event.Reason{}
	for _, b := range truth.BadRecords {
		if b.Topic == event.TopicFeedback || b.Topic == event.TopicTransactions {
			want[b.SHA256] = b.Reason
		}
	}
	got := map[string]event.Reason{}
	dec := json.NewDecoder(dl)
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
}

// checkRun makes sure the run exercises what the tests claim: cases of
// every priority, with and without order context, ratings in several
// hours.
func checkRun(t *testing.T, truth *generator.Truth) {
	t.Helper()
	prios := map[string]int{}
	orderless := 0
	for _, c := range truth.Support.Cases {
		prios[c.Priority]++
		if c.OrderID == "" {
			orderless++
		}
	}
	hours := map[int64]bool{}
	for _, r := range truth.Support.Ratings {
		hours[r.Hour.Unix()] = true
	}
	if prios[support.PriorityHigh] < 5 || prios[support.PriorityMedium] < 5 || orderless < 3 || len(hours) < 3 {
		t.Fatalf("the run is too thin: cases by priority %v, %d without order, ratings in %d hours", prios, orderless, len(hours))
	}
}

// TestFinalStateEqualsTruth drives the handler with a generated run (a
// fifth of the records in producer shapes, one in a hundred bad) against
// DynamoDB Local: each batch once, twice, its first half then all of it,
// and cut at random points and retried; and with feedback running ahead of
// the transactions that give its order context. Each ends with rating
// aggregates and cases equal to the truth, an alert for every high-priority
// case, and every bad record dead-lettered.
func TestFinalStateEqualsTruth(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, feedbackTraffic, 20000)
	checkRun(t, truth)
	type run struct {
		mode  deliveryMode
		ahead string
	}
	for _, r := range []run{{once, ""}, {twice, ""}, {halved, ""}, {cutOffs, ""}, {cutOffs, event.TopicFeedback}} {
		name := r.mode.String()
		if r.ahead != "" {
			name += "/" + r.ahead + "_ahead"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var dl bytes.Buffer
			store, flaky, h, proc, alerts := newPipeline(t, ctx, &dl)
			rng := rand.New(rand.NewPCG(uint64(r.mode)+1, 7))
			n := consume(t, ctx, proc, l, r.mode, flaky, rng, 1500, r.ahead)
			st := h.Stats()
			t.Logf("%d records in %d invocations, %d cuts: %d feedback, %d order events, %d subject writes, %d case writes, %d alerts",
				l.Count, n, flaky.cuts.Load(), st.Feedback.Load(), st.OrderEvents.Load(), st.Changes.Load(), st.Cases.Load(), st.Alerts.Load())
			if r.mode == cutOffs && flaky.cuts.Load() == 0 {
				t.Fatal("no invocation was cut")
			}
			checkTruth(t, ctx, store, alerts, truth)
			checkDeadLetters(t, &dl, truth)
		})
	}
}

// TestConcurrentInvocations: two invocations at a time, one consuming
// customer_feedback and one transactions (as two pollers of one mapping
// do), write the same subjects and rating items; the final state equals the
// truth. (TestVersionConflict forces the conflict this may or may not meet.)
func TestConcurrentInvocations(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, feedbackTraffic, 10000)
	ctx := context.Background()
	store := newStore(t, ctx)
	var mu sync.Mutex
	var dl bytes.Buffer
	var conflicts int64
	t.Run("group", func(t *testing.T) {
		for i, topic := range []string{event.TopicFeedback, event.TopicTransactions} {
			t.Run(topic, func(t *testing.T) {
				t.Parallel()
				h := support.New(store, &memAlerts{})
				proc, err := kafkabatch.NewProcessor(support.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&lockedWriter{mu: &mu, w: &dl})))
				if err != nil {
					t.Fatal(err)
				}
				consume(t, ctx, proc, l.Only(topic), once, nil, rand.New(rand.NewPCG(uint64(i), 3)), 40, "")
				mu.Lock()
				conflicts += h.Stats().Conflicts.Load()
				mu.Unlock()
			})
		}
	})
	t.Logf("%d version conflicts retried", conflicts)
	checkTruth(t, ctx, store, nil, truth)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// racingStore lets another writer commit between a handler's read and its
// commit, once: a version conflict on demand.
type racingStore struct {
	support.Store
	once sync.Once
	race func()
}

func (r *racingStore) Commit(ctx context.Context, changes []*support.Change) ([]string, error) {
	r.once.Do(r.race)
	return r.Store.Commit(ctx, changes)
}

// TestVersionConflict: against DynamoDB Local, an order's context written
// by one invocation between another's read of the order and its commit of
// a feedback: the commit fails its condition, the handler reads the order
// again and merges; the case has both the feedback and the context, and
// the rating moved to the product's category once.
func TestVersionConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t, ctx)
	total := event.Money(120000)
	created := &event.OrderCreated{Envelope: env("e-oc", event.TypeOrderCreated, 0), Order: event.Order{OrderID: "o-9", UserID: "u-9",
		Items: []event.Item{{ProductID: "p-9", Quantity: 1, Price: total, Category: "garden"}}, TotalAmount: &total, Currency: "USD"}}
	fb := &event.Feedback{Envelope: env("e-fb", event.TypeFeedback, time.Hour), UserID: "u-9", Rating: 1, Text: "never arrived",
		OrderID: "o-9", ProductID: "p-9"}
	batchOf := func(topic string, e event.Event) *kafkabatch.Batch {
		return kafkabatch.NewBatch([]*kafkabatch.Message{{Record: kafkabatch.Record{Topic: topic, Partition: 1, Offset: 3}, Event: e}})
	}
	other := support.New(store, &memAlerts{})
	racing := &racingStore{Store: store, race: func() {
		if err := other.Handle(ctx, batchOf(event.TopicTransactions, created)); err != nil {
			t.Error(err)
		}
	}}
	alerts := &memAlerts{}
	h := support.New(racing, alerts)
	b := batchOf(event.TopicFeedback, fb)
	if err := h.Handle(ctx, b); err != nil || len(b.Failed()) > 0 {
		t.Fatalf("%v %v", err, b.Failed())
	}
	if n := h.Stats().Conflicts.Load(); n != 1 {
		t.Fatalf("%d conflicts, want 1", n)
	}
	cases, err := store.AllCases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || cases[0].Order == nil || cases[0].Order.Items["p-9"].Category != "garden" || len(cases[0].Feedback) != 1 ||
		cases[0].Priority != support.PriorityHigh || len(alerts.byID) != 1 {
		t.Fatalf("cases after the race: %+v, alerts %v", cases, alerts.byID)
	}
	ratings, err := store.AllRatings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hour := t0.Add(time.Hour).Truncate(time.Hour).Unix()
	want := map[support.RatingKey]support.Ratings{
		{Scope: support.ScopeAll, Hour: hour}:                     {Count: 1, Sum: 1, Dist: [5]int64{1}},
		{Scope: support.ScopeProduct, Key: "p-9", Hour: hour}:     {Count: 1, Sum: 1, Dist: [5]int64{1}},
		{Scope: support.ScopeCategory, Key: "garden", Hour: hour}: {Count: 1, Sum: 1, Dist: [5]int64{1}},
	}
	if !maps.Equal(ratings, want) {
		t.Fatalf("ratings %+v, want %+v", ratings, want)
	}
	got, err := store.RatingsOf(ctx, support.ScopeCategory, "garden", t0, t0.Add(3*time.Hour))
	if err != nil || len(got) != 1 || got[0].Mean != 1 || got[0].Count != 1 || got[0].Hour != hour {
		t.Fatalf("garden ratings %+v %v", got, err)
	}
	if got, err := store.RatingsOf(ctx, support.ScopeCategory, "garden", t0.Add(2*time.Hour), t0.Add(3*time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("garden ratings of a later hour %+v %v", got, err)
	}
}
