package fraud_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// kafkaLog is generated traffic as the transactions topic holds it.
type kafkaLog = esmtest.Log

const partitions = 4

// newLog generates traffic until the transactions topic holds n records.
func newLog(t testing.TB, cfg generator.Config, n int) (*kafkaLog, *generator.Truth) {
	t.Helper()
	return esmtest.GenerateRecords(t, cfg, n, partitions, event.TopicTransactions)
}

// halves cuts a batch in two in partition order, as bisection does.
func halves(ev events.KafkaEvent) (events.KafkaEvent, events.KafkaEvent) {
	var all []events.KafkaRecord
	for _, tp := range slices.Sorted(maps.Keys(ev.Records)) {
		all = append(all, ev.Records[tp]...)
	}
	return esmtest.Payload(all[:len(all)/2]), esmtest.Payload(all[len(all)/2:])
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
