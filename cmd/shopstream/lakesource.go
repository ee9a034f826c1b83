package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	lakefn "github.com/shopstream/shopstream/functions/lake/api"
	"github.com/shopstream/shopstream/shared/lake"
)

// lakeSource is where `shopstream query` and `shopstream lake` find the
// lake: the bucket folder of a `shopstream dev` run (the local S3 server
// keeps each object as a plain file), or a bucket reached through the S3
// API of any endpoint.
type lakeSource struct {
	dataDir  string
	useS3    bool
	endpoint string
	bucket   string
	prefix   string
}

func (s *lakeSource) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.dataDir, "data-dir", filepath.Join(".shopstream", "run"), "run `directory` of a `shopstream dev` run: its lake is the folder s3/data/BUCKET in it")
	fs.BoolVar(&s.useS3, "s3", false, "read the bucket through the S3 API (AWS credentials and AWS_ENDPOINT_URL_S3 from the environment) instead of a run directory")
	fs.StringVar(&s.endpoint, "endpoint", "", "S3 endpoint `URL` (implies --s3; path-style addressing), such as the one `shopstream dev --keep` prints")
	fs.StringVar(&s.bucket, "bucket", lakefn.DefaultBucket, "the lake's `bucket`")
	fs.StringVar(&s.prefix, "prefix", "", "key `prefix` of the lake's tables in the bucket (LAKE_PREFIX of the function)")
}

func (s *lakeSource) s3() bool { return s.useS3 || s.endpoint != "" }

// dir returns the bucket folder of the run directory.
func (s *lakeSource) dir() string { return filepath.Join(s.dataDir, "s3", "data", s.bucket) }

// objects returns the lake's objects.
func (s *lakeSource) objects(ctx context.Context) (lake.Objects, error) {
	if !s.s3() {
		dir := s.dir()
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("no lake at %s: run `shopstream dev` first (or give --data-dir of its run, or --s3)", dir)
		}
		return lake.NewDirObjects(dir), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	pathStyle := s.endpoint != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
		o.UsePathStyle = pathStyle
	})
	return lake.NewS3Objects(client, s.bucket), nil
}

// where names the source for messages.
func (s *lakeSource) where() string {
	if s.s3() {
		return "s3://" + s.bucket + "/" + s.prefix
	}
	return s.dir()
}
