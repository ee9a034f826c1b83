package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shopstream/shopstream/shared/generator"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/s3test"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// expected returns the rows a correct lake holds per table and partition
// for recs: good records in their event family's table by event time, bad
// ones in dead_letters by their Kafka timestamp (the generator's event time).
func expected(recs []placed) map[lakefmt.TablePartition]int64 {
	want := map[lakefmt.TablePartition]int64{}
	for _, p := range recs {
		table := lakefmt.TableDeadLetters
		if p.rec.Bad == nil {
			table = lakefmt.TableOf(p.rec.Type)
		}
		want[lakefmt.TablePartition{Table: table, Partition: lakefmt.PartitionOf(p.rec.Time)}]++
	}
	return want
}

func compareRows(got *lakefmt.Counts, want map[lakefmt.TablePartition]int64) []string {
	var diffs []string
	keys := slices.Collect(maps.Keys(want))
	for k := range got.Rows {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if got.Rows[k] != want[k] {
			diffs = append(diffs, fmt.Sprintf("%s %s: %d rows, want %d", k.Table, k.Partition.Path(), got.Rows[k], want[k]))
		}
	}
	slices.Sort(diffs)
	return diffs
}

func process(t *testing.T, h func(context.Context, events.KafkaEvent) (any, error), evs []events.KafkaEvent) {
	t.Helper()
	for i, ev := range evs {
		if _, err := h(context.Background(), ev); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
}

func handler(t *testing.T, store lakefmt.Store) func(context.Context, events.KafkaEvent) (any, error) {
	t.Helper()
	p, err := NewProcessor(store, discard)
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, ev events.KafkaEvent) (any, error) {
		resp, err := p.Process(ctx, ev)
		if err == nil && len(resp.BatchItemFailures) > 0 {
			err = fmt.Errorf("partial batch response %v with partial responses off", resp.BatchItemFailures)
		}
		return resp, err
	}
}

// TestGeneratedRun runs generated traffic (hours of event time, 20% in
// producer shapes, bad records of every kind) through the function into a
// real S3 server, and compares rows per table and partition with the
// generator's truth; then replays every batch, and the counts do not move.
func TestGeneratedRun(t *testing.T) {
	t.Parallel()
	client, bucket := s3test.Client(t), s3test.Bucket(t)
	recs, truth := generate(t, generator.Config{Seed: 11, Start: testStart, EventsPerSecond: 3, LegacyShare: 0.2, BadRate: 0.02}, 20_000, 3)
	if truth.Bad == 0 || truth.Legacy == 0 || truth.LastEvent.Sub(truth.FirstEvent) < 90*time.Minute {
		t.Fatalf("the run lacks bad or legacy records or spans less than two hours: %+v", truth)
	}
	h := handler(t, NewS3Store(client, bucket))
	evs := batches(recs, 1_000)
	process(t, h, evs)

	ctx := context.Background()
	counts, err := lakefmt.CountS3(ctx, client, bucket, "")
	if err != nil {
		t.Fatal(err)
	}
	want := expected(recs)
	if len(want) < 8 {
		t.Fatalf("only %d table partitions: the run should span several hours", len(want))
	}
	for _, d := range compareRows(counts, want) {
		t.Error(d)
	}
	for _, d := range Compare(counts, truth, nil) {
		t.Error("truth:", d)
	}
	if counts.Table(lakefmt.TableAlerts) != 0 || counts.Duplicates != 0 {
		t.Errorf("%d alerts, %d duplicates", counts.Table(lakefmt.TableAlerts), counts.Duplicates)
	}
	objects := maps.Clone(counts.Objects)

	// Every batch again, twice over, in another order: nothing is added.
	process(t, h, evs[len(evs)/2:])
	process(t, h, evs)
	again, err := lakefmt.CountS3(ctx, client, bucket, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range compareRows(again, want) {
		t.Error("after replay:", d)
	}
	if !maps.Equal(again.Objects, objects) {
		t.Errorf("objects after replay %v, before %v", again.Objects, objects)
	}
	if d := Compare(again, truth, nil); len(d) > 0 {
		t.Errorf("after replay: %v", d)
	}

	// A second copy of an object under another key is found.
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(lakefmt.TableUserEvents + "/")})
	if err != nil || len(list.Contents) == 0 {
		t.Fatalf("list: %v", err)
	}
	src := aws.ToString(list.Contents[0].Key)
	if _, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), CopySource: aws.String(bucket + "/" + src),
		Key: aws.String(strings.Replace(src, ".parquet", "-copy.parquet", 1))}); err != nil {
		t.Fatal(err)
	}
	copied, err := lakefmt.CountS3(ctx, client, bucket, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := Compare(copied, truth, nil); copied.Duplicates == 0 || len(d) < 3 {
		t.Errorf("a copied object gives %d duplicates and differences %v; want duplicates, and the table and its hour off", copied.Duplicates, d)
	}
}

