package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	analytics "github.com/shopstream/shopstream/functions/analytics/api"
	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// analyticsFunction is the analytics function in the local pipeline:
// windows, top products, search terms and sessions in the stack's
// PostgreSQL (DATABASE_URL), schema analytics.
func analyticsFunction() pipelineFunction {
	var (
		mu    sync.Mutex
		pools = map[*devEnv]*pgxpool.Pool{}
	)
	// pool returns the pool of env, created once, as a deployed function
	// creates its pool at init.
	pool := func(ctx context.Context, env *devEnv) (*pgxpool.Pool, error) {
		mu.Lock()
		defer mu.Unlock()
		if p := pools[env]; p != nil {
			return p, nil
		}
		if env.Stack == nil || env.Stack.Postgres == nil {
			return nil, fmt.Errorf("analytics needs PostgreSQL: the local stack has none")
		}
		p, err := analytics.NewPool(ctx, analytics.Conn{URL: env.Stack.Postgres.URL, MaxConns: 4})
		if err != nil {
			return nil, err
		}
		pools[env] = p
		return p, nil
	}
	return pipelineFunction{
		Name:   analytics.Name,
		Topics: []string{event.TopicUserEvents, event.TopicTransactions},
		Tune: func(c *esm.Config) {
			// Large batches fold many events of a window into one row.
			c.BatchSize = 10_000
			c.MaxBatchingWindow = time.Second
		},
		Setup: func(ctx context.Context, env *devEnv) error {
			p, err := pool(ctx, env)
			if err != nil {
				return err
			}
			applied, err := analytics.Migrate(ctx, p)
			if err != nil {
				return err
			}
			if env.Logger != nil {
				env.Logger.Info("analytics schema migrated", "applied", applied)
			}
			return nil
		},
		Handler: func(ctx context.Context, env *devEnv) (any, error) {
			p, err := pool(ctx, env)
			if err != nil {
				return nil, err
			}
			proc, err := analytics.NewProcessor(analytics.Config{Pool: p, Kafka: env.Kafka,
				Logger: env.Logger.With("function", analytics.Name)})
			if err != nil {
				return nil, err
			}
			return proc.Process, nil
		},
		Feeds: func(ctx context.Context, env *devEnv) ([]dashboard.Feed, error) {
			p, err := pool(ctx, env)
			if err != nil {
				return nil, err
			}
			return dashboard.AnalyticsFeeds(p), nil
		},
		Verify: func(ctx context.Context, env *devEnv, truth *generator.Truth) ([]string, error) {
			p, err := pool(ctx, env)
			if err != nil {
				return nil, err
			}
			return analytics.Verify(ctx, p, truth), nil
		},
	}
}
