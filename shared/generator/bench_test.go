package generator

import (
	"context"
	"io"
	"testing"
)

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
	})
}
