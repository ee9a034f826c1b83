package esm_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// A function's handler runs in process, fed by a mapping with bounded
// retries, bisection, partial batch responses and a directory of failures.
func ExampleNew() {
	handler := func(ctx context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
		// ... the function's logic ...
		return kafkabatch.Response{}, nil
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	m, err := esm.New(esm.Config{
		FunctionName:            "inventory",
		Topic:                   "inventory_updates",
		BootstrapServers:        []string{"127.0.0.1:9092"},
		StartingPosition:        esm.TrimHorizon,
		BatchSize:               500,
		RetryAttempts:           new(3),
		BisectBatchOnError:      true,
		ReportBatchItemFailures: true,
		OnFailure:               esm.NewDirDestination(".shopstream/failures/inventory"),
	}, esm.NewHandlerInvoker(handler, esm.WithFunctionTimeout(esm.DefaultFunctionTimeout)), esm.WithLogger(logger))
	if err != nil {
		logger.Error("invalid event source mapping", "err", err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		if err := m.WaitDrained(ctx); err == nil {
			logger.Info("drained", "stats", m.Stats())
			stop()
		}
	}()
	if err := m.Run(ctx); err != nil {
		logger.Error("event source mapping", "err", err)
	}
}
