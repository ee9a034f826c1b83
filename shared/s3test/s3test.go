// Package s3test provides an S3 server to tests, as httptest provides HTTP
// servers: one versitygw per test binary, started on first use (and
// compiled into the tools directory first if needed, a minute or two once
// per machine), shared by every test and stopped by [Main] when the tests
// end. Each test gets its own bucket ([Bucket]) and may run in parallel.
// Objects are plain files under the server's DataDir.
//
//	func TestMain(m *testing.M) { s3test.Main(m) }
//
//	func TestLake(t *testing.T) {
//		t.Parallel()
//		client, bucket := s3test.Client(t), s3test.Bucket(t)
//		...
//	}
//
// When the server cannot start, every test that asks for it fails with the
// reason and how to install what is missing; none is skipped. The tools
// directory is $SHOPSTREAM_TOOLS_DIR when set, else the default of
// devstack.DefaultToolsDir.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/servertest"
)

var shared = &servertest.Once[*devstack.S3]{
	Name:    "s3test",
	What:    "the S3 server (versitygw)",
	Timeout: 10 * time.Minute, // a first install included
	Start: func(ctx context.Context, dir string, logger *slog.Logger) (*devstack.S3, error) {
		return devstack.StartS3(ctx, devstack.S3Config{
			Dir:    dir,
			Tools:  &devstack.Tools{Dir: os.Getenv(devstack.ToolsDirEnv), Logger: logger},
			Logger: logger,
		})
	},
}

// Main runs the tests, stops the server, and exits. A process of the
// server still alive after Stop makes the run fail.
func Main(m *testing.M) { shared.Main(m) }

// Server returns the test binary's server, starting it on first use. It
// fails t when the server cannot start.
func Server(t testing.TB) *devstack.S3 {
	t.Helper()
	return shared.Get(t)
}

// Config returns an aws.Config for the server: region us-east-1, its
// static credentials and its URL as base endpoint. Clients made from it
// need path-style addressing (s3.Options.UsePathStyle).
func Config(t testing.TB) aws.Config {
	t.Helper()
	return Server(t).Config()
}

// Client returns an S3 client for the server, with path-style addressing.
func Client(t testing.TB) *s3.Client {
	t.Helper()
	return Server(t).Client()
}

var seq atomic.Int64

var unsafe = regexp.MustCompile(`[^a-z0-9]+`)

// BucketName returns a valid bucket name unique to this call in the test
// binary, made of the test's name and a sequence number.
func BucketName(t testing.TB) string {
	suffix := fmt.Sprintf("-%d", seq.Add(1))
	name := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if max := 63 - len(suffix); len(name) > max {
		name = strings.TrimRight(name[:max], "-")
	}
	if len(name) < 3 {
		name = "test" + name
	}
	return name + suffix
}

// Bucket creates a bucket for this test and returns its name. When the test
// ends the bucket is emptied and deleted.
func Bucket(t testing.TB) string {
	t.Helper()
	c := Client(t)
	name := BucketName(t)
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := removeBucket(context.Background(), c, name); err != nil {
			t.Errorf("s3test: remove bucket %s: %v", name, err)
		}
	})
	return name
}

func removeBucket(ctx context.Context, c *s3.Client, bucket string) error {
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		if len(page.Contents) == 0 {
			continue
		}
		var ids []types.ObjectIdentifier
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return err
		}
		if len(out.Errors) > 0 {
			return fmt.Errorf("delete %s: %s", aws.ToString(out.Errors[0].Key), aws.ToString(out.Errors[0].Message))
		}
	}
	uploads, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err == nil {
		for _, u := range uploads.Uploads {
			_, _ = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId})
		}
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	var nsb *types.NoSuchBucket
	if errors.As(err, &nsb) {
		return nil // the test removed it
	}
	return err
}

// Stop stops the server, if one was started, removes its folder, and
// reports a process of it still alive. Main calls it.
func Stop() error { return shared.Stop() }
