package lake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/lake/laketest"
	"github.com/shopstream/shopstream/shared/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// compactStart is the event time of the generated lakes: 2000 records at
// one per second cover 22:30 to 23:03, two hour partitions.
var compactStart = time.Date(2026, 1, 1, 22, 30, 0, 0, time.UTC)

const compactDate = "2026-01-01"

// smallLake writes a lake of many small files to a new bucket and returns
// its objects and truth.
func smallLake(t *testing.T, events int) (*lake.S3Objects, *generator.Truth) {
	t.Helper()
	objs := lake.NewS3Objects(s3test.Client(t), s3test.Bucket(t))
	truth := laketest.Write(t, objs, laketest.Options{
		Config: generator.Config{Seed: 7, Start: compactStart, EventsPerSecond: 1, LegacyShare: 0.1, NoBad: true},
		Events: events, Partitions: 3, BatchSize: 25,
	})
	return objs, truth
}

// lakeState is what a reader sees: the counts, and every row of
// user_events, sorted by Kafka coordinates.
type lakeState struct {
	counts *lake.Counts
	rows   []lake.UserEvent
	files  int
}

func readState(t *testing.T, objs lake.Objects) lakeState {
	t.Helper()
	ctx := context.Background()
	c, err := lake.CountObjects(ctx, objs, "")
	if err != nil {
		t.Fatal(err)
	}
	views, err := lake.Resolve(ctx, objs, "", "")
	if err != nil {
		t.Fatal(err)
	}
	s := lakeState{counts: c}
	for _, v := range views {
		s.files += len(v.Visible)
		if v.Table != lake.TableUserEvents {
			continue
		}
		for _, o := range v.Visible {
			body, err := objs.Get(ctx, o.Key)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
			if err != nil {
				t.Fatal(err)
			}
			r := parquet.NewGenericReader[lake.UserEvent](f)
			rows := make([]lake.UserEvent, f.NumRows())
			if n, _ := r.Read(rows); int64(n) != f.NumRows() {
				t.Fatalf("%s: read %d of %d rows", o.Key, n, f.NumRows())
			}
			r.Close()
			s.rows = append(s.rows, rows...)
		}
	}
	slices.SortFunc(s.rows, func(a, b lake.UserEvent) int {
		return strings.Compare(fmt.Sprintf("%s/%05d/%012d", a.KafkaTopic, a.KafkaPartition, a.KafkaOffset),
			fmt.Sprintf("%s/%05d/%012d", b.KafkaTopic, b.KafkaPartition, b.KafkaOffset))
	})
	return s
}

// sameRows fails t unless got shows a reader exactly the rows of want,
// each once, and want matches the truth.
func sameRows(t *testing.T, when string, got, want lakeState, truth *generator.Truth) {
	t.Helper()
	if got.counts.Duplicates != 0 {
		t.Fatalf("%s: %d duplicate rows", when, got.counts.Duplicates)
	}
	if !maps.Equal(got.counts.Rows, want.counts.Rows) {
		t.Fatalf("%s: rows per partition %v, want %v", when, got.counts.Rows, want.counts.Rows)
	}
	if !reflect.DeepEqual(got.rows, want.rows) {
		t.Fatalf("%s: the user_events rows differ (%d rows, want %d)", when, len(got.rows), len(want.rows))
	}
	perTable := map[string]int64{}
	for typ, n := range truth.ByType {
		perTable[lake.TableOf(event.Type(typ))] += n
	}
	for table, n := range perTable {
		if got := got.counts.Table(table); got != n {
			t.Fatalf("%s: table %s has %d rows, the truth %d", when, table, got, n)
		}
	}
}

// listing returns every key and size under the bucket.
func listing(t *testing.T, objs lake.Objects) map[string]int64 {
	t.Helper()
	list, err := objs.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, o := range list {
		out[o.Key] = o.Size
	}
	return out
}

