package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/generator"
)

// liveBatches cuts the log into batches of size records the way an event
// source mapping reading live traffic does: records in arrival (event-time)
// order, each batch mixing every partition of both topics.
func liveBatches(l *kafkaLog, size int) []events.KafkaEvent {
	var all []events.KafkaRecord
	for _, tp := range l.parts {
		all = append(all, l.recs[tp]...)
	}
	slices.SortStableFunc(all, func(a, b events.KafkaRecord) int { return a.Timestamp.Compare(b.Timestamp.Time) })
	var out []events.KafkaEvent
	for chunk := range slices.Chunk(all, size) {
		ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
		for _, r := range chunk {
			tp := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
			ev.Records[tp] = append(ev.Records[tp], r)
		}
		for tp := range ev.Records {
			slices.SortFunc(ev.Records[tp], func(a, b events.KafkaRecord) int { return int(a.Offset - b.Offset) })
		}
		out = append(out, ev)
	}
	return out
}

// TestWritesPerEvent counts the DynamoDB write requests per record on the
// generator's default traffic. In batches of 10,000 records (the largest an
// event source mapping sends, and the inventory function's setting) it holds
// them to the target of 0.1. In batches of 1,000 a batch touches about 290 of
// the 500 products, and one write per product and batch is the floor of
// exactly-once stock: there the bound is 0.35, a guard against regressions.
func TestWritesPerEvent(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, generator.Config{}, 150_000)
	for _, c := range []struct {
		size  int
		bound float64
	}{{1000, 0.35}, {10_000, 0.1}} {
		size := c.size
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var dl bytes.Buffer
			store, _, h, proc, _ := newPipeline(t, ctx, &dl)
			start := time.Now()
			for _, ev := range liveBatches(l, size) {
				resp, err := proc.Process(ctx, ev)
				if err != nil || len(resp.BatchItemFailures) > 0 {
					t.Fatalf("batch: %v %+v", err, resp)
				}
			}
			took := time.Since(start)
			writes := store.Writes()
			perEvent := float64(writes) / float64(l.count)
			st := h.Stats()
			t.Logf("batch %d: %d records (%d inventory, %d order lifecycle, %d payments and metrics), %d write requests (%d product writes): "+
				"%.4f per record, %.4f per inventory or lifecycle event; %.0f records/s",
				size, l.count, st.StockEvents.Load(), st.OrderEvents.Load(), st.Ignored.Load(), writes, st.ProductWrites.Load(),
				perEvent, float64(writes)/float64(st.StockEvents.Load()+st.OrderEvents.Load()), float64(l.count)/took.Seconds())
			if perEvent > c.bound {
				t.Errorf("%.4f DynamoDB writes per event, bound %.2f", perEvent, c.bound)
			}
			for _, d := range inventoryCompare(ctx, store, truth) {
				t.Error(d)
			}
		})
	}
}
