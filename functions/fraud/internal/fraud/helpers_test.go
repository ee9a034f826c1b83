package fraud_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// kafkaLog is generated transactions traffic as the topic holds it: records
// partitioned by key, offsets per partition.
type kafkaLog struct {
	parts []string
	recs  map[string][]events.KafkaRecord
	count int
}

const partitions = 4

// newLog generates traffic until the transactions topic holds n records.
func newLog(t testing.TB, cfg generator.Config, n int) (*kafkaLog, *generator.Truth) {
	t.Helper()
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &kafkaLog{recs: map[string][]events.KafkaRecord{}}
	for l.count < n {
		r := g.Next()
		if r.Topic != event.TopicTransactions {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(r.Key))
		p := int64(h.Sum32() % partitions)
		tp := fmt.Sprintf("%s-%d", r.Topic, p)
		l.recs[tp] = append(l.recs[tp], events.KafkaRecord{
			Topic: r.Topic, Partition: p, Offset: int64(len(l.recs[tp])),
			Timestamp:     events.MilliSecondsEpochTime{Time: r.Time},
			TimestampType: "CREATE_TIME",
			Key:           base64.StdEncoding.EncodeToString([]byte(r.Key)),
			Value:         base64.StdEncoding.EncodeToString(r.Value),
		})
		l.count++
	}
	for tp := range l.recs {
		l.parts = append(l.parts, tp)
	}
	sort.Strings(l.parts)
	return l, g.Truth()
}

// liveBatches cuts the log into batches of size records in arrival order,
// each batch mixing every partition, as a mapping reading live traffic does.
func liveBatches(l *kafkaLog, size int) []events.KafkaEvent {
	var all []events.KafkaRecord
	for _, tp := range l.parts {
		all = append(all, l.recs[tp]...)
	}
	slices.SortStableFunc(all, func(a, b events.KafkaRecord) int { return a.Timestamp.Compare(b.Timestamp.Time) })
	var out []events.KafkaEvent
	for chunk := range slices.Chunk(all, size) {
		out = append(out, eventOf(chunk))
	}
	return out
}

func eventOf(recs []events.KafkaRecord) events.KafkaEvent {
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	for _, r := range recs {
		tp := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
		ev.Records[tp] = append(ev.Records[tp], r)
	}
	for tp := range ev.Records {
		slices.SortFunc(ev.Records[tp], func(a, b events.KafkaRecord) int { return int(a.Offset - b.Offset) })
	}
	return ev
}

// halves cuts a batch in two in partition order, as bisection does.
func halves(ev events.KafkaEvent) (events.KafkaEvent, events.KafkaEvent) {
	var all []events.KafkaRecord
	for _, tp := range slices.Sorted(mapsKeys(ev.Records)) {
		all = append(all, ev.Records[tp]...)
	}
	return eventOf(all[:len(all)/2]), eventOf(all[len(all)/2:])
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// tlog writes to the test log.
type tlog struct{ t testing.TB }

func (w tlog) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// memAlerts keeps alerts by id and counts sends.
type memAlerts struct {
	mu    sync.Mutex
	byID  map[string]*event.FraudAlert
	sends int
}

func newMemAlerts() *memAlerts { return &memAlerts{byID: map[string]*event.FraudAlert{}} }

func (m *memAlerts) Send(_ context.Context, as []*event.FraudAlert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range as {
		m.byID[a.EventID] = a
		m.sends++
	}
	return nil
}

func newProcessor(t testing.TB, store fraud.Store, alerts fraud.AlertSink, opts ...fraud.Option) (*kafkabatch.Processor, *fraud.Handler) {
	t.Helper()
	h := fraud.New(store, alerts, append([]fraud.Option{fraud.WithLogger(slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))}, opts...)...)
	p, err := kafkabatch.NewProcessor(fraud.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(io.Discard)),
		kafkabatch.WithLogger(slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

func run(t testing.TB, p *kafkabatch.Processor, batches []events.KafkaEvent) {
	t.Helper()
	for i, ev := range batches {
		resp, err := p.Process(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("batch %d: %v %+v", i, err, resp)
		}
	}
}
