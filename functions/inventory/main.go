// Command inventory keeps stock levels from inventory and order events.
//
// Environment: STOCK_TABLE, ORDERS_TABLE, ALERTS_TABLE (DynamoDB tables;
// default inventory_stock, inventory_orders, inventory_alerts), KAFKA_BROKERS
// (comma-separated; alerts and dead letters are produced there), KAFKA_AUTH
// ("iam" for MSK with IAM authentication over TLS; default none),
// LOW_STOCK_THRESHOLD (default 10), AWS_LAMBDA_LOG_LEVEL.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shopstream/shopstream/functions/inventory/api"
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
	}{{"STOCK_TABLE", &tables.Stock}, {"ORDERS_TABLE", &tables.Orders}, {"ALERTS_TABLE", &tables.Alerts}} {
		if s := os.Getenv(v.name); s != "" {
			*v.dst = s
		}
	}
	threshold := int64(api.DefaultLowStock)
	if v := os.Getenv("LOW_STOCK_THRESHOLD"); v != "" {
		t, err := strconv.ParseInt(v, 10, 64)
		if err != nil || t < 0 {
			return nil, fmt.Errorf("LOW_STOCK_THRESHOLD %q is not a count", v)
		}
		threshold = t
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
		DynamoDB: dynamodb.NewFromConfig(cfg), Tables: tables, Kafka: kafka,
		LowStock: threshold, Logger: logger, Metrics: os.Stdout,
	})
}
