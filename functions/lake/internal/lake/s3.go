package lake

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	lakefmt "github.com/shopstream/shopstream/shared/lake"
)

// ContentType is the media type of the lake's objects.
const ContentType = "application/vnd.apache.parquet"

// S3Store stores lake objects in an S3 bucket with PutObject, which makes
// an object visible whole or not at all.
type S3Store struct {
	client *s3.Client
	bucket string
}

var _ lakefmt.Store = (*S3Store)(nil)

// NewS3Store returns a store writing to bucket through client.
func NewS3Store(client *s3.Client, bucket string) *S3Store {
	return &S3Store{client: client, bucket: bucket}
}

// Put implements lake.Store.
func (s *S3Store) Put(ctx context.Context, key string, body []byte, meta map[string]string) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(ContentType),
		Metadata:      meta,
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}
