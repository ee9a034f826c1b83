// Command support aggregates customer ratings and opens support cases from
// feedback, with order context from the transactions topic.
//
// Environment: SUBJECTS_TABLE, RATINGS_TABLE, CASES_TABLE (DynamoDB tables;
// default support_subjects, support_ratings, support_cases), KAFKA_BROKERS
// (comma-separated; alerts go to support_alerts, dead letters to
// dead_letters), ALERTS_TOPIC_ARN (an SNS topic every alert is also
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

	"github.com/shopstream/shopstream/functions/support/api"
	"github.com/shopstream/shopstream/functions/support/internal/support"
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
	}{{"SUBJECTS_TABLE", &tables.Subjects}, {"RATINGS_TABLE", &tables.Ratings}, {"CASES_TABLE", &tables.Cases}} {
		if s := os.Getenv(v.name); s != "" {
			*v.dst = s
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
	var alerts []api.Publisher
	if arn := os.Getenv("ALERTS_TOPIC_ARN"); arn != "" {
		alerts = append(alerts, support.NewSNS(sns.NewFromConfig(cfg), arn))
	}
	return api.NewProcessor(api.Config{DynamoDB: dynamodb.NewFromConfig(cfg), Tables: tables, Kafka: kafka, Alerts: alerts,
		Logger: logger, Metrics: os.Stdout})
}
