// Command inventory keeps stock levels from inventory and order events.
//
// Environment: STOCK_TABLE, ORDERS_TABLE, ALERTS_TABLE (DynamoDB tables;
// default inventory_stock, inventory_orders, inventory_alerts), KAFKA_BROKERS
// (comma-separated; alerts and dead letters are produced there), KAFKA_AUTH
// ("iam" for MSK with IAM authentication over TLS; default none),
// STOCK_RULES (a stock rules document, JSON: a file path; default the
// embedded rules, one threshold of 10 for every product, no catalogue),
// LOW_STOCK_THRESHOLD (the default threshold, over the document's),
// RESERVATION ("backorder", the default, or "partial"), UNKNOWN_PRODUCT
// ("accept", the default, or "reject": needs a catalogue in STOCK_RULES),
// AWS_LAMBDA_LOG_LEVEL.
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
	rules := api.DefaultRules()
	if path := os.Getenv("STOCK_RULES"); path != "" {
		doc, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("STOCK_RULES: %w", err)
		}
		if rules, err = api.LoadRules(doc); err != nil {
			return nil, fmt.Errorf("STOCK_RULES %s: %w", path, err)
		}
	}
	if v := os.Getenv("LOW_STOCK_THRESHOLD"); v != "" {
		t, err := strconv.ParseInt(v, 10, 64)
		if err != nil || t < 0 {
			return nil, fmt.Errorf("LOW_STOCK_THRESHOLD %q is not a count", v)
		}
		rules.LowStock = t
	}
	reservation, err := api.ParseReservation(os.Getenv("RESERVATION"))
	if err != nil {
		return nil, fmt.Errorf("RESERVATION: %w", err)
	}
	unknown, err := api.ParseUnknownProducts(os.Getenv("UNKNOWN_PRODUCT"))
	if err != nil {
		return nil, fmt.Errorf("UNKNOWN_PRODUCT: %w", err)
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
	p, err := api.NewProcessor(api.Config{
		DynamoDB: dynamodb.NewFromConfig(cfg), Tables: tables, Kafka: kafka,
		Rules: rules, Reservation: reservation, Unknown: unknown, Logger: logger, Metrics: os.Stdout,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("stock rules loaded", "version", rules.Version, "products", len(rules.Products),
		"reservation", reservation, "unknown_product", unknown)
	return p, nil
}
