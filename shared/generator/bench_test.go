package generator

import (
	"context"
	"encoding/json"
	"io"
	"testing"
)

// generateTarget is the generation rate the product promises, in records/s.
const generateTarget = 200_000

// BenchmarkGenerate measures generation alone, and generation written to a
// record file (the work of `shopstream generate --out`), in records/s.
func BenchmarkGenerate(b *testing.B) {
	b.Run("records", func(b *testing.B) {
		g, err := New(Config{Seed: 7})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			_ = g.Next()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(generateTarget, "target-records/s")
	})
	b.Run("file", func(b *testing.B) {
		g, err := New(Config{Seed: 7})
		if err != nil {
			b.Fatal(err)
		}
		sink := NewFileSink(io.Discard)
		b.ResetTimer()
		if _, err := Run(context.Background(), g, sink, RunOptions{Count: int64(b.N)}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(generateTarget, "target-records/s")
	})
	// The baseline: encoding/json writing the same events as record lines,
	// with nothing simulated — the cost of the output alone.
	b.Run("baseline-encoding-json-file", func(b *testing.B) {
		g, err := New(Config{Seed: 7})
		if err != nil {
			b.Fatal(err)
		}
		const n = 20000
		recs := make([]Record, n)
		for i := range recs {
			recs[i] = g.Next()
		}
		w := NewFileSink(io.Discard)
		b.ResetTimer()
		for i := range b.N {
			r := &recs[i%n]
			v := r.view
			if v == nil {
				continue
			}
			value, err := json.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			w.buf = AppendLine(w.buf[:0], r.Topic, r.Key, value)
			if _, err := w.w.Write(w.buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
