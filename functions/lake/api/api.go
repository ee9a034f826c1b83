// Package api is the lake function's one public surface: what the
// shopstream command needs to run the function in process and to check
// what it wrote. The logic stays in internal/lake.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shopstream/shopstream/functions/lake/internal/lake"
	"github.com/shopstream/shopstream/shared/generator"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
)

// Name is the function's name.
const Name = lake.Name

// DefaultBucket is the lake's bucket when the environment names none
// (LAKE_BUCKET), as in local runs.
const DefaultBucket = "shopstream-lake"

// Config is what the function is built from.
type Config struct {
	S3     *s3.Client
	Bucket string
	// Prefix is put before every object key; "" for the bucket's root.
	Prefix string
	Logger *slog.Logger
}

// Processor is the function's batch processor: its Process method is the
// Lambda handler.
type Processor = lake.Processor

// NewProcessor returns the function's batch processor: its Process method
// is the Lambda handler.
func NewProcessor(c Config) (*Processor, error) {
	return lake.NewProcessor(lake.NewS3Store(c.S3, c.Bucket), c.Logger, lakefmt.WithPrefix(c.Prefix))
}

// CreateBucket creates the lake's bucket, if missing.
func CreateBucket(ctx context.Context, client *s3.Client, bucket string) error {
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// Produced counts the records the other functions of a run produced to
// the derived topics the lake archives (alerts and dead letters), by topic.
type Produced = lake.Produced

// DerivedTopics lists the topics of derived events the lake archives, beside
// the generator's input topics.
func DerivedTopics() []string { return lake.DerivedTopics() }

// Verify counts the rows of the lake under prefix in bucket per table and
// partition and compares them with the truth, and the rows of each derived
// topic with the records produced to it (nil: not checked); it returns the
// differences.
func Verify(ctx context.Context, client *s3.Client, bucket, prefix string, truth *generator.Truth, produced Produced) ([]string, error) {
	c, err := lakefmt.CountS3(ctx, client, bucket, prefix)
	if err != nil {
		return nil, err
	}
	return lake.Compare(c, truth, produced), nil
}
