package kafkabatch

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/shopstream/shopstream/shared/event"
)

// BenchmarkProcess runs a 10,000-record batch (the event source mapping's
// largest) over 3 topics and 12 partitions, 1% bad records, through a
// Processor with a handler that does nothing, dead letters to io.Discard.
// "in-order" lists each partition's records in offset order, as the event
// source mapping does; "shuffled" makes the processor sort them.
func BenchmarkProcess(b *testing.B) {
	for _, tc := range []struct {
		name string
		seed uint64
	}{{"in-order", 0}, {"shuffled", 1}} {
		b.Run(tc.name, func(b *testing.B) { benchmarkProcess(b, tc.seed) })
	}
}

func benchmarkProcess(b *testing.B, seed uint64) {
	const n = 10_000
	topics := []string{event.TopicUserEvents, event.TopicTransactions, event.TopicInventory}
	rs := make([]rec, n)
	var size int64
	for i := range rs {
		v := validEvent(b, i)
		if i%100 == 99 {
			v = []byte(`{"event_type":"page_view","schema_version":1}`)
		}
		rs[i] = rec{Topic: topics[i%3], Partition: int32(i % 4), Offset: int64(i), Key: []byte("user-" + strconv.Itoa(i%97)), Value: v}
		size += int64(len(v))
	}
	ev := payload(seed, rs...)
	noop := HandlerFunc(func(context.Context, *Batch) error { return nil })
	p, err := NewProcessor("bench", noop, WithDeadLetterSink(NewWriterSink(io.Discard)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, st, err := p.ProcessWithStats(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 || st.Valid != n-n/100 {
			b.Fatalf("Process = %v, %v, %+v", resp, err, st)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
