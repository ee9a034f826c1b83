package lake_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/shopstream/shopstream/shared/lake"
)

// TestWriterReusesConversionMemory: the numbers, lists and text a writer's
// conversions made for earlier objects never show in later ones: a writer
// that wrote other rows before writes the same rows as a new writer, value
// for value (read back with the generic reader).
func TestWriterReusesConversionMemory(t *testing.T) {
	t.Parallel()
	recs := sampleRecords(t)
	// The same events in reverse, without Kafka timestamps: rows with NULL
	// numbers where the other batch's rows have values, and the reverse.
	other := slices.Clone(recs)
	slices.Reverse(other)
	for i := range other {
		other[i].Timestamp = time.Time{}
	}
	clock := lake.WithClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	ctx := context.Background()
	for _, batches := range [][][]lake.Record{{recs, other, recs}, {other, recs, other}} {
		last := batches[len(batches)-1]
		used := newMemStore()
		w := lake.NewWriter(used, clock, lake.WithConcurrency(1))
		for _, b := range batches {
			if _, err := w.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		fresh := newMemStore()
		if _, err := lake.NewWriter(fresh, clock).Write(ctx, last); err != nil {
			t.Fatal(err)
		}
		if len(fresh.objects) == 0 || len(used.objects) != len(fresh.objects) {
			t.Fatalf("%d objects, a new writer's %d", len(used.objects), len(fresh.objects))
		}
		for key, body := range fresh.objects {
			got, want := readFile(t, key, used.objects[key]), readFile(t, key, body)
			if !slices.Equal(got.columns, want.columns) || len(got.rows) != len(want.rows) {
				t.Fatalf("%s: %d rows of %v, a new writer's %d of %v", key, len(got.rows), got.columns, len(want.rows), want.columns)
			}
			for i := range want.rows {
				if !slices.EqualFunc(got.rows[i], want.rows[i], parquet.DeepEqual) {
					t.Errorf("%s row %d:\n%v\na new writer's:\n%v", key, i, got.rows[i], want.rows[i])
				}
			}
		}
	}
}