// compactAll compacts every table of the date.
func compactAll(t *testing.T, c *lake.Compactor) ([]lake.CompactResult, error) {
	t.Helper()
	var all []lake.CompactResult
	for _, tb := range lake.Tables() {
		rs, err := c.CompactDate(context.Background(), tb.Name, compactDate, 0)
		all = append(all, rs...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// checkCompacted fails t unless every partition under under holds exactly its one
// output and its manifest.
func checkCompacted(t *testing.T, objs lake.Objects, under string) {
	t.Helper()
	views, err := lake.Resolve(context.Background(), objs, "", under)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) == 0 {
		t.Fatal("no partitions")
	}
	keys := listing(t, objs)
	for _, v := range views {
		if len(v.Visible) == 1 && v.Manifest == nil && len(v.Garbage) == 0 {
			continue // one small file: nothing to merge
		}
		if len(v.Visible) != 1 || !lake.IsCompacted(v.Visible[0].Key[len(v.Dir):]) || v.Manifest == nil || len(v.Garbage) != 0 {
			t.Fatalf("%s: visible %v, garbage %v, manifest %v", v.Dir, v.Visible, v.Garbage, v.ManifestKey)
		}
		for k := range keys {
			if strings.HasPrefix(k, v.Dir) && k != v.Visible[0].Key && k != v.ManifestKey {
				t.Fatalf("%s: object %s left behind", v.Dir, k)
			}
		}
	}
}

// TestCompact compacts a lake of many small files: a reader sees the same
// rows before, at every step, and after; a second run changes nothing.
func TestCompact(t *testing.T) {
	t.Parallel()
	objs, truth := smallLake(t, 2000)
	before := readState(t, objs)
	sameRows(t, "before", before, before, truth)
	if before.files < 100 {
		t.Fatalf("the lake has %d files; the test needs many small ones", before.files)
	}

	// A reader at every step of the run sees each row once.
	steps := map[string]int{}
	hook := func(step string) error {
		steps[step]++
		sameRows(t, "before step "+step, readState(t, objs), before, truth)
		return nil
	}
	rs, err := compactAll(t, lake.NewCompactor(objs, lake.WithStepHook(hook)))
	if err != nil {
		t.Fatal(err)
	}
	after := readState(t, objs)
	sameRows(t, "after", after, before, truth)
	checkCompacted(t, objs, "")
	var filesBefore, filesAfter, compacted int
	for _, r := range rs {
		if r.Compacted {
			compacted++
		}
		if r.FilesBefore == 1 && !r.Compacted && r.Generation == 0 {
			filesBefore++
			filesAfter++
			continue // one small file: nothing to merge
		}
		if !r.Compacted || r.Generation != 1 || r.FilesAfter != 1 || r.Deleted != r.FilesBefore {
			t.Errorf("%s %s: %+v", r.Table, r.Partition.Path(), r)
		}
		filesBefore += r.FilesBefore
		filesAfter += r.FilesAfter
	}
	if compacted < len(rs)-1 || steps[lake.StepCommit] != compacted || steps[lake.StepDelete] != compacted || steps[lake.StepPutOutput] != compacted {
		t.Errorf("steps %v for %d partitions, %d compacted", steps, len(rs), compacted)
	}
	if filesBefore != before.files || filesAfter != after.files {
		t.Errorf("results say %d -> %d files, the readers saw %d -> %d", filesBefore, filesAfter, before.files, after.files)
	}

	// Idempotent: nothing to do, nothing changes.
	keys := listing(t, objs)
	rs, err = compactAll(t, lake.NewCompactor(objs))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Compacted || r.Deleted != 0 || (r.Generation != 1 && r.FilesBefore > 1) {
			t.Errorf("second run %s %s: %+v", r.Table, r.Partition.Path(), r)
		}
	}
	if again := listing(t, objs); !maps.Equal(again, keys) {
		t.Errorf("a second run changed the objects:\n%v\n%v", keys, again)
	}
}

// errCrash stands for the compactor's process dying.
var errCrash = errors.New("crash")

// crashingDeletes deletes only the first of the keys it is given, then
// fails, as a process dying in the middle of its deletes.
type crashingDeletes struct {
	lake.Objects
	armed atomic.Bool
}

func (c *crashingDeletes) Delete(ctx context.Context, keys []string) error {
	if c.armed.Load() && len(keys) > 1 {
		if err := c.Objects.Delete(ctx, keys[:1]); err != nil {
			return err
		}
		return errCrash
	}
	return c.Objects.Delete(ctx, keys)
}

// TestCompactCrash stops a compaction at each step; a reader sees every row
// once after the crash, and a rerun converges to the compacted lake.
func TestCompactCrash(t *testing.T) {
	t.Parallel()
	for _, at := range []string{"first " + lake.StepPutOutput, "second partition", lake.StepCommit, lake.StepDelete, "middle of deletes"} {
		t.Run(strings.ReplaceAll(at, " ", "-"), func(t *testing.T) {
			t.Parallel()
			s3objs, truth := smallLake(t, 1200)
			objs := &crashingDeletes{Objects: s3objs}
			before := readState(t, objs)
			commits := 0
			hook := func(step string) error {
				switch {
				case at == "middle of deletes":
					objs.armed.Store(true)
				case at == "second partition" && step == lake.StepCommit:
					if commits++; commits == 2 {
						return errCrash
					}
				case at == "first "+step, at == step:
					return errCrash
				}
				return nil
			}
			_, err := compactAll(t, lake.NewCompactor(objs, lake.WithStepHook(hook)))
			if !errors.Is(err, errCrash) {
				t.Fatalf("the compaction ended with %v, want the crash", err)
			}
			sameRows(t, "after the crash", readState(t, objs), before, truth)

			objs.armed.Store(false)
			if _, err := compactAll(t, lake.NewCompactor(objs)); err != nil {
				t.Fatal(err)
			}
			sameRows(t, "after the rerun", readState(t, objs), before, truth)
			checkCompacted(t, objs, "")
			keys := listing(t, objs)
			rs, err := compactAll(t, lake.NewCompactor(objs))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Compacted || r.Deleted != 0 {
					t.Errorf("third run %s %s: %+v", r.Table, r.Partition.Path(), r)
				}
			}
			if !maps.Equal(listing(t, objs), keys) {
				t.Error("a third run changed the objects")
			}
		})
	}
}

