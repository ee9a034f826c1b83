package main

import (
	"context"
	"time"

	inventory "github.com/shopstream/shopstream/functions/inventory/api"
	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// inventoryFunction is the inventory function in the local pipeline: stock
// and order states in DynamoDB, alerts to the inventory_alerts topic.
func inventoryFunction() pipelineFunction {
	return pipelineFunction{
		Name:   inventory.Name,
		Topics: []string{event.TopicInventory, event.TopicTransactions},
		Tune: func(c *esm.Config) {
			// Large batches fold many events of a product into one write.
			c.BatchSize = 10_000
			c.MaxBatchingWindow = time.Second
		},
		Setup: func(ctx context.Context, env *devEnv) error {
			return inventory.CreateTables(ctx, env.Stack.DynamoDB.Client(), inventory.DefaultTables)
		},
		Handler: func(ctx context.Context, env *devEnv) (any, error) {
			p, err := inventory.NewProcessor(inventory.Config{
				DynamoDB: env.Stack.DynamoDB.Client(), Tables: inventory.DefaultTables, Kafka: env.Kafka,
				Logger: env.Logger,
			})
			if err != nil {
				return nil, err
			}
			return p.Process, nil
		},
		Feeds: func(_ context.Context, env *devEnv) ([]dashboard.Feed, error) {
			return []dashboard.Feed{lowStockFeed(env.Stack.DynamoDB.Client(), inventory.DefaultTables.Stock)}, nil
		},
		Verify: func(ctx context.Context, env *devEnv, truth *generator.Truth) ([]string, error) {
			return inventory.Verify(ctx, env.Stack.DynamoDB.Client(), inventory.DefaultTables, truth), nil
		},
	}
}
