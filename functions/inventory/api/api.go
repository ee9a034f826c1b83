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

// DefaultLowStock is the default low-stock threshold, in units available:
// a product with this many or fewer available is low.
const DefaultLowStock = 10

// Rules is the stock rules document: low-stock thresholds by product and by
// category, and the catalogue of known products. See LoadRules.
type Rules = inventory.Rules

// LoadRules reads a stock rules document (JSON) and checks it:
//
//	{"version": "2026-11", "low_stock": 10,
//	 "categories": {"electronics": {"low_stock": 5}, "books": {}},
//	 "products": {"p-00042": {"category": "electronics", "low_stock": 25}, "p-00043": {"category": "books"}}}
//
// A product's threshold is its own, else its category's, else low_stock.
// Unknown fields, negative thresholds and products naming a category the
// document does not define are errors.
func LoadRules(doc []byte) (*Rules, error) { return inventory.LoadRules(doc) }

// DefaultRules returns the embedded default rules: a threshold of
// DefaultLowStock for every product, no catalogue.
func DefaultRules() *Rules { return inventory.DefaultRules() }

// Reservation is how an order that stock cannot cover is reserved.
type Reservation = inventory.Reservation

// Reservation modes: ReserveBackorder (the default) reserves every line in
// full and backorders the order; ReservePartial reserves what is available
// and records what is short on the order.
const (
	ReserveBackorder = inventory.ReserveBackorder
	ReservePartial   = inventory.ReservePartial
)

// ParseReservation parses RESERVATION: "backorder" (or "all-or-nothing";
// the default for "") or "partial".
func ParseReservation(s string) (Reservation, error) { return inventory.ParseReservation(s) }

// UnknownProducts is what records about products outside the catalogue get.
type UnknownProducts = inventory.UnknownProducts

// Unknown-product rules: UnknownAccept (the default) applies them,
// UnknownReject dead-letters them (it needs a catalogue in the rules).
const (
	UnknownAccept = inventory.UnknownAccept
	UnknownReject = inventory.UnknownReject
)

// ParseUnknownProducts parses UNKNOWN_PRODUCT: "accept" (the default for
// "") or "reject".
func ParseUnknownProducts(s string) (UnknownProducts, error) {
	return inventory.ParseUnknownProducts(s)
}

// Config is what the function is built from.
type Config struct {
	DynamoDB *dynamodb.Client
	Tables   Tables
	// Kafka produces alerts (inventory_alerts) and dead letters (dead_letters).
	Kafka *kgo.Client
	// Rules are the low-stock thresholds and the catalogue; nil for
	// DefaultRules.
	Rules *Rules
	// Reservation is "" (ReserveBackorder) or ReservePartial.
	Reservation Reservation
	// Unknown is "" (UnknownAccept) or UnknownReject.
	Unknown UnknownProducts
	Logger  *slog.Logger
	// Metrics receives one CloudWatch EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor returns the function's batch processor: its Process method
// is the Lambda handler.
func NewProcessor(c Config) (*kafkabatch.Processor, error) {
	return inventory.NewProcessor(inventory.Deps{DynamoDB: c.DynamoDB, Tables: c.Tables, Kafka: c.Kafka,
		Rules: c.Rules, Reservation: c.Reservation, Unknown: c.Unknown, Logger: c.Logger, Metrics: c.Metrics})
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
