// Command fraud scores every order of the transactions topic with
// configurable rules over per-user and per-card profiles in DynamoDB, and
// raises alerts for the orders it reviews or declines.
//
// Environment: PROFILES_TABLE, DECISIONS_TABLE, ALERTS_TABLE (DynamoDB
// tables; default fraud_profiles, fraud_decisions, fraud_alerts),
// KAFKA_BROKERS (comma-separated; alerts go to fraud_alerts, dead letters to
// dead_letters), FRAUD_RULES (a rule document, JSON: a file path; default
// the embedded rules), ALERTS_TOPIC_ARN (an SNS topic every alert is also
// published to; default none), AWS_LAMBDA_LOG_LEVEL.
//
// KAFKA_AUTH=iam authenticates to Amazon MSK with the function's IAM role
// over TLS (SASL AWS_MSK_IAM); the default is plain text for local brokers.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/shopstream/shopstream/functions/fraud/api"
	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
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
	lambda.Start(f.Process)
}

func setup(ctx context.Context, logger *slog.Logger) (*api.Function, error) {
	tables := api.DefaultTables
	for _, v := range []struct {
		name string
		dst  *string
	}{{"PROFILES_TABLE", &tables.Profiles}, {"DECISIONS_TABLE", &tables.Decisions}, {"ALERTS_TABLE", &tables.Alerts}} {
		if s := os.Getenv(v.name); s != "" {
			*v.dst = s
		}
	}
	rules := api.DefaultRules()
	if path := os.Getenv("FRAUD_RULES"); path != "" {
		doc, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("FRAUD_RULES: %w", err)
		}
		if rules, err = api.LoadRules(doc); err != nil {
			return nil, fmt.Errorf("FRAUD_RULES %s: %w", path, err)
		}
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
	var pub api.Publisher
	if arn := os.Getenv("ALERTS_TOPIC_ARN"); arn != "" {
		pub = fraud.NewSNS(sns.NewFromConfig(cfg), arn)
	}
	logger.Info("fraud rules loaded", "version", rules.Version)
	return api.New(api.Config{DynamoDB: dynamodb.NewFromConfig(cfg), Tables: tables, Kafka: kafka, Publisher: pub,
		Rules: rules, Logger: logger, Metrics: os.Stdout})
}
