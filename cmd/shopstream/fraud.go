package main

import (
	"context"
	"time"

	fraud "github.com/shopstream/shopstream/functions/fraud/api"
	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// fraudFunction is the fraud function in the local pipeline: profiles and
// decisions in DynamoDB, alerts to the fraud_alerts topic.
func fraudFunction() pipelineFunction {
	return pipelineFunction{
		Name:   fraud.Name,
		Topics: []string{event.TopicTransactions},
		Tune: func(c *esm.Config) {
			// Large batches fold many events of an account into one write.
			c.BatchSize = 10_000
			c.MaxBatchingWindow = time.Second
		},
		Setup: func(ctx context.Context, env *devEnv) error {
			return fraud.CreateTables(ctx, env.Stack.DynamoDB.Client(), fraud.DefaultTables)
		},
		Handler: func(ctx context.Context, env *devEnv) (any, error) {
			f, err := fraud.New(fraud.Config{
				DynamoDB: env.Stack.DynamoDB.Client(), Tables: fraud.DefaultTables, Kafka: env.Kafka, Logger: env.Logger,
			})
			if err != nil {
				return nil, err
			}
			return f.Process, nil
		},
		Feeds: func(_ context.Context, env *devEnv) ([]dashboard.Feed, error) {
			return []dashboard.Feed{fraudAlertsFeed(env.Stack.DynamoDB.Client(), fraud.DefaultTables)}, nil
		},
		Verify: func(ctx context.Context, env *devEnv, truth *generator.Truth) ([]string, error) {
			diffs, summary := fraud.Verify(ctx, env.Stack.DynamoDB.Client(), fraud.DefaultTables, nil, truth)
			if summary != "" {
				env.Logger.Info("fraud detection quality", "summary", summary)
			}
			return diffs, nil
		},
	}
}
