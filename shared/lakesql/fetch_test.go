package lakesql_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/lake/laketest"
	"github.com/shopstream/shopstream/shared/lakesql"
	"github.com/shopstream/shopstream/shared/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// countingGets counts the objects read.
type countingGets struct {
	lake.Objects
	gets atomic.Int64
}

func (c *countingGets) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Objects.Get(ctx, key)
}

// TestFetch queries a lake in the S3 server, one partition of it
// compacted: the files a reader sees are downloaded once into the cache,
// and the answers are the truth.
func TestFetch(t *testing.T) {
	t.Parallel()
	objs := &countingGets{Objects: lake.NewS3Objects(s3test.Client(t), s3test.Bucket(t))}
	truth := laketest.Write(t, objs, laketest.Options{
		Config: generator.Config{Seed: 2, Start: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), EventsPerSecond: 3, NoBad: true},
		Events: 2000, BatchSize: 40, Prefix: "lake/",
	})
	c := lake.NewCompactor(objs, lake.WithCompactPrefix("lake/"))
	if r, err := c.CompactPartition(context.Background(), lake.TableUserEvents, lake.Partition{Date: "2026-05-01", Hour: "08"}); err != nil || !r.Compacted {
		t.Fatalf("compact: %v %+v", err, r)
	}
	cache := t.TempDir()
	query := func() {
		t.Helper()
		files, err := lakesql.Fetch(context.Background(), objs, "lake/", cache)
		if err != nil {
			t.Fatal(err)
		}
		db, err := lakesql.Open(context.Background(), files)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		r, err := db.Query(context.Background(), `SELECT event_type, count(*) FROM user_events GROUP BY event_type
			UNION ALL SELECT event_type, count(*) FROM transactions GROUP BY event_type`)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, row := range r.Rows {
			got[row[0].(string)] = row[1].(int64)
		}
		for typ, n := range truth.ByType {
			if tb := lake.TableOf(event.Type(typ)); (tb == lake.TableUserEvents || tb == lake.TableTransactions) && got[typ] != n {
				t.Errorf("%s: %d rows, truth %d", typ, got[typ], n)
			}
		}
		if len(got) < 8 {
			t.Errorf("only %d event types: %v", len(got), got)
		}
	}
	before := objs.gets.Load()
	query()
	fetched := objs.gets.Load() - before
	query()
	if again := objs.gets.Load() - before - fetched; fetched == 0 || again != 1 { // the manifest only
		t.Errorf("first query read %d objects, the second %d (want only the manifest)", fetched, again)
	}
}
