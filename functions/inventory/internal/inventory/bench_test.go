package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// BenchmarkBatch10k processes 10,000 records of the generator's default
// traffic (the function's two topics, in arrival order) against DynamoDB
// Local, into empty tables, as one batch of 10,000 and, beside it as the
// baseline, as ten batches of 1,000 (the local mapping's default). It
// reports records/s and DynamoDB write requests per record.
func BenchmarkBatch10k(b *testing.B) {
	l, _ := newKafkaLog(b, generator.Config{}, 60_000)
	all := l.LiveBatches(10_000)[0]
	n := 0
	for _, rs := range all.Records {
		n += len(rs)
	}
	if n != 10_000 {
		b.Fatalf("the batch has %d records", n)
	}
	// The handler's own cost, with an in-memory store: what DynamoDB's
	// latency hides above.
	b.Run("batch=10000/store=memory", func(b *testing.B) {
		ctx := context.Background()
		var took time.Duration
		for b.Loop() {
			b.StopTimer()
			proc, err := kafkabatch.NewProcessor(inventory.Name, inventory.New(newMemStore(), nopAlerts{}),
				kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(io.Discard)))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			if resp, err := proc.Process(ctx, all); err != nil || len(resp.BatchItemFailures) > 0 {
				b.Fatalf("%v %+v", err, resp)
			}
			took += time.Since(start)
		}
		b.ReportMetric(float64(n*b.N)/took.Seconds(), "records/s")
	})
	for _, size := range []int{10_000, 1000} {
		b.Run(fmt.Sprint("batch=", size), func(b *testing.B) {
			ctx := context.Background()
			var writes int64
			var took time.Duration
			for b.Loop() {
				b.StopTimer()
				var dl bytes.Buffer
				store, _, _, proc, _ := newPipeline(b, ctx, &dl)
				batches := esmtest.FromEvent(all).LiveBatches(size)
				b.StartTimer()
				start := time.Now()
				for _, ev := range batches {
					if resp, err := proc.Process(ctx, ev); err != nil || len(resp.BatchItemFailures) > 0 {
						b.Fatalf("%v %+v", err, resp)
					}
				}
				took += time.Since(start)
				writes += store.Writes()
			}
			b.ReportMetric(float64(n*b.N)/took.Seconds(), "records/s")
			b.ReportMetric(float64(writes)/float64(n*b.N), "writes/record")
		})
	}
}
