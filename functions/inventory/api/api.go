// Package api is the inventory function's one public surface: what the
// shopstream command needs to run the function in process and to check its
// final state. The logic stays in internal/inventory.
package api

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
	"github.com/shopstream/shopstream/shared/dynamotable"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name.
const Name = inventory.Name

// Tables names the function's DynamoDB tables.
type Tables = inventory.Tables

// DefaultTables are the table names the function uses when its environment
// names none (STOCK_TABLE, ORDERS_TABLE, ALERTS_TABLE), as in local runs.
var DefaultTables = Tables{Stock: "inventory_stock", Orders: "inventory_orders", Alerts: "inventory_alerts"}

// DefaultLowStock is the default low-stock threshold, in units available.
const DefaultLowStock = 10

// Config is what the function is built from.
type Config struct {
	DynamoDB *dynamodb.Client
	Tables   Tables
	// Kafka produces alerts (inventory_alerts) and dead letters (dead_letters).
	Kafka    *kgo.Client
	LowStock int64
	Logger   *slog.Logger
	// Metrics receives one CloudWatch EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor returns the function's batch processor: its Process method
// is the Lambda handler.
func NewProcessor(c Config) (*kafkabatch.Processor, error) {
	return inventory.NewProcessor(inventory.Deps{DynamoDB: c.DynamoDB, Tables: c.Tables, Kafka: c.Kafka,
		LowStock: c.LowStock, Logger: c.Logger, Metrics: c.Metrics})
}

// CreateTables creates the function's tables, if missing, and waits for them.
func CreateTables(ctx context.Context, client *dynamodb.Client, t Tables) error {
	return inventory.NewDynamoDB(client, t).CreateTables(ctx)
}

// Verify compares every product's stock and every order's state with the
// truth and returns the differences.
func Verify(ctx context.Context, client *dynamodb.Client, t Tables, truth *generator.Truth) []string {
	return inventory.Compare(ctx, inventory.NewDynamoDB(client, t), truth)
}

// TableSpecs describes the function's tables (keys, environment variables)
// under their local names, for local setup and the CDK stack alike.
func TableSpecs() []dynamotable.Spec { return DefaultTables.Specs() }
