package event_test

import (
	"encoding/json"
	"testing"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// benchRecords returns n record values of the generator's default traffic
// mix (1% bad records), with a share written in producer shapes.
func benchRecords(b *testing.B, n int, legacy float64) ([][]byte, []event.Type) {
	b.Helper()
	g, err := generator.New(generator.Config{Seed: 7, LegacyShare: legacy})
	if err != nil {
		b.Fatal(err)
	}
	values := make([][]byte, n)
	types := make([]event.Type, n)
	for i := range values {
		r := g.Next()
		values[i], types[i] = r.Value, r.Type
	}
	return values, types
}

// BenchmarkDecode measures decode + validate of realistic records, one core,
// against a baseline of encoding/json unmarshalling the same records into
// their Go types (told the type in advance, validating nothing). Target:
// 500,000 records/s.
func BenchmarkDecode(b *testing.B) {
	const target = 500_000
	for _, tc := range []struct {
		name   string
		legacy float64
	}{{"canonical", 0}, {"legacy-share-0.25", 0.25}} {
		values, types := benchRecords(b, 20000, tc.legacy)
		var size int64
		for _, v := range values {
			size += int64(len(v))
		}
		b.Run("shopstream/"+tc.name, func(b *testing.B) {
			d := event.NewDecoder()
			b.SetBytes(size / int64(len(values)))
			b.ResetTimer()
			var bad int
			for i := range b.N {
				if _, err := d.Decode(values[i%len(values)], event.Source{Topic: "t", Offset: int64(i)}); err != nil {
					bad++
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(target, "target-records/s")
		})
		if tc.legacy > 0 {
			continue // encoding/json cannot read the producer shapes into the Go types
		}
		b.Run("baseline-encoding-json/"+tc.name, func(b *testing.B) {
			b.SetBytes(size / int64(len(values)))
			b.ResetTimer()
			for i := range b.N {
				j := i % len(values)
				if types[j] == "" {
					continue // bad record
				}
				e := event.New(types[j])
				_ = json.Unmarshal(values[j], e)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
