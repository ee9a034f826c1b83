package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Config configures [Start].
type Config struct {
	// RunDir holds the services' data and logs, one folder each:
	// dynamodb/, s3/ (the lake: s3/data/BUCKET/KEY), postgres/. Start
	// empties those folders; Stop leaves them for inspection. Required.
	RunDir string

	Tools  *Tools       // where the tools are installed; nil means the default directory
	Logger *slog.Logger // nil discards

	// Kafka configures the broker; Kafka.Brokers names an existing
	// cluster to use instead of the in-process one, and the in-process
	// broker keeps its log in memory unless Kafka.DataDir is set.
	Kafka KafkaConfig

	// PostgresURL names an existing PostgreSQL server to use instead of a
	// private cluster.
	PostgresURL string

	// ReadyTimeout bounds each server's wait for readiness after install;
	// default 60s.
	ReadyTimeout time.Duration
}

// Stack is the set of local services `shopstream dev` runs on.
type Stack struct {
	RunDir      string
	Kafka       *Kafka
	DynamoDB    *DynamoDB
	S3          *S3
	Postgres    *Postgres
	Credentials aws.Credentials // valid for both DynamoDB and S3
}

// Start starts every service, the external servers in parallel, and
// returns once each answers a real request. On error it stops what it
// started.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.RunDir == "" {
		return nil, errors.New("start local stack: no run directory")
	}
	run, err := filepath.Abs(cfg.RunDir)
	if err != nil {
		return nil, fmt.Errorf("start local stack: %w", err)
	}
	if err := os.MkdirAll(run, 0o755); err != nil {
		return nil, fmt.Errorf("start local stack: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tools := cfg.Tools
	if tools == nil {
		tools = &Tools{Logger: logger}
	}
	for _, d := range []string{"dynamodb", "s3", "postgres"} {
		if err := os.RemoveAll(filepath.Join(run, d)); err != nil {
			return nil, fmt.Errorf("start local stack: %w", err)
		}
	}
	s := &Stack{RunDir: run, Credentials: NewCredentials()}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	wg.Go(func() {
		d, err := StartDynamoDB(ctx, DynamoDBConfig{Dir: filepath.Join(run, "dynamodb"), Tools: tools, Logger: logger,
			Credentials: s.Credentials, ReadyTimeout: cfg.ReadyTimeout})
		if err != nil {
			fail(err)
			return
		}
		s.DynamoDB = d
	})
	wg.Go(func() {
		st, err := StartS3(ctx, S3Config{Dir: filepath.Join(run, "s3"), Tools: tools, Logger: logger,
			Credentials: s.Credentials, ReadyTimeout: cfg.ReadyTimeout})
		if err != nil {
			fail(err)
			return
		}
		s.S3 = st
	})
	wg.Go(func() {
		var p *Postgres
		var err error
		if cfg.PostgresURL != "" {
			p, err = ConnectPostgres(ctx, cfg.PostgresURL)
		} else {
			p, err = StartPostgres(ctx, PostgresConfig{Dir: filepath.Join(run, "postgres"), Logger: logger,
				ReadyTimeout: cfg.ReadyTimeout})
		}
		if err != nil {
			fail(err)
			return
		}
		s.Postgres = p
	})
	kcfg := cfg.Kafka
	if kcfg.Logger == nil {
		kcfg.Logger = logger
	}
	k, err := StartKafka(ctx, kcfg)
	if err != nil {
		fail(err)
	} else {
		s.Kafka = k
	}
	wg.Wait()
	if len(errs) > 0 {
		_ = s.Stop()
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Env returns the environment that points programs at the stack, as
// KEY=VALUE: the AWS SDK's region, credentials and per-service endpoints
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3), KAFKA_BROKERS
// (comma-separated) and DATABASE_URL. S3 clients must use path-style
// addressing; with an IP address as endpoint the SDK does so by itself.
func (s *Stack) Env() []string {
	var env []string
	if s.DynamoDB != nil || s.S3 != nil {
		env = append(env,
			"AWS_REGION="+Region,
			"AWS_ACCESS_KEY_ID="+s.Credentials.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY="+s.Credentials.SecretAccessKey,
		)
	}
	if s.DynamoDB != nil {
		env = append(env, "AWS_ENDPOINT_URL_DYNAMODB="+s.DynamoDB.URL)
	}
	if s.S3 != nil {
		env = append(env, "AWS_ENDPOINT_URL_S3="+s.S3.URL)
	}
	if s.Kafka != nil {
		env = append(env, "KAFKA_BROKERS="+strings.Join(s.Kafka.Brokers, ","))
	}
	if s.Postgres != nil {
		env = append(env, "DATABASE_URL="+s.Postgres.URL)
	}
	return env
}

// Processes returns the supervised processes of the stack.
func (s *Stack) Processes() []*Process {
	var ps []*Process
	if s.DynamoDB != nil {
		ps = append(ps, s.DynamoDB.Process())
	}
	if s.S3 != nil {
		ps = append(ps, s.S3.Process())
	}
	if s.Postgres != nil && s.Postgres.Process() != nil {
		ps = append(ps, s.Postgres.Process())
	}
	return ps
}

// Stop stops every service, the external servers in parallel, and waits
// for them. Data stays in RunDir.
func (s *Stack) Stop() error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	stop := func(name string, fn func() error) {
		wg.Go(func() {
			if err := fn(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("stop %s: %w", name, err))
				mu.Unlock()
			}
		})
	}
	if s.Kafka != nil {
		stop("Kafka", s.Kafka.Stop)
	}
	if s.DynamoDB != nil {
		stop("DynamoDB Local", s.DynamoDB.Stop)
	}
	if s.S3 != nil {
		stop("versitygw", s.S3.Stop)
	}
	if s.Postgres != nil {
		stop("PostgreSQL", s.Postgres.Stop)
	}
	wg.Wait()
	return errors.Join(errs...)
}