// TestCompactLateFiles: small files written after a compaction (late events
// of the hour) are read beside its output and merged by the next one; a
// superseded small file written again (a redelivered batch) stays hidden
// and is deleted by the next run.
func TestCompactLateFiles(t *testing.T) {
	t.Parallel()
	objs, _ := smallLake(t, 800)
	ctx := context.Background()
	views, err := lake.Resolve(ctx, objs, "", lake.TableUserEvents+"/")
	if err != nil || len(views) == 0 {
		t.Fatalf("resolve: %v", err)
	}
	v := views[0]
	first := v.Visible[0]
	firstBody, err := objs.Get(ctx, first.Key)
	if err != nil {
		t.Fatal(err)
	}
	c := lake.NewCompactor(objs)
	if _, err := c.CompactPartition(ctx, v.Table, v.Partition); err != nil {
		t.Fatal(err)
	}
	compacted := readState(t, objs)

	// The redelivered batch rewrites a superseded key: still hidden.
	if err := objs.Put(ctx, first.Key, firstBody, nil); err != nil {
		t.Fatal(err)
	}
	if s := readState(t, objs); s.counts.Duplicates != 0 || !maps.Equal(s.counts.Rows, compacted.counts.Rows) {
		t.Fatalf("a rewritten superseded file is read: %d duplicates", s.counts.Duplicates)
	}

	// Late events: 30 page views at new offsets of the same hour.
	late := make([]lake.Record, 30)
	hour, _ := time.Parse(time.DateOnly+" 15", v.Partition.Date+" "+v.Partition.Hour)
	for i := range late {
		e := event.New(event.TypePageView).(*event.PageView)
		e.EventID = fmt.Sprintf("late-%d", i)
		e.OccurredAt = hour.Add(time.Duration(i) * time.Minute)
		e.UserID, e.PageURL = "u-late", "/late"
		late[i] = lake.Record{Event: e, Topic: event.TopicUserEvents, Partition: 0, Offset: 1_000_000 + int64(i)}
	}
	for b := range slices.Chunk(late, 10) {
		if _, err := lake.NewWriter(objs).Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	tp := lake.TablePartition{Table: v.Table, Partition: v.Partition}
	s := readState(t, objs)
	if s.counts.Rows[tp] != compacted.counts.Rows[tp]+30 || s.counts.Duplicates != 0 {
		t.Fatalf("with late files: %d rows, want %d", s.counts.Rows[tp], compacted.counts.Rows[tp]+30)
	}
	r, err := c.CompactPartition(ctx, v.Table, v.Partition)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Compacted || r.Generation != 2 || r.FilesBefore != 4 || r.FilesAfter != 1 || r.Rows != s.counts.Rows[tp] {
		t.Errorf("second generation: %+v", r)
	}
	if again := readState(t, objs); !maps.Equal(again.counts.Rows, s.counts.Rows) || again.counts.Duplicates != 0 {
		t.Errorf("after the second generation: %v", again.counts.Rows)
	}
	views, err = lake.Resolve(ctx, objs, "", v.Dir[:len(v.Dir)])
	if err != nil {
		t.Fatal(err)
	}
	for k := range listing(t, objs) {
		if strings.HasPrefix(k, v.Dir) && k != views[0].Visible[0].Key && k != views[0].ManifestKey {
			t.Errorf("object %s left behind", k)
		}
	}
}

// TestCompactTargetSize: a small target splits a partition into several
// outputs; their rows are the partition's rows.
func TestCompactTargetSize(t *testing.T) {
	t.Parallel()
	objs, truth := smallLake(t, 800)
	before := readState(t, objs)
	var inBytes int64
	views, err := lake.Resolve(context.Background(), objs, "", lake.TableUserEvents+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range views[0].Visible {
		inBytes += o.Size
	}
	r, err := lake.NewCompactor(objs, lake.WithTargetSize(inBytes/3)).CompactPartition(context.Background(), views[0].Table, views[0].Partition)
	if err != nil {
		t.Fatal(err)
	}
	if r.FilesAfter < 3 || r.FilesAfter > 4 {
		t.Errorf("a third of the input as target made %d files", r.FilesAfter)
	}
	sameRows(t, "after", readState(t, objs), before, truth)
}

// TestCompactCrashThenLate: a compaction crashes after its commit, before
// its deletes; late files arrive; the next generation is committed while
// the first one's inputs are still there. A reader sees every row once at
// every step, and the lake converges.
func TestCompactCrashThenLate(t *testing.T) {
	t.Parallel()
	s3objs, _ := smallLake(t, 800)
	objs := &crashingDeletes{Objects: s3objs}
	ctx := context.Background()
	views, err := lake.Resolve(ctx, objs, "", lake.TableUserEvents+"/")
	if err != nil || len(views) == 0 {
		t.Fatalf("resolve: %v", err)
	}
	v := views[0]
	crash := func(step string) error {
		if step == lake.StepDelete {
			return errCrash
		}
		return nil
	}
	if _, err := lake.NewCompactor(objs, lake.WithStepHook(crash)).CompactPartition(ctx, v.Table, v.Partition); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v", err)
	}
	late := make([]lake.Record, 12)
	hour, _ := time.Parse(time.DateOnly+" 15", v.Partition.Date+" "+v.Partition.Hour)
	for i := range late {
		e := event.New(event.TypeSearch).(*event.Search)
		e.EventID = fmt.Sprintf("late-%d", i)
		e.OccurredAt = hour.Add(time.Duration(i) * time.Minute)
		e.UserID, e.Query = "u-late", "late"
		late[i] = lake.Record{Event: e, Topic: event.TopicUserEvents, Partition: 2, Offset: 5_000_000 + int64(i)}
	}
	for b := range slices.Chunk(late, 4) {
		if _, err := lake.NewWriter(objs).Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	want := readState(t, objs)
	tp := lake.TablePartition{Table: v.Table, Partition: v.Partition}
	if want.counts.Duplicates != 0 {
		t.Fatalf("before the second run: %d duplicates", want.counts.Duplicates)
	}

	// The second generation: a reader before each step, and a crash in the
	// middle of its deletes.
	check := func(step string) error {
		if s := readState(t, objs); s.counts.Duplicates != 0 || !maps.Equal(s.counts.Rows, want.counts.Rows) {
			t.Fatalf("before %s: %d rows of the partition (want %d), %d duplicates", step, s.counts.Rows[tp], want.counts.Rows[tp], s.counts.Duplicates)
		}
		if step == lake.StepDelete {
			objs.armed.Store(true)
		}
		return nil
	}
	r, err := lake.NewCompactor(objs, lake.WithStepHook(check)).CompactPartition(ctx, v.Table, v.Partition)
	if !errors.Is(err, errCrash) || !r.Compacted || r.Generation != 2 {
		t.Fatalf("second run: %v %+v", err, r)
	}
	check("the rerun")
	objs.armed.Store(false)
	if _, err := lake.NewCompactor(objs).CompactPartition(ctx, v.Table, v.Partition); err != nil {
		t.Fatal(err)
	}
	sameRowsAs := readState(t, objs)
	if sameRowsAs.counts.Duplicates != 0 || !maps.Equal(sameRowsAs.counts.Rows, want.counts.Rows) || !reflect.DeepEqual(sameRowsAs.rows, want.rows) {
		t.Fatal("after the rerun the rows differ")
	}
	checkCompacted(t, objs, v.Dir)
}

// TestCompactConcurrent: a second compaction of the partition commits while
// the first is about to, after a late file arrived; the first finds the
// generation taken and leaves the partition as the second left it.
func TestCompactConcurrent(t *testing.T) {
	t.Parallel()
	objs, _ := smallLake(t, 600)
	ctx := context.Background()
	views, err := lake.Resolve(ctx, objs, "", lake.TableUserEvents+"/")
	if err != nil || len(views) == 0 {
		t.Fatalf("resolve: %v", err)
	}
	v := views[0]
	var want lakeState
	race := func(step string) error {
		if step != lake.StepCommit {
			return nil
		}
		e := event.New(event.TypePageView).(*event.PageView)
		e.EventID, e.UserID, e.PageURL = "late-0", "u-late", "/late"
		e.OccurredAt, _ = time.Parse(time.DateOnly+" 15", v.Partition.Date+" "+v.Partition.Hour)
		if _, err := lake.NewWriter(objs).Write(ctx, []lake.Record{{Event: e, Topic: event.TopicUserEvents, Offset: 9_000_000}}); err != nil {
			t.Fatal(err)
		}
		want = readState(t, objs)
		if r, err := lake.NewCompactor(objs).CompactPartition(ctx, v.Table, v.Partition); err != nil || !r.Compacted {
			t.Fatalf("the other compaction: %v %+v", err, r)
		}
		return nil
	}
	_, err = lake.NewCompactor(objs, lake.WithStepHook(race)).CompactPartition(ctx, v.Table, v.Partition)
	if !errors.Is(err, lake.ErrConcurrentCompaction) {
		t.Fatalf("the first compaction ended with %v, want ErrConcurrentCompaction", err)
	}
	got := readState(t, objs)
	if got.counts.Duplicates != 0 || !maps.Equal(got.counts.Rows, want.counts.Rows) || !reflect.DeepEqual(got.rows, want.rows) {
		t.Fatalf("after the race: %v, want %v (%d duplicates)", got.counts.Rows, want.counts.Rows, got.counts.Duplicates)
	}
	if _, err := lake.NewCompactor(objs).CompactPartition(ctx, v.Table, v.Partition); err != nil {
		t.Fatal(err)
	}
	checkCompacted(t, objs, v.Dir)
	if s := readState(t, objs); !reflect.DeepEqual(s.rows, want.rows) {
		t.Fatal("after the rerun the rows differ")
	}
}
