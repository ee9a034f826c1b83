package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/generator"
)

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
			for _, ev := range l.LiveBatches(size) {
				resp, err := proc.Process(ctx, ev)
				if err != nil || len(resp.BatchItemFailures) > 0 {
					t.Fatalf("batch: %v %+v", err, resp)
				}
			}
			took := time.Since(start)
			writes := store.Writes()
			perEvent := float64(writes) / float64(l.Count)
			st := h.Stats()
			t.Logf("batch %d: %d records (%d inventory, %d order lifecycle, %d payments and metrics), %d write requests (%d product writes): "+
				"%.4f per record, %.4f per inventory or lifecycle event; %.0f records/s",
				size, l.Count, st.StockEvents.Load(), st.OrderEvents.Load(), st.Ignored.Load(), writes, st.ProductWrites.Load(),
				perEvent, float64(writes)/float64(st.StockEvents.Load()+st.OrderEvents.Load()), float64(l.Count)/took.Seconds())
			if perEvent > c.bound {
				t.Errorf("%.4f DynamoDB writes per event, bound %.2f", perEvent, c.bound)
			}
			for _, d := range inventoryCompare(ctx, store, truth) {
				t.Error(d)
			}
		})
	}
}
