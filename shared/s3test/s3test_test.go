package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shopstream/shopstream/shared/devstack"
)

func TestMain(m *testing.M) { Main(m) }

func put(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func TestPutObjectIsAPlainFile(t *testing.T) {
	t.Parallel()
	c, bucket := Client(t), Bucket(t)
	body := []byte(`{"order_id":"o-1"}` + "\n")
	put(t, c, bucket, "events/dt=2026-01-01/hour=10/part-0.jsonl", body)
	got, err := os.ReadFile(filepath.Join(Server(t).DataDir, bucket, "events", "dt=2026-01-01", "hour=10", "part-0.jsonl"))
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("file = %q, %v; want %q", got, err, body)
	}
	head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("events/dt=2026-01-01/hour=10/part-0.jsonl")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Errorf("head: %v, %v", head, err)
	}
}

func TestMultipartAndRangedGet(t *testing.T) {
	t.Parallel()
	c, bucket := Client(t), Bucket(t)
	key := "parquet/orders.parquet"
	part1 := make([]byte, 5<<20)
	if _, err := rand.Read(part1); err != nil {
		t.Fatal(err)
	}
	part2 := []byte("PAR1-footer")
	mp, err := c.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, p := range [][]byte{part1, part2} {
		n := aws.Int32(int32(i + 1))
		out, err := c.UploadPart(t.Context(), &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: mp.UploadId, PartNumber: n, Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: n})
	}
	if _, err := c.CompleteMultipartUpload(t.Context(), &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	whole := append(slices.Clone(part1), part2...)
	for _, r := range []struct{ header, want string }{
		{"bytes=-11", "PAR1-footer"}, // the suffix a Parquet reader asks for first
		{fmt.Sprintf("bytes=%d-%d", len(part1)-3, len(part1)+3), string(whole[len(part1)-3 : len(part1)+4])},
		{"bytes=0-9", string(whole[:10])},
	} {
		out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(r.header)})
		if err != nil {
			t.Fatalf("GET %s: %v", r.header, err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || string(got) != r.want {
			t.Errorf("GET %s = %x, %v; want %x", r.header, got, err, r.want)
		}
	}
}

func TestAbortedMultipartLeavesNothing(t *testing.T) {
	t.Parallel()
	c, bucket := Client(t), Bucket(t)
	mp, err := c.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadPart(t.Context(), &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("x"), UploadId: mp.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("part")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AbortMultipartUpload(t.Context(), &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("x"), UploadId: mp.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("x")})
	if err == nil {
		t.Error("object exists after an aborted upload")
	}
}

func TestListAndDelete(t *testing.T) {
	t.Parallel()
	c, bucket := Client(t), Bucket(t)
	var want []string
	for i := range 5 {
		k := fmt.Sprintf("alerts/dt=2026-01-0%d/a.json", i+1)
		put(t, c, bucket, k, []byte("{}"))
		want = append(want, k)
	}
	put(t, c, bucket, "other/b.json", []byte("{}"))

	var got []string
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("alerts/"), MaxKeys: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			got = append(got, aws.ToString(o.Key))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	dirs, err := c.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, p := range dirs.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	if !slices.Equal(prefixes, []string{"alerts/", "other/"}) {
		t.Errorf("common prefixes %v, want [alerts/ other/]", prefixes)
	}

	if _, err := c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("other/b.json")}); err != nil {
		t.Fatal(err)
	}
	var ids []types.ObjectIdentifier
	for _, k := range want {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
	}
	out, err := c.DeleteObjects(t.Context(), &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != len(want) || len(out.Errors) != 0 {
		t.Errorf("DeleteObjects: %d deleted, errors %v", len(out.Deleted), out.Errors)
	}
	left, err := c.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil || aws.ToInt32(left.KeyCount) != 0 {
		t.Errorf("after deletes: %v objects (%v)", aws.ToInt32(left.KeyCount), err)
	}
	_, err = c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("other/b.json")})
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GET after delete: %v, want NoSuchKey", err)
	}
}

func TestWrongCredentialsAreRefused(t *testing.T) {
	t.Parallel()
	s := Server(t)
	cfg := s.Config()
	cfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		return devstack.NewCredentials(), nil
	}))
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; o.RetryMaxAttempts = 1 })
	if _, err := c.ListBuckets(t.Context(), &s3.ListBucketsInput{}); err == nil {
		t.Error("ListBuckets with unknown keys succeeded")
	}
}

func TestBucketNames(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	seen := map[string]bool{}
	for range 50 {
		n := BucketName(t)
		if !valid.MatchString(n) || seen[n] {
			t.Fatalf("BucketName = %q: invalid or repeated", n)
		}
		seen[n] = true
	}
	t.Run(strings.Repeat("Very_Long/Name ", 10), func(t *testing.T) {
		if n := BucketName(t); !valid.MatchString(n) {
			t.Errorf("BucketName = %q: invalid", n)
		}
	})
}

func TestBucketIsRemovedAfterTheTest(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		name = Bucket(t)
		put(t, Client(t), name, "k", []byte("v"))
	})
	_, err := Client(t).HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String(name)})
	if err == nil {
		t.Errorf("bucket %s still exists after its test", name)
	}
}

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	s := Server(t)
	addrs, err := devstack.ListenAddrs(s.Port)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) == 0 {
		t.Fatalf("nothing listens on %d", s.Port)
	}
	for _, a := range addrs {
		if !a.IsLoopback() {
			t.Errorf("versitygw listens on %s:%d", a, s.Port)
		}
	}
	// The keys are not on its command line, which any user can read.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.Process().Pid()))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cmdline, []byte(s.Credentials.SecretAccessKey)) {
		t.Error("the secret key is on versitygw's command line")
	}
}

// TestToolsReused checks that asking for versitygw again, as a second
// start does, installs nothing.
func TestToolsReused(t *testing.T) {
	t.Parallel()
	Server(t) // installed by now
	tools := &devstack.Tools{Dir: os.Getenv(devstack.ToolsDirEnv)}
	bin, err := tools.VersityGW(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if _, err := tools.VersityGW(t.Context()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("finding installed versitygw took %s", took)
	}
	after, err := os.Stat(bin)
	if err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("versitygw changed: %v -> %v (%v)", before.ModTime(), after.ModTime(), err)
	}
}

// TestFailsWithInstallHint runs a test of this binary on a machine without
// versitygw and without Go (an empty tools directory and PATH): it must
// fail, not skip, and say what to install.
func TestFailsWithInstallHint(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPutObjectIsAPlainFile$", "-test.v")
	cmd.Env = []string{"PATH=", "HOME=" + t.TempDir(), devstack.ToolsDirEnv + "=" + t.TempDir()}
	b, err := cmd.CombinedOutput()
	out := string(b)
	if err == nil {
		t.Fatalf("test passed without versitygw:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestPutObjectIsAPlainFile", "installing versitygw (the local S3 server) needs the Go toolchain: put go (1.26) on PATH"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--- SKIP") {
		t.Errorf("a test was skipped:\n%s", out)
	}
}
