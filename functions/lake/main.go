// Command lake archives every event to the S3 Parquet lake. It reads
// LAKE_BUCKET (default shopstream-lake, the bucket of local runs) and
// LAKE_PREFIX (a key prefix; default none).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shopstream/shopstream/functions/lake/api"
	"github.com/shopstream/shopstream/shared/logging"
)

func main() {
	logger := logging.New(os.Stdout, api.Name, os.Getenv("AWS_LAMBDA_LOG_LEVEL"))
	p, err := setup(context.Background(), logger)
	if err != nil {
		logger.Error("init failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(p.Process)
}

func setup(ctx context.Context, logger *slog.Logger) (*api.Processor, error) {
	bucket := os.Getenv("LAKE_BUCKET")
	if bucket == "" {
		bucket = api.DefaultBucket
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	// A local S3 server (AWS_ENDPOINT_URL_S3) takes path-style addresses.
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = os.Getenv("AWS_ENDPOINT_URL_S3") != "" })
	return api.NewProcessor(api.Config{S3: client, Bucket: bucket, Prefix: os.Getenv("LAKE_PREFIX"), Logger: logger})
}
