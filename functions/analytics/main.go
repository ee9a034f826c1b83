// Command analytics folds user activity and order events into windowed
// aggregates, top products, search terms and sessions in PostgreSQL.
//
// Environment: DATABASE_URL (a postgres:// URL with its password, as in
// local runs), or DB_HOST, DB_PORT (default 5432), DB_NAME, DB_USER and
// AWS_REGION for IAM authentication to Aurora PostgreSQL (or RDS Proxy);
// DB_MAX_CONNS (default 2); CONSUMER_GROUP (the event source mapping's
// consumer group, default analytics); LATENESS (a Go duration, default 1h);
// KAFKA_BROKERS (comma-separated; dead letters are produced there);
// AWS_LAMBDA_LOG_LEVEL.
//
// Besides Kafka event source mapping batches, the function answers a
// migration request: the event {"migrate": true} (a CDK triggers.Trigger or
// a manual invoke), or a CloudFormation custom resource event of a
// custom_resources.Provider (RequestType Create or Update; Delete does
// nothing), applies the schema migrations and returns the versions applied.
//
// KAFKA_AUTH=iam authenticates to Amazon MSK with the function's IAM role
// over TLS (SASL AWS_MSK_IAM); the default is plain text for local brokers.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/functions/analytics/api"
	"github.com/shopstream/shopstream/shared/kafkabatch"
	"github.com/shopstream/shopstream/shared/kafkaclient"
	"github.com/shopstream/shopstream/shared/logging"
)

func main() {
	logger := logging.New(os.Stdout, api.Name, os.Getenv("AWS_LAMBDA_LOG_LEVEL"))
	f, err := setup(context.Background(), logger)
	if err != nil {
		logger.Error("init failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(f.handle)
}

type function struct {
	pool   *pgxpool.Pool
	proc   *kafkabatch.Processor
	logger *slog.Logger
}

func setup(ctx context.Context, logger *slog.Logger) (*function, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	conn := api.Conn{URL: os.Getenv("DATABASE_URL")}
	if conn.URL == "" {
		conn.Host, conn.Database, conn.User = os.Getenv("DB_HOST"), os.Getenv("DB_NAME"), os.Getenv("DB_USER")
		if v := os.Getenv("DB_PORT"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 || p > 65535 {
				return nil, fmt.Errorf("DB_PORT %q is not a port", v)
			}
			conn.Port = p
		}
		conn.Region, conn.Credentials = cfg.Region, cfg.Credentials
	}
	if v := os.Getenv("DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 100 {
			return nil, fmt.Errorf("DB_MAX_CONNS %q is not a count in [1, 100]", v)
		}
		conn.MaxConns = int32(n)
	}
	lateness := api.DefaultLateness
	if v := os.Getenv("LATENESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("LATENESS %q is not a positive duration", v)
		}
		lateness = d
	}
	auth, err := kafkaclient.ParseAuth(os.Getenv("KAFKA_AUTH"))
	if err != nil {
		return nil, err
	}
	pool, err := api.NewPool(ctx, conn)
	if err != nil {
		return nil, err
	}
	kafka, err := kafkaclient.New(kafkaclient.Config{
		Brokers: kafkaclient.SplitBrokers(os.Getenv("KAFKA_BROKERS")), Auth: auth, Credentials: cfg.Credentials,
	})
	if err != nil {
		return nil, fmt.Errorf("KAFKA_BROKERS: %w", err)
	}
	proc, err := api.NewProcessor(api.Config{Pool: pool, Group: os.Getenv("CONSUMER_GROUP"), Kafka: kafka,
		Lateness: lateness, Logger: logger, Metrics: os.Stdout})
	if err != nil {
		return nil, err
	}
	return &function{pool: pool, proc: proc, logger: logger}, nil
}

// request is the union of the events the function answers.
type request struct {
	Migrate     bool   `json:"migrate"`
	RequestType string `json:"RequestType"`
	// PhysicalResourceID is kept on Update and Delete.
	PhysicalResourceID string `json:"PhysicalResourceId"`
	EventSource        string `json:"eventSource"`
}

// migrationResponse answers a migration request; PhysicalResourceId and
// Data are what a custom_resources.Provider expects of its onEvent handler.
type migrationResponse struct {
	PhysicalResourceID string         `json:"PhysicalResourceId,omitempty"`
	Applied            []int          `json:"applied"`
	Data               map[string]any `json:"Data,omitempty"`
}

const schemaResource = "shopstream-analytics-schema"

func (f *function) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("read event: %w", err)
	}
	switch {
	case req.Migrate:
		applied, err := api.Migrate(ctx, f.pool)
		if err != nil {
			return nil, err
		}
		f.logger.InfoContext(ctx, "schema migrated", "applied", applied)
		return migrationResponse{Applied: nonNil(applied)}, nil
	case req.RequestType == "Delete":
		// The schema outlives the stack's custom resource: data stays.
		return migrationResponse{PhysicalResourceID: firstOf(req.PhysicalResourceID, schemaResource), Applied: []int{}}, nil
	case req.RequestType == "Create" || req.RequestType == "Update":
		applied, err := api.Migrate(ctx, f.pool)
		if err != nil {
			return nil, err
		}
		f.logger.InfoContext(ctx, "schema migrated", "applied", applied, "request_type", req.RequestType)
		return migrationResponse{PhysicalResourceID: firstOf(req.PhysicalResourceID, schemaResource), Applied: nonNil(applied),
			Data: map[string]any{"Applied": len(applied)}}, nil
	}
	var ev events.KafkaEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("read Kafka event: %w", err)
	}
	return f.proc.Process(ctx, ev)
}

func nonNil(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
