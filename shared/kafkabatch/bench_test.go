package kafkabatch

import (
	"context"
	"encoding/base64"
	"io"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// BenchmarkProcess runs a 10,000-record batch (the event source mapping's
// largest) over 3 topics and 12 partitions, 1% bad records, through a
// Processor with a handler that does nothing, dead letters to io.Discard.
// "in-order" lists each partition's records in offset order, as the event
// source mapping does; "shuffled" makes the processor sort them.
// "generated" is a batch of the generator's traffic (see generatedPayload).
func BenchmarkProcess(b *testing.B) {
	for _, tc := range []struct {
		name string
		seed uint64
	}{{"in-order", 0}, {"shuffled", 1}} {
		b.Run(tc.name, func(b *testing.B) { benchmarkProcess(b, tc.seed) })
	}
	b.Run("generated", func(b *testing.B) {
		ev, size := generatedPayload(b)
		noop := HandlerFunc(func(context.Context, *Batch) error { return nil })
		p, err := NewProcessor("bench", noop, WithDeadLetterSink(NewWriterSink(io.Discard)))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Process(context.Background(), ev); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(10_000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
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

// generatedPayload returns a 10,000-record payload of generated traffic
// (1% bad records), keys and values base64-encoded as the event source
// mapping sends them, over 3 topics of 4 partitions.
func generatedPayload(b *testing.B) (events.KafkaEvent, int64) {
	b.Helper()
	g, err := generator.New(generator.Config{Seed: 3})
	if err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	rs := make([]rec, n)
	var size int64
	for i := range rs {
		r := g.Next()
		rs[i] = rec{Topic: r.Topic, Partition: int32(i % 4), Offset: int64(i), Key: []byte(r.Key), Value: r.Value}
		size += int64(len(r.Value))
	}
	return payload(0, rs...), size
}

// BenchmarkRecords measures the flattening of a payload into messages
// and the decoding of their keys and values from base64, one core.
func BenchmarkRecords(b *testing.B) {
	ev, size := generatedPayload(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		msgs, err := records(&ev, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := range msgs {
			msgs[i].load()
		}
	}
	b.ReportMetric(10_000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkBase64 decodes the values of a generated payload into one
// buffer, beside encoding/base64's Decode of the same values into the same
// buffer.
func BenchmarkBase64(b *testing.B) {
	ev, size := generatedPayload(b)
	var values []string
	for _, rs := range ev.Records {
		for _, r := range rs {
			values = append(values, r.Value)
		}
	}
	buf := make([]byte, 2*size)
	b.Run("shopstream", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			out := buf
			for _, v := range values {
				d, ok := decodeBase64(v, out)
				if !ok {
					b.Fatal("not base64")
				}
				out = out[len(d):]
			}
		}
	})
	b.Run("baseline-encoding-base64", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			out := buf
			for _, v := range values {
				n, err := base64.StdEncoding.Decode(out, []byte(v))
				if err != nil {
					b.Fatal(err)
				}
				out = out[n:]
			}
		}
	})
}