// TestRetriedBatch: a batch fails after storing some of its objects; the
// event source mapping redelivers from its first offset a batch that ends
// elsewhere (shorter, then longer); the lake ends with every row once.
func TestRetriedBatch(t *testing.T) {
	t.Parallel()
	client, bucket := s3test.Client(t), s3test.Bucket(t)
	recs, _ := generate(t, generator.Config{Seed: 5, Start: testStart, EventsPerSecond: 2, LegacyShare: 0.1, BadRate: 0.05}, 6_000, 2)
	store := &flakyStore{Store: NewS3Store(client, bucket)}
	h := handler(t, store)
	ctx := context.Background()

	process(t, h, []events.KafkaEvent{payload(recs[:1_000])})
	// 1000..3999 fails after a few objects are stored.
	store.okPuts.Store(5)
	store.broken.Store(true)
	if _, err := h(ctx, payload(recs[1_000:4_000])); !errors.Is(err, errFlaky) {
		t.Fatalf("the failing batch returned %v, want the injected failure", err)
	}
	store.broken.Store(false)
	// Redelivered shorter (1000..2499), then from there to the end.
	process(t, h, []events.KafkaEvent{payload(recs[1_000:2_500]), payload(recs[2_500:])})
	counts, err := lakefmt.CountS3(ctx, client, bucket, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range compareRows(counts, expected(recs)) {
		t.Error(d)
	}
}

// TestDeadLetterSinkFailure: when the dead letters cannot be stored, the
// whole batch fails (no partial response), and its redelivery stores every
// row once.
func TestDeadLetterSinkFailure(t *testing.T) {
	t.Parallel()
	client, bucket := s3test.Client(t), s3test.Bucket(t)
	recs, truth := generate(t, generator.Config{Seed: 8, Start: testStart, BadRate: 0.1}, 2_000, 2)
	if truth.Bad == 0 {
		t.Fatal("no bad records")
	}
	store := &flakyStore{Store: NewS3Store(client, bucket)}
	h := handler(t, store)
	// Count the objects of valid events: the dead letters' come after them.
	ns := &nullStore{}
	hn := handler(t, ns)
	good := recs[:0:0]
	for _, r := range recs {
		if r.rec.Bad == nil {
			good = append(good, r)
		}
	}
	if _, err := hn(context.Background(), payload(good)); err != nil {
		t.Fatal(err)
	}
	store.okPuts.Store(ns.objects.Load())
	store.broken.Store(true)
	if _, err := h(context.Background(), payload(recs)); !errors.Is(err, errFlaky) {
		t.Fatalf("got %v, want the injected failure of the dead letters", err)
	}
	store.broken.Store(false)
	process(t, h, []events.KafkaEvent{payload(recs)})
	counts, err := lakefmt.CountS3(context.Background(), client, bucket, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range compareRows(counts, expected(recs)) {
		t.Error(d)
	}
	if counts.Duplicates != 0 {
		t.Errorf("%d duplicate rows", counts.Duplicates)
	}
	for r, n := range truth.BadByReason {
		if got := counts.DeadLetters[Name][r]; got != n {
			t.Errorf("dead letters %s: %d, want %d", r, got, n)
		}
	}
}
