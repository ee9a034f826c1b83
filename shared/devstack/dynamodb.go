package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDBConfig configures [StartDynamoDB].
type DynamoDBConfig struct {
	Dir          string          // holds its log; created if needed (required)
	Tools        *Tools          // where DynamoDB Local and the loopback shim are installed; nil means the default
	Logger       *slog.Logger    // nil discards
	Port         int             // 0 picks a free port
	Credentials  aws.Credentials // the zero value generates random ones; DynamoDB Local accepts any
	ReadyTimeout time.Duration   // how long to wait for ListTables to answer; default 60s
}

// DynamoDB is a running DynamoDB Local: AWS's own DynamoDB emulator, run
// by Java in memory (-inMemory) with one database for every credential and
// region (-sharedDb) and telemetry off.
//
// It has no option to choose its listen address and binds every interface,
// so it runs with the loopback shim preloaded (see [Tools.LoopbackShim])
// and -Djava.net.preferIPv4Stack=true: its bind to 0.0.0.0 becomes a bind
// to 127.0.0.1, checked in /proc/net/tcp after start. Without a C compiler
// the shim cannot be built; it then runs unconfined, Loopback is false and
// a warning is logged.
type DynamoDB struct {
	URL         string          // http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_DYNAMODB
	Port        int             // the TCP port
	Credentials aws.Credentials // what Config signs with
	Loopback    bool            // whether it was verified to listen on loopback only
	proc        *Process
}

// StartDynamoDB starts DynamoDB Local, installing it first if needed, and
// returns once it answers ListTables.
func StartDynamoDB(ctx context.Context, cfg DynamoDBConfig) (*DynamoDB, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		return nil, errors.New("start DynamoDB Local: no directory")
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
	java, err := Java(ctx)
	if err != nil {
		return nil, err
	}
	files, err := tools.DynamoDBLocal(ctx)
	if err != nil {
		return nil, err
	}
	shim, err := tools.LoopbackShim(ctx)
	if err != nil && !IsMissing(err) {
		return nil, err
	}
	if err != nil {
		logger.Warn("DynamoDB Local will listen on ALL interfaces, not only 127.0.0.1", "reason", err.Error())
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	env := BaseEnv()
	if shim != "" {
		env = append(env, "LD_PRELOAD="+shim)
	}

	start := func(port int) (*Process, error) {
		return StartProcess(ProcessConfig{
			Name: "DynamoDB Local",
			Path: java,
			Args: []string{
				"-Djava.library.path=" + files.LibDir,
				"-Djava.net.preferIPv4Stack=true",
				"-jar", files.Jar,
				"-inMemory", "-sharedDb", "-disableTelemetry",
				"-port", strconv.Itoa(port),
			},
			Env:     env,
			Dir:     cfg.Dir,
			LogFile: filepath.Join(cfg.Dir, "dynamodb-local.log"),
		})
	}
	d := &DynamoDB{Credentials: cfg.Credentials}
	probe := func(ctx context.Context) error {
		_, err := d.probeClient().ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		return err
	}
	began := time.Now()
	proc, port, err := startServer(ctx, cfg.Port, cfg.ReadyTimeout, start, func(port int) { d.setPort(port) }, probe)
	if err != nil {
		return nil, err
	}
	d.proc = proc
	if err := CheckLoopback(port); err != nil {
		if shim != "" {
			_ = proc.Stop()
			return nil, fmt.Errorf("DynamoDB Local with the loopback shim: %w", err)
		}
		logger.Warn("DynamoDB Local listens beyond loopback", "err", err)
	} else {
		d.Loopback = true
	}
	logger.Info("DynamoDB Local ready", "url", d.URL, "pid", proc.Pid(), "took", time.Since(began).Round(time.Millisecond))
	return d, nil
}

func (d *DynamoDB) setPort(port int) {
	d.Port = port
	d.URL = "http://127.0.0.1:" + strconv.Itoa(port)
}

// Config returns an aws.Config for this server: us-east-1, its static
// credentials and its URL as the base endpoint. It reads nothing from the
// environment.
func (d *DynamoDB) Config() aws.Config { return awsConfig(d.URL, d.Credentials) }

// Client returns a DynamoDB client for this server.
func (d *DynamoDB) Client() *dynamodb.Client { return dynamodb.NewFromConfig(d.Config()) }

func (d *DynamoDB) probeClient() *dynamodb.Client {
	return dynamodb.NewFromConfig(d.Config(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
}

// Process returns the supervised java process.
func (d *DynamoDB) Process() *Process { return d.proc }

// Stop stops the server and waits for it to exit.
func (d *DynamoDB) Stop() error { return d.proc.Stop() }
