package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ObjectInfo is one listed object.
type ObjectInfo struct {
	Key  string
	Size int64
}

// Objects is an object store as lake readers and the compactor use it: S3
// semantics, one object at a time.
//
// List returns every object whose key starts with prefix, sorted by key.
// Get returns an object's bytes, or an error matching os.ErrNotExist when
// there is none. Put replaces an object whole and atomically (readers see
// the old bytes or the new, never a mix). Create stores an object as Put
// does only if no object has its key, and otherwise returns an error
// matching os.ErrExist; of two racing Creates of one key, one fails.
// Delete removes objects; keys already gone are not an error. Every method
// must be safe for concurrent use.
type Objects interface {
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, body []byte, meta map[string]string) error
	Create(ctx context.Context, key string, body []byte) error
	Delete(ctx context.Context, keys []string) error
}

// S3Objects is a bucket of an S3 service.
type S3Objects struct {
	client *s3.Client
	bucket string
}

var (
	_ Objects = (*S3Objects)(nil)
	_ Store   = (*S3Objects)(nil)
)

// NewS3Objects returns the objects of bucket, reached through client.
func NewS3Objects(client *s3.Client, bucket string) *S3Objects {
	return &S3Objects{client: client, bucket: bucket}
}

// List implements Objects.
func (o *S3Objects) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	pages := s3.NewListObjectsV2Paginator(o.client, &s3.ListObjectsV2Input{Bucket: aws.String(o.bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", o.bucket, prefix, err)
		}
		for _, c := range page.Contents {
			out = append(out, ObjectInfo{Key: aws.ToString(c.Key), Size: aws.ToInt64(c.Size)})
		}
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Get implements Objects; a missing key is os.ErrNotExist.
func (o *S3Objects) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := o.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("get s3://%s/%s: %w", o.bucket, key, os.ErrNotExist)
		}
		return nil, fmt.Errorf("get s3://%s/%s: %w", o.bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", o.bucket, key, err)
	}
	return body, nil
}

// Put implements Objects and Store.
func (o *S3Objects) Put(ctx context.Context, key string, body []byte, meta map[string]string) error {
	typ := "application/octet-stream"
	switch {
	case strings.HasSuffix(key, ".parquet"):
		typ = "application/vnd.apache.parquet"
	case strings.HasSuffix(key, ".json"):
		typ = "application/json"
	}
	_, err := o.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(o.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String(typ), Metadata: meta,
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", o.bucket, key, err)
	}
	return nil
}

// Create implements Objects with a conditional PutObject (If-None-Match: *).
func (o *S3Objects) Create(ctx context.Context, key string, body []byte) error {
	_, err := o.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(o.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*"),
	})
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict") {
		return fmt.Errorf("create s3://%s/%s: %w", o.bucket, key, os.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("create s3://%s/%s: %w", o.bucket, key, err)
	}
	return nil
}

// Delete implements Objects: 1000 keys per request, four requests at once.
func (o *S3Objects) Delete(ctx context.Context, keys []string) error {
	chunks := slices.Collect(slices.Chunk(keys, 1000))
	errs := make([]error, len(chunks))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, chunk := range chunks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = o.deleteChunk(ctx, chunk)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (o *S3Objects) deleteChunk(ctx context.Context, chunk []string) error {
	ids := make([]types.ObjectIdentifier, len(chunk))
	for i, k := range chunk {
		ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	out, err := o.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(o.bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
	if err != nil {
		return fmt.Errorf("delete %d objects of s3://%s: %w", len(chunk), o.bucket, err)
	}
	for _, e := range out.Errors {
		if aws.ToString(e.Code) != "NoSuchKey" {
			return fmt.Errorf("delete s3://%s/%s: %s", o.bucket, aws.ToString(e.Key), aws.ToString(e.Message))
		}
	}
	return nil
}

// DirObjects is a directory of plain files seen as a bucket: a key is a
// path relative to the directory, with "/" separators. It reads the buckets
// of the local S3 server (whose posix backend stores an object as a file)
// when the server is not running. Files and folders whose names start with
// "." are not objects. Put writes a temporary file and renames it, so a
// reader sees the old file or the new one. Put keeps no user metadata.
type DirObjects struct {
	root string
}

var _ Objects = (*DirObjects)(nil)

// NewDirObjects returns the objects under the directory root.
func NewDirObjects(root string) *DirObjects { return &DirObjects{root: root} }

func (d *DirObjects) path(key string) (string, error) {
	if !fs.ValidPath(key) {
		return "", fmt.Errorf("key %q is not a relative path", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// List implements Objects.
func (d *DirObjects) List(_ context.Context, prefix string) ([]ObjectInfo, error) {
	// Walk from the deepest folder the prefix names.
	start := d.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		p, err := d.path(prefix[:i])
		if err != nil {
			return nil, err
		}
		start = p
	}
	var out []ObjectInfo
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != start {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, ObjectInfo{Key: key, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", d.root, prefix, err)
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Get implements Objects.
func (d *DirObjects) Get(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Put implements Objects.
func (d *DirObjects) Put(_ context.Context, key string, body []byte, _ map[string]string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(body)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// Create implements Objects: a hard link of a complete temporary file,
// which fails if the name exists.
func (d *DirObjects) Create(_ context.Context, key string, body []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".create-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(body)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Link(f.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", p, os.ErrExist)
		}
		return err
	}
	return nil
}

// Delete implements Objects.
func (d *DirObjects) Delete(_ context.Context, keys []string) error {
	for _, k := range keys {
		p, err := d.path(k)
		if err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Path returns the file of key.
func (d *DirObjects) Path(key string) string {
	p, _ := d.path(key)
	return p
}
