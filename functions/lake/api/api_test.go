package api_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shopstream/shopstream/functions/lake/api"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// TestPipelineSurface drives the function as `shopstream dev` does: create
// the bucket (twice: Setup runs on every start), process generated traffic,
// verify against the truth. An empty lake does not verify.
func TestPipelineSurface(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := s3test.Client(t)
	bucket := s3test.BucketName(t)
	for range 2 {
		if err := api.CreateBucket(ctx, client, bucket); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := removeAll(ctx, t, bucket); err != nil {
			t.Errorf("remove bucket %s: %v", bucket, err)
		}
	})

	g, err := generator.New(generator.Config{Seed: 3, LegacyShare: 0.1, EventsPerSecond: 5})
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "lake/"
	truth0 := g.Truth()
	if d, err := api.Verify(ctx, client, bucket, prefix, truth0, nil); err != nil || len(d) != 0 {
		t.Fatalf("an empty run on an empty lake: %v %v", d, err)
	}
	p, err := api.NewProcessor(api.Config{S3: client, Bucket: bucket, Prefix: prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	offsets := map[string]int64{}
	for range 5_000 {
		r := g.Next()
		tp := r.Topic + "-0"
		ev.Records[tp] = append(ev.Records[tp], events.KafkaRecord{Topic: r.Topic, Offset: offsets[tp],
			Timestamp: events.MilliSecondsEpochTime{Time: r.Time}, TimestampType: "CREATE_TIME",
			Key: base64.StdEncoding.EncodeToString([]byte(r.Key)), Value: base64.StdEncoding.EncodeToString(r.Value)})
		offsets[tp]++
	}
	truth := g.Truth()
	if d, err := api.Verify(ctx, client, bucket, prefix, truth, nil); err != nil || len(d) == 0 {
		t.Fatalf("an empty lake verified against %d events: %v", truth.Records, err)
	}
	if _, err := p.Process(ctx, ev); err != nil {
		t.Fatal(err)
	}
	d, err := api.Verify(ctx, client, bucket, prefix, truth, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range d {
		t.Error(s)
	}
	t.Logf("%d events, %s", truth.Records, strconv.Itoa(len(ev.Records))+" topic-partitions")
}

// removeAll empties and deletes bucket.
func removeAll(ctx context.Context, t *testing.T, bucket string) error {
	client := s3test.Client(t)
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				return err
			}
		}
	}
	_, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return err
}
