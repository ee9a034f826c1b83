package esm

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// store is an idempotent sink, as the project's functions write: applying a
// record twice changes nothing. It counts deliveries too.
type store struct {
	mu        sync.Mutex
	applied   map[coord]string
	delivered int
}

func (s *store) apply(r got) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.applied == nil {
		s.applied = make(map[coord]string)
	}
	s.applied[r.coord] = r.Value
	s.delivered++
}

func (s *store) check(t *testing.T, produced map[coord]string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.applied) != len(produced) {
		t.Errorf("%d records applied, %d produced", len(s.applied), len(produced))
	}
	for co, v := range produced {
		if got, ok := s.applied[co]; !ok || got != v {
			t.Errorf("%s: applied %q (%v), produced %q", co, got, ok, v)
		}
	}
}

// crashingFunction applies records one by one, and fails mid-batch the
// first time it meets each of its crash points: by panicking, returning an
// error, or running past its timeout.
func crashingFunction(t *testing.T, s *store, panicAt, errorAt, hangAt coord) func(context.Context, events.KafkaEvent) (kafkabatch.Response, error) {
	var mu sync.Mutex
	crashed := make(map[coord]bool)
	first := func(c, at coord) bool {
		mu.Lock()
		defer mu.Unlock()
		if c != at || crashed[at] {
			return false
		}
		crashed[at] = true
		return true
	}
	return func(ctx context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
		for _, r := range flatten(t, &ev) {
			switch {
			case first(r.coord, panicAt):
				panic("nil map write in the middle of a batch")
			case first(r.coord, errorAt):
				return kafkabatch.Response{}, errors.New("connection reset by peer")
			case first(r.coord, hangAt):
				<-ctx.Done() // past the function's timeout
				return kafkabatch.Response{}, ctx.Err()
			}
			s.apply(r)
		}
		return kafkabatch.Response{}, nil
	}
}

// TestCrashMidBatch: a function that crashes in the middle of batches, and
// a mapping killed in the middle of one, lose nothing and count nothing
// twice.
func TestCrashMidBatch(t *testing.T) {
	t.Parallel()
	const partitions, perPartition = 3, 40
	c, cl := newKafka(t, partitions, "inventory_updates")
	produced := make(map[coord]string)
	produceAll := func(from int) {
		var recs []*kgo.Record
		for p := range int32(partitions) {
			recs = append(recs, records("inventory_updates", p, from, perPartition)...)
		}
		produce(t, cl, recs...)
		for _, r := range recs {
			produced[coord{r.Topic, r.Partition, r.Offset}] = string(r.Value)
		}
	}
	produceAll(0)

	s := &store{}
	handler := crashingFunction(t, s,
		coord{"inventory_updates", 0, 17}, coord{"inventory_updates", 1, 5}, coord{"inventory_updates", 2, 30})
	cfg := baseConfig(c, "inventory_updates")
	cfg.BatchSize = 10
	inv := NewHandlerInvoker(handler, WithFunctionTimeout(200*time.Millisecond))
	m1, stop := newMapping(t, cfg, inv)
	drain(t, m1)
	s.check(t, produced)
	st := m1.Stats()
	if st.Records != partitions*perPartition || st.Succeeded != st.Records || st.SentToDestination+st.Discarded != 0 || st.FunctionErrors != 3 {
		t.Errorf("stats after crashes: %+v", st)
	}

	// Kill the mapping while a batch is half applied; a new mapping of the
	// group finishes the work.
	entered := make(chan struct{})
	var once sync.Once
	killAt := coord{"inventory_updates", 1, 47}
	m1Handler := func(ctx context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
		for _, r := range flatten(t, &ev) {
			if r.coord == killAt {
				once.Do(func() { close(entered) })
				<-ctx.Done()
				return kafkabatch.Response{}, ctx.Err()
			}
			s.apply(r)
		}
		return kafkabatch.Response{}, nil
	}
	stop()
	mk, stopK := newMapping(t, cfg, NewHandlerInvoker(m1Handler, WithFunctionTimeout(time.Hour)))
	produceAll(perPartition)
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the batch to kill never arrived")
	}
	stopK()
	if mk.Stats().Succeeded >= partitions*perPartition {
		t.Errorf("the killed mapping counted every record as processed")
	}
	m2, _ := newMapping(t, cfg, NewHandlerInvoker(func(ctx context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
		for _, r := range flatten(t, &ev) {
			s.apply(r)
		}
		return kafkabatch.Response{}, nil
	}))
	drain(t, m2)
	s.check(t, produced)
	if total := mk.Stats().Succeeded + m2.Stats().Succeeded; total < partitions*perPartition {
		t.Errorf("the two mappings processed %d records, want at least %d", total, partitions*perPartition)
	}
	for p, off := range committed(t, c, m2.ConsumerGroupID()) {
		if off != 2*perPartition {
			t.Errorf("%s committed at %d, want %d", p, off, 2*perPartition)
		}
	}
}

