// Package api is the support function's one public surface: what the
// shopstream command needs to run the function in process and to check its
// final state. The logic stays in internal/support.
package api

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/support/internal/support"
	"github.com/shopstream/shopstream/shared/dynamotable"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name.
const Name = support.Name

// Tables names the function's DynamoDB tables.
type Tables = support.Tables

// DefaultTables are the table names the function uses when its environment
// names none (SUBJECTS_TABLE, RATINGS_TABLE, CASES_TABLE), as in local runs.
var DefaultTables = Tables{Subjects: "support_subjects", Ratings: "support_ratings", Cases: "support_cases"}

// Publisher delivers alerts of high-priority cases (SNS in AWS).
type Publisher = support.Publisher

// Alert is an alert of a high-priority case.
type Alert = support.Alert

// Config is what the function is built from.
type Config struct {
	DynamoDB *dynamodb.Client
	Tables   Tables
	// Kafka produces alerts (support_alerts) and dead letters (dead_letters).
	Kafka *kgo.Client
	// Alerts are further publishers of alerts, beside the support_alerts
	// topic; none by default.
	Alerts []Publisher
	Logger *slog.Logger
	// Metrics receives one CloudWatch EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor returns the function's batch processor: its Process method
// is the Lambda handler.
func NewProcessor(c Config) (*kafkabatch.Processor, error) {
	return support.NewProcessor(support.Deps{DynamoDB: c.DynamoDB, Tables: c.Tables, Kafka: c.Kafka, Alerts: c.Alerts,
		Logger: c.Logger, Metrics: c.Metrics})
}

// CreateTables creates the function's tables, if missing, and waits for them.
func CreateTables(ctx context.Context, client *dynamodb.Client, t Tables) error {
	return support.NewDynamoDB(client, t).CreateTables(ctx)
}

// Rating is one hourly rating aggregate: count, sum, distribution of the
// ratings 1-5, and mean.
type Rating = support.Rating

// Scopes of rating aggregates.
const (
	ScopeAll      = support.ScopeAll
	ScopeProduct  = support.ScopeProduct
	ScopeCategory = support.ScopeCategory
)

// Ratings returns the hourly aggregates of one scope and key (a product id,
// a category, or "" for ScopeAll) for the hours in [from, to), oldest
// first.
func Ratings(ctx context.Context, client *dynamodb.Client, t Tables, scope, key string, from, to time.Time) ([]Rating, error) {
	return support.NewDynamoDB(client, t).RatingsOf(ctx, scope, key, from, to)
}

// Verify compares the rating aggregates and the cases with the truth and
// returns the differences.
func Verify(ctx context.Context, client *dynamodb.Client, t Tables, truth *generator.Truth) []string {
	return support.Compare(ctx, support.NewDynamoDB(client, t), truth)
}

// TableSpecs describes the function's tables (keys, TTL, environment
// variables) under their local names, for local setup and the CDK stack.
func TableSpecs() []dynamotable.Spec { return DefaultTables.Specs() }
