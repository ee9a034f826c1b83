package main

import (
	"context"
	"time"

	lake "github.com/shopstream/shopstream/functions/lake/api"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// lakeFunction is the lake function in the local pipeline: every event of
// every topic, dead letters included, to Parquet in the S3 server's bucket
// shopstream-lake (plain files under run/s3/data/shopstream-lake/, which
// `shopstream query` and `shopstream lake compact` read after the run).
func lakeFunction() pipelineFunction {
	return pipelineFunction{
		Name: lake.Name,
		Topics: append(append([]string{}, generator.InputTopics...),
			event.TopicFraudAlerts, event.TopicInventoryAlerts, event.TopicDeadLetters),
		Tune: func(c *esm.Config) {
			// Large batches and a long window make fewer, larger files.
			c.BatchSize = esm.MaxBatchSize
			c.MaxBatchingWindow = 2 * time.Second
		},
		Setup: func(ctx context.Context, env *devEnv) error {
			return lake.CreateBucket(ctx, env.Stack.S3.Client(), lake.DefaultBucket)
		},
		Handler: func(ctx context.Context, env *devEnv) (any, error) {
			p, err := lake.NewProcessor(lake.Config{S3: env.Stack.S3.Client(), Bucket: lake.DefaultBucket,
				Logger: env.Logger.With("function", lake.Name)})
			if err != nil {
				return nil, err
			}
			return p.Process, nil
		},
		Verify: func(ctx context.Context, env *devEnv, truth *generator.Truth) ([]string, error) {
			return lake.Verify(ctx, env.Stack.S3.Client(), lake.DefaultBucket, "", truth)
		},
	}
}
