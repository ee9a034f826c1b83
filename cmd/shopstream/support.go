package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	support "github.com/shopstream/shopstream/functions/support/api"
	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// supportFunction is the support function in the local pipeline: rating
// aggregates and support cases in DynamoDB, alerts of high-priority cases
// to the support_alerts topic.
func supportFunction() pipelineFunction {
	return pipelineFunction{
		Name:   support.Name,
		Topics: []string{event.TopicFeedback, event.TopicTransactions},
		Tune: func(c *esm.Config) {
			// Large batches make few transactions: one per 100 subjects.
			c.BatchSize = 10_000
			c.MaxBatchingWindow = time.Second
		},
		Setup: func(ctx context.Context, env *devEnv) error {
			// The alerts topic is the function's own output: create it
			// when the stack did not.
			_, err := kadm.NewClient(env.Kafka).CreateTopic(ctx, -1, -1, nil, event.TopicSupportAlerts)
			if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				return fmt.Errorf("create topic %s: %w", event.TopicSupportAlerts, err)
			}
			return support.CreateTables(ctx, env.Stack.DynamoDB.Client(), support.DefaultTables)
		},
		Handler: func(ctx context.Context, env *devEnv) (any, error) {
			p, err := support.NewProcessor(support.Config{
				DynamoDB: env.Stack.DynamoDB.Client(), Tables: support.DefaultTables, Kafka: env.Kafka, Logger: env.Logger,
			})
			if err != nil {
				return nil, err
			}
			return p.Process, nil
		},
		Feeds: func(_ context.Context, env *devEnv) ([]dashboard.Feed, error) {
			return []dashboard.Feed{supportCasesFeed(env.Stack.DynamoDB.Client(), support.DefaultTables)}, nil
		},
		Verify: func(ctx context.Context, env *devEnv, truth *generator.Truth) ([]string, error) {
			return support.Verify(ctx, env.Stack.DynamoDB.Client(), support.DefaultTables, truth), nil
		},
	}
}
