package fraud_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// BenchmarkHandler10k processes one batch of 10,000 transactions records of
// the generator's default traffic (the 10,000 after the first 30,000, whose
// state is in place) against DynamoDB Local and reports records/s and
// DynamoDB requests per record. Beside it, in the same run: the naive
// count of one read and one write per order or payment event, the rate of
// decoding alone (a processor whose handler does nothing), and the
// handler's own rate on the in-memory store.
func BenchmarkHandler10k(b *testing.B) {
	l, _ := newLog(b, generator.Config{}, 40_000)
	batches := l.LiveBatches(10_000)
	warm, batch := batches[:3], batches[3]
	ctx := context.Background()
	b.Run("decode-only", func(b *testing.B) {
		p, err := kafkabatch.NewProcessor(fraud.Name, kafkabatch.HandlerFunc(func(context.Context, *kafkabatch.Batch) error { return nil }),
			kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(io.Discard)))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for b.Loop() {
			if _, err := p.Process(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(10_000*b.N)/time.Since(start).Seconds(), "records/s")
	})
	b.Run("store=memory", func(b *testing.B) {
		var took time.Duration
		for b.Loop() {
			b.StopTimer()
			p, _ := newProcessor(b, fraud.NewMemory(), newMemAlerts())
			run(b, p, warm)
			b.StartTimer()
			start := time.Now()
			run(b, p, []events.KafkaEvent{batch})
			took += time.Since(start)
		}
		b.ReportMetric(float64(10_000*b.N)/took.Seconds(), "records/s")
	})
	b.Run("store=dynamodb", func(b *testing.B) {
		var took time.Duration
		var reqs, naive int64
		for b.Loop() {
			b.StopTimer()
			d := newDynamo(b)
			p, h := newProcessor(b, d, d)
			run(b, p, warm)
			before, events0 := d.Requests(), h.Stats().Orders.Load()+h.Stats().Payments.Load()
			b.StartTimer()
			start := time.Now()
			run(b, p, []events.KafkaEvent{batch})
			took += time.Since(start)
			reqs += d.Requests() - before
			naive += 2 * (h.Stats().Orders.Load() + h.Stats().Payments.Load() - events0)
		}
		b.ReportMetric(float64(10_000*b.N)/took.Seconds(), "records/s")
		b.ReportMetric(float64(reqs)/float64(10_000*b.N), "requests/record")
		b.ReportMetric(float64(naive)/float64(10_000*b.N), "naive-requests/record")
	})
}
