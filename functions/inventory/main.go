// Command inventory keeps stock levels from inventory and order events.
//
// Environment: STOCK_TABLE, ORDERS_TABLE, ALERTS_TABLE (DynamoDB tables;
// default inventory_stock, inventory_orders, inventory_alerts), KAFKA_BROKERS
// (comma-separated; alerts and dead letters are produced there),
// LOW_STOCK_THRESHOLD (default 10), AWS_LAMBDA_LOG_LEVEL.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/inventory/api"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level(os.Getenv("AWS_LAMBDA_LOG_LEVEL"))}))
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
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		return nil, fmt.Errorf("KAFKA_BROKERS must be set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	kafka, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return api.NewProcessor(api.Config{
		DynamoDB: dynamodb.NewFromConfig(cfg), Tables: tables, Kafka: kafka,
		LowStock: threshold, Logger: logger, Metrics: os.Stdout,
	})
}

func level(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}