// TestTwoMembers runs two mappings in one consumer group: partitions move
// between them as the second joins and the first leaves, and every record
// is processed.
func TestTwoMembers(t *testing.T) {
	t.Parallel()
	const partitions = 4
	c, cl := newKafka(t, partitions, "user_events")
	produced := make(map[coord]string)
	produceSome := func(from, n int) {
		var recs []*kgo.Record
		for p := range int32(partitions) {
			recs = append(recs, records("user_events", p, from, n)...)
		}
		produce(t, cl, recs...)
		for _, r := range recs {
			produced[coord{r.Topic, r.Partition, r.Offset}] = string(r.Value)
		}
	}
	s := &store{}
	h := func(_ context.Context, ev events.KafkaEvent) error {
		for _, r := range flatten(t, &ev) {
			s.apply(r)
		}
		time.Sleep(time.Millisecond)
		return nil
	}
	cfg := baseConfig(c, "user_events")
	cfg.BatchSize = 7
	_, stop1 := newMapping(t, cfg, NewHandlerInvoker(h))
	produceSome(0, 50)
	m2, _ := newMapping(t, cfg, NewHandlerInvoker(h))
	produceSome(50, 50)
	waitFor(t, "the second member to get partitions", func() bool { return len(m2.Stats().Partitions) > 0 })
	produceSome(100, 50)
	stop1()
	produceSome(150, 50)
	drain(t, m2)
	s.check(t, produced)
	if n := len(m2.Stats().Partitions); n != partitions {
		t.Errorf("the remaining member has %d partitions, want %d", n, partitions)
	}
}

// TestKafkabatchDecodes runs generated shop traffic through the project's
// batch processor: every record decodes into its event, none is a dead
// letter.
func TestKafkabatchDecodes(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 2, generator.InputTopics...)
	g, err := generator.New(generator.Config{Seed: 7, NoBad: true, NoFraud: true, LegacyShare: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	produced := make(map[coord][]byte)
	var recs []*kgo.Record
	for i := range 400 {
		r := g.Next()
		recs = append(recs, &kgo.Record{Topic: r.Topic, Partition: int32(i % 2), Key: []byte(r.Key), Value: r.Value,
			Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/json")}, {Key: "bin", Value: []byte{0xff, 0x80, 0x7f}}}})
	}
	produce(t, cl, recs...)
	for _, r := range recs {
		produced[coord{r.Topic, r.Partition, r.Offset}] = r.Value
	}

	var mu sync.Mutex
	handled := make(map[coord]event.Event)
	h := kafkabatch.HandlerFunc(func(_ context.Context, b *kafkabatch.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range b.Messages() {
			co := coord{m.Topic, m.Partition, m.Offset}
			if !bytes.Equal(m.Value, produced[co]) {
				t.Errorf("%s: value %q, produced %q", co, m.Value, produced[co])
			}
			if len(m.Headers) != 2 || string(m.Headers[0].Value) != "application/json" || !bytes.Equal(m.Headers[1].Value, []byte{0xff, 0x80, 0x7f}) {
				t.Errorf("%s: headers %v", co, m.Headers)
			}
			if m.Timestamp.IsZero() || m.TimestampType != "CREATE_TIME" {
				t.Errorf("%s: timestamp %v %s", co, m.Timestamp, m.TimestampType)
			}
			handled[co] = m.Event
		}
		return nil
	})
	var letters bytes.Buffer
	p, err := kafkabatch.NewProcessor("lake", h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&letters)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(c, generator.InputTopics[0])
	cfg.Topics = generator.InputTopics[1:]
	cfg.BatchSize = 50
	cfg.ReportBatchItemFailures = true
	m, _ := newMapping(t, cfg, NewHandlerInvoker(p.Process))
	drain(t, m)
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != len(produced) {
		t.Errorf("%d events handled, %d records produced", len(handled), len(produced))
	}
	if letters.Len() > 0 {
		t.Errorf("dead letters: %s", letters.String())
	}
	for co, e := range handled {
		if e == nil || e.Meta().EventID == "" {
			t.Errorf("%s decoded to %v", co, e)
		}
	}
	if st := m.Stats(); st.Succeeded != int64(len(produced)) {
		t.Errorf("stats %+v", st)
	}
}
