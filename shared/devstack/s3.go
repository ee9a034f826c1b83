package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Config configures [StartS3].
type S3Config struct {
	Dir          string          // holds the buckets (data/), their metadata and the log; created if needed (required)
	Tools        *Tools          // where versitygw is installed; nil means the default
	Logger       *slog.Logger    // nil discards
	Port         int             // 0 picks a free port
	Credentials  aws.Credentials // the only account; the zero value generates random ones
	ReadyTimeout time.Duration   // how long to wait for ListBuckets to answer; default 60s
}

// S3 is a running versitygw, an S3 server with the posix backend: a bucket
// is a folder of DataDir and an object a plain file in it, so the lake can
// be read with any tool. It listens on 127.0.0.1 (--port 127.0.0.1:PORT),
// has one account whose keys are generated per run and passed through its
// environment (not its command line, which every user can read), and serves
// path-style requests.
type S3 struct {
	URL         string          // http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_S3
	Port        int             // the TCP port
	Credentials aws.Credentials // the account's keys
	DataDir     string          // one folder per bucket
	proc        *Process
}

// StartS3 starts versitygw, installing it first if needed, and returns
// once it answers ListBuckets. DataDir starts empty: whatever Dir held is
// removed.
func StartS3(ctx context.Context, cfg S3Config) (*S3, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		return nil, errors.New("start S3: no directory")
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.Credentials.AccessKeyID == "" {
		cfg.Credentials = NewCredentials()
	}
	tools := cfg.Tools
	if tools == nil {
		tools = &Tools{Logger: logger}
	}
	gw, err := tools.VersityGW(ctx)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(cfg.Dir, "data")
	meta := filepath.Join(cfg.Dir, "meta")
	for _, d := range []string{data, meta} {
		if err := os.RemoveAll(d); err != nil {
			return nil, fmt.Errorf("start S3: %w", err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("start S3: %w", err)
		}
	}
	backend := []string{"posix"}
	if !xattrSupported(data) {
		// The posix backend keeps object metadata in extended attributes;
		// where the file system has none, a sidecar folder holds it.
		backend = append(backend, "--sidecar", meta)
		logger.Info("no extended attributes on this file system: object metadata goes to a sidecar folder", "dir", meta)
	}
	backend = append(backend, data)

	env := append(BaseEnv(),
		"ROOT_ACCESS_KEY_ID="+cfg.Credentials.AccessKeyID,
		"ROOT_SECRET_ACCESS_KEY="+cfg.Credentials.SecretAccessKey,
	)
	start := func(port int) (*Process, error) {
		args := append([]string{"--port", "127.0.0.1:" + strconv.Itoa(port), "--region", Region, "--quiet"}, backend...)
		return StartProcess(ProcessConfig{
			Name:    "versitygw",
			Path:    gw,
			Args:    args,
			Env:     env,
			Dir:     cfg.Dir,
			LogFile: filepath.Join(cfg.Dir, "versitygw.log"),
		})
	}
	s := &S3{Credentials: cfg.Credentials, DataDir: data}
	probe := func(ctx context.Context) error {
		_, err := s.probeClient().ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	}
	began := time.Now()
	proc, port, err := startServer(ctx, cfg.Port, cfg.ReadyTimeout, start, s.setPort, probe)
	if err != nil {
		return nil, err
	}
	s.proc = proc
	if err := CheckLoopback(port); err != nil {
		_ = proc.Stop()
		return nil, fmt.Errorf("versitygw: %w", err)
	}
	logger.Info("S3 (versitygw) ready", "url", s.URL, "data", data, "pid", proc.Pid(), "took", time.Since(began).Round(time.Millisecond))
	return s, nil
}

func (s *S3) setPort(port int) {
	s.Port = port
	s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
}

// Config returns an aws.Config for this server: us-east-1, its credentials
// and its URL as the base endpoint. S3 clients made from it must use
// path-style addressing (s3.Options.UsePathStyle), as [S3.Client] does.
func (s *S3) Config() aws.Config { return awsConfig(s.URL, s.Credentials) }

// Client returns an S3 client for this server, with path-style addressing.
func (s *S3) Client() *s3.Client {
	return s3.NewFromConfig(s.Config(), func(o *s3.Options) { o.UsePathStyle = true })
}

func (s *S3) probeClient() *s3.Client {
	return s3.NewFromConfig(s.Config(), func(o *s3.Options) {
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})
}

// Process returns the supervised versitygw process.
func (s *S3) Process() *Process { return s.proc }

// Stop stops the server and waits for it to exit. The buckets stay in
// DataDir.
func (s *S3) Stop() error { return s.proc.Stop() }

// xattrSupported reports whether files in dir take user extended
// attributes.
func xattrSupported(dir string) bool {
	f, err := os.CreateTemp(dir, ".xattr-probe-")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	defer os.Remove(name)
	return syscall.Setxattr(name, "user.shopstream.probe", []byte("1"), 0) == nil
}
