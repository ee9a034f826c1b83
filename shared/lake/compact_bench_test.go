package lake_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/lake/laketest"
	"github.com/shopstream/shopstream/shared/s3test"
)

// BenchmarkCompact compacts one hour of user_events written in small
// batches (20 records, as with a short batching window) to the S3 server:
// it reports the files and megabytes of the partition before and after,
// and, as the baseline beside our figure, the time a reader takes to read
// the whole partition (every visible object, GET and footer) before and
// after; compact_s is the compaction's own time.
//
//	go test ./shared/lake -run '^$' -bench Compact -benchtime 1x
func BenchmarkCompact(b *testing.B) {
	objs := lake.NewS3Objects(s3test.Client(b), s3test.Bucket(b))
	ctx := context.Background()
	var before, after lake.PartitionView
	var readBefore, readAfter, took time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		prefix := fmt.Sprintf("run%d/", i)
		laketest.Write(b, objs, laketest.Options{
			Config: generator.Config{Seed: 9, Start: time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC), EventsPerSecond: 20, NoBad: true},
			Events: 40_000, Partitions: 3, BatchSize: 20, Prefix: prefix,
		})
		views, err := lake.Resolve(ctx, objs, prefix, lake.TableUserEvents+"/dt=2026-02-01/hour=10/")
		if err != nil || len(views) != 1 {
			b.Fatalf("resolve: %v (%d partitions)", err, len(views))
		}
		before = views[0]
		readBefore = readPartition(b, objs, before)
		c := lake.NewCompactor(objs, lake.WithCompactPrefix(prefix))
		b.StartTimer()
		start := time.Now()
		r, err := c.CompactPartition(ctx, before.Table, before.Partition)
		took = time.Since(start)
		b.StopTimer()
		if err != nil || !r.Compacted {
			b.Fatalf("compact: %v %+v", err, r)
		}
		views, err = lake.Resolve(ctx, objs, prefix, lake.TableUserEvents+"/dt=2026-02-01/hour=10/")
		if err != nil {
			b.Fatal(err)
		}
		after = views[0]
		readAfter = readPartition(b, objs, after)
		b.StartTimer()
	}
	size := func(v lake.PartitionView) (n int64) {
		for _, o := range v.Visible {
			n += o.Size
		}
		return n
	}
	b.ReportMetric(float64(len(before.Visible)), "files_before")
	b.ReportMetric(float64(len(after.Visible)), "files_after")
	b.ReportMetric(float64(size(before))/(1<<20), "MB_before")
	b.ReportMetric(float64(size(after))/(1<<20), "MB_after")
	b.ReportMetric(took.Seconds(), "compact_s")
	b.ReportMetric(readBefore.Seconds()*1000, "read_before_ms")
	b.ReportMetric(readAfter.Seconds()*1000, "read_after_ms")
}

// readPartition opens every visible file of v as a query engine scanning
// the partition does (GET, footer, row count) and returns the time.
func readPartition(b *testing.B, objs lake.Objects, v lake.PartitionView) time.Duration {
	b.Helper()
	start := time.Now()
	var rows int64
	for _, o := range v.Visible {
		body, err := objs.Get(context.Background(), o.Key)
		if err != nil {
			b.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			b.Fatal(err)
		}
		rows += f.NumRows()
	}
	if rows == 0 {
		b.Fatal("no rows read")
	}
	return time.Since(start)
}
