package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	lake "github.com/shopstream/shopstream/functions/lake/api"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/generator"
)

// lakeFunction is the lake function in the local pipeline: every event of
// every topic, the other functions' alerts and dead letters included, to
// Parquet in the S3 server's bucket shopstream-lake (plain files under
// run/s3/data/shopstream-lake/, which `shopstream query` and `shopstream
// lake compact` read after the run).
func lakeFunction() pipelineFunction {
	return pipelineFunction{
		Name:   lake.Name,
		Topics: append(append([]string{}, generator.InputTopics...), lake.DerivedTopics()...),
		Tune: func(c *esm.Config) {
			// Large batches and a long window make fewer, larger files.
			c.BatchSize = esm.MaxBatchSize
			c.MaxBatchingWindow = 2 * time.Second
		},
		Setup: func(ctx context.Context, env *devEnv) error {
			// Every topic it reads must exist, also when the function that
			// produces to it does not run.
			resps, err := kadm.NewClient(env.Kafka).CreateTopics(ctx, -1, -1, nil, lake.DerivedTopics()...)
			if err != nil {
				return fmt.Errorf("create topics: %w", err)
			}
			for _, r := range resps.Sorted() {
				if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
					return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
				}
			}
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
			produced, err := topicRecords(ctx, kadm.NewClient(env.Kafka), lake.DerivedTopics()...)
			if err != nil {
				return nil, err
			}
			return lake.Verify(ctx, env.Stack.S3.Client(), lake.DefaultBucket, "", truth, produced)
		},
	}
}

// topicRecords returns the records each topic holds: its end offsets less
// its start offsets, summed over its partitions.
func topicRecords(ctx context.Context, admin *kadm.Client, topics ...string) (map[string]int64, error) {
	ends, err := admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	starts, err := admin.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list start offsets: %w", err)
	}
	out := make(map[string]int64, len(topics))
	var errs []error
	ends.Each(func(o kadm.ListedOffset) {
		s, ok := starts.Lookup(o.Topic, o.Partition)
		if o.Err != nil || !ok || s.Err != nil {
			errs = append(errs, fmt.Errorf("offsets of %s/%d: %w", o.Topic, o.Partition, errors.Join(o.Err, s.Err)))
			return
		}
		out[o.Topic] += o.Offset - s.Offset
	})
	return out, errors.Join(errs...)
}
