package support_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shopstream/shopstream/functions/support/internal/support"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// BenchmarkBatch10k processes 10,000 records of the function's two topics
// (feedback-rich traffic, in arrival order) against DynamoDB Local, into
// empty tables, as one batch of 10,000 and, beside it as the baseline, as
// ten batches of 1,000 (the local mapping's default); and, for the
// handler's own cost, one batch of 10,000 with an in-memory store. It
// reports records/s and DynamoDB requests per record.
func BenchmarkBatch10k(b *testing.B) {
	l, _ := newKafkaLog(b, feedbackTraffic, 60_000)
	all := l.LiveBatches(10_000)[0]
	n, fb := 0, 0
	for tp, rs := range all.Records {
		n += len(rs)
		if strings.HasPrefix(tp, event.TopicFeedback+"-") {
			fb += len(rs)
		}
	}
	if n != 10_000 {
		b.Fatalf("the batch has %d records", n)
	}
	b.Logf("%d records, %d of them on customer_feedback", n, fb)
	b.Run("batch=10000/store=memory", func(b *testing.B) {
		ctx := context.Background()
		var took time.Duration
		for b.Loop() {
			b.StopTimer()
			proc, err := kafkabatch.NewProcessor(support.Name, support.New(newMemStore(), &memAlerts{}),
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
			var requests int64
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
				requests += store.Requests()
			}
			b.ReportMetric(float64(n*b.N)/took.Seconds(), "records/s")
			b.ReportMetric(float64(requests)/float64(n*b.N), "requests/record")
		})
	}
}
