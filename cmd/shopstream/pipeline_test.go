package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/cmd/shopstream/testdata/checkfn/check"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// TestMain wires the checkfn test function into the pipeline, so that the
// dev and invoke tests run a real function end to end: every bad record the
// generator writes must come out of it as a dead letter with its reason.
func TestMain(m *testing.M) {
	pipeline = append(pipeline, pipelineFunction{
		Name:    check.Name,
		Package: "./cmd/shopstream/testdata/checkfn",
		Topics:  generator.InputTopics,
		Handler: func(_ context.Context, env *devEnv) (any, error) { return check.Handler(env.Kafka) },
		Verify:  verifyDeadLetters,
	})
	os.Exit(m.Run())
}

// verifyDeadLetters compares checkfn's dead letters by reason with the
// generator's bad records by reason.
func verifyDeadLetters(ctx context.Context, env *devEnv, truth *generator.Truth) ([]string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Stack.Kafka.Brokers...), kgo.ConsumeTopics(event.TopicDeadLetters),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := endOffsets(ctx, env.Stack.Kafka.Admin(), event.TopicDeadLetters)
	if err != nil {
		return nil, err
	}
	want := sumOffsets(ends[event.TopicDeadLetters])
	got := map[string]int64{}
	seen := map[string]bool{}
	var n int64
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for n < want {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return nil, err
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			e, err := event.Decode(r.Value, event.Source{Topic: r.Topic})
			if err != nil {
				got["unreadable"]++
				return
			}
			dl := e.(*event.DeadLetter)
			key := fmt.Sprintf("%s/%d/%d", dl.Topic, dl.Partition, dl.Offset)
			if dl.Function == check.Name && !seen[key] {
				seen[key] = true // a replayed batch rewrites the same letter
				got[string(dl.Reason)]++
			}
		})
	}
	var diffs []string
	for _, r := range event.Reasons() {
		if got[string(r)] != truth.BadByReason[string(r)] {
			diffs = append(diffs, fmt.Sprintf("dead letters %s: %d, truth %d", r, got[string(r)], truth.BadByReason[string(r)]))
		}
	}
	if got["unreadable"] > 0 {
		diffs = append(diffs, fmt.Sprintf("%d unreadable dead letters", got["unreadable"]))
	}
	return diffs, nil
}
