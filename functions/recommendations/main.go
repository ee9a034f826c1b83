// Command recommendations counts co-views and co-purchases from user
// events and orders and keeps each product's related products ranked.
//
// Environment: RELATED_TABLE, POPULAR_TABLE, SESSIONS_TABLE (DynamoDB
// tables; default recommendations_related, recommendations_popular,
// recommendations_sessions), KAFKA_BROKERS (comma-separated; dead letters are
// produced there), TOP_N (default 10), HALF_LIFE (a Go duration, default
// 168h), PURCHASE_WEIGHT (default 5), MAX_SESSION_PRODUCTS and
// MAX_ORDER_PRODUCTS (default 20 each), AWS_LAMBDA_LOG_LEVEL.
//
// KAFKA_AUTH=iam authenticates to Amazon MSK with the function's IAM role
// over TLS (SASL AWS_MSK_IAM); the default is plain text for local brokers.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shopstream/shopstream/functions/recommendations/api"
	"github.com/shopstream/shopstream/shared/kafkabatch"
	"github.com/shopstream/shopstream/shared/kafkaclient"
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

func setup(ctx context.Context, logger *slog.Logger) (*kafkabatch.Processor, error) {
	tables := api.DefaultTables
	for _, v := range []struct {
		name string
		dst  *string
	}{{"RELATED_TABLE", &tables.Related}, {"POPULAR_TABLE", &tables.Popular}, {"SESSIONS_TABLE", &tables.Sessions}} {
		if s := os.Getenv(v.name); s != "" {
			*v.dst = s
		}
	}
	pol := api.DefaultPolicy
	var maxSession, maxOrder int
	for _, v := range []struct {
		name string
		dst  *int
	}{{"TOP_N", &pol.TopN}, {"MAX_SESSION_PRODUCTS", &maxSession}, {"MAX_ORDER_PRODUCTS", &maxOrder}} {
		if s := os.Getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 1000 {
				return nil, fmt.Errorf("%s %q is not a count from 1 to 1000", v.name, s)
			}
			*v.dst = n
		}
	}
	if s := os.Getenv("HALF_LIFE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Hour {
			return nil, fmt.Errorf("HALF_LIFE %q is not a duration of an hour or more", s)
		}
		pol.HalfLife = d
	}
	if s := os.Getenv("PURCHASE_WEIGHT"); s != "" {
		w, err := strconv.ParseInt(s, 10, 64)
		if err != nil || w < 1 || w > 1000 {
			return nil, fmt.Errorf("PURCHASE_WEIGHT %q is not a weight from 1 to 1000", s)
		}
		pol.PurchaseWeight = w
	}
	auth, err := kafkaclient.ParseAuth(os.Getenv("KAFKA_AUTH"))
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	kafka, err := kafkaclient.New(kafkaclient.Config{
		Brokers: kafkaclient.SplitBrokers(os.Getenv("KAFKA_BROKERS")), Auth: auth, Credentials: cfg.Credentials,
	})
	if err != nil {
		return nil, fmt.Errorf("KAFKA_BROKERS: %w", err)
	}
	return api.NewProcessor(api.Config{
		DynamoDB: dynamodb.NewFromConfig(cfg), Tables: tables, Kafka: kafka, Policy: pol,
		MaxSessionProducts: maxSession, MaxOrderProducts: maxOrder, Logger: logger, Metrics: os.Stdout,
	})
}
