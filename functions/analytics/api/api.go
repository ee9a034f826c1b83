// Package api is the analytics function's one public surface: what the
// shopstream command and the deploy-time migration step need to run the
// function in process, to migrate its schema and to check its final state.
// The logic stays in internal/analytics.
package api

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/analytics/internal/analytics"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name.
const Name = analytics.Name

// DefaultLateness is the default lateness bound: an event further behind
// its partition's latest event time goes to analytics.late_events.
const DefaultLateness = analytics.DefaultLateness

// Conn says how to reach PostgreSQL: a URL, or an Aurora endpoint with IAM
// authentication.
type Conn = analytics.Conn

// NewPool returns the small connection pool the function creates at init.
func NewPool(ctx context.Context, c Conn) (*pgxpool.Pool, error) { return analytics.NewPool(ctx, c) }

// Config is what the function is built from.
type Config struct {
	Pool *pgxpool.Pool
	// Group is the consumer group whose watermarks the function keeps;
	// default Name.
	Group string
	// Kafka produces dead letters (dead_letters).
	Kafka *kgo.Client
	// Lateness is the lateness bound; 0 means DefaultLateness.
	Lateness time.Duration
	Logger   *slog.Logger
	// Metrics receives one CloudWatch EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor returns the function's batch processor: its Process method
// is the Lambda handler.
func NewProcessor(c Config) (*kafkabatch.Processor, error) {
	return analytics.NewProcessor(analytics.Deps{Pool: c.Pool, Group: c.Group, Kafka: c.Kafka,
		Lateness: c.Lateness, Logger: c.Logger, Metrics: c.Metrics})
}

// Migrate applies the schema migrations the database lacks (versioned in
// analytics.schema_migrations, serialised by an advisory lock, so that
// concurrent starts are safe) and returns the versions it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	return analytics.Migrate(ctx, pool)
}

// Verify compares every window, product window and session, the metrics
// and the late events with the truth and returns the differences.
func Verify(ctx context.Context, pool *pgxpool.Pool, truth *generator.Truth) []string {
	return analytics.Compare(ctx, pool, truth)
}
