package recommendations_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopstream/shopstream/functions/recommendations/internal/recommendations"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/generator"
)

// BenchmarkBatch10k processes 10,000 records of the generator's default
// traffic (the function's two topics, in arrival order) into empty tables:
// with an in-memory store (the handler's own cost), and against DynamoDB
// Local as one batch of 10,000 and, beside it as the baseline, as ten
// batches of 1,000 (the local mapping's default). It reports records/s,
// DynamoDB requests (reads and writes) per record, and, as the limit folding
// is measured against, the requests per record of writing every
// contribution on its own (one UpdateItem per pair or popularity count).
func BenchmarkBatch10k(b *testing.B) {
	l, _ := newKafkaLog(b, generator.Config{}, 14_000)
	all := l.LiveBatches(10_000)[0]
	n := 0
	for _, rs := range all.Records {
		n += len(rs)
	}
	if n != 10_000 {
		b.Fatalf("the batch has %d records", n)
	}
	b.Run("batch=10000/store=memory", func(b *testing.B) {
		ctx := context.Background()
		var took time.Duration
		for b.Loop() {
			b.StopTimer()
			var dl bytes.Buffer
			proc := newProcessor(b, recommendations.New(newMemStore()), &dl)
			b.StartTimer()
			start := time.Now()
			mustProcess(b, ctx, proc, all)
			took += time.Since(start)
		}
		b.ReportMetric(float64(n*b.N)/took.Seconds(), "records/s")
	})
	for _, size := range []int{10_000, 1000} {
		b.Run(fmt.Sprint("batch=", size, "/store=dynamodb"), func(b *testing.B) {
			ctx := context.Background()
			var requests, contributions int64
			var took time.Duration
			for b.Loop() {
				b.StopTimer()
				store := newDynamo(b, ctx)
				h := recommendations.New(store)
				var dl bytes.Buffer
				proc := newProcessor(b, h, &dl)
				batches := esmtest.FromEvent(all).LiveBatches(size)
				b.StartTimer()
				start := time.Now()
				for _, ev := range batches {
					mustProcess(b, ctx, proc, ev)
				}
				took += time.Since(start)
				r, w := store.Requests()
				requests += r + w
				contributions += h.Stats().Contributions.Load()
			}
			b.ReportMetric(float64(n*b.N)/took.Seconds(), "records/s")
			b.ReportMetric(float64(requests)/float64(n*b.N), "requests/record")
			b.ReportMetric(float64(contributions)/float64(n*b.N), "unfolded-requests/record")
		})
	}
}
