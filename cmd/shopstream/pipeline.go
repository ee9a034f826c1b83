package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/generator"
)

// pipelineFunction is one Lambda function as `shopstream dev` and
// `shopstream invoke` run it: its triggers, what it needs set up, how to
// build it in process, and how to check what it wrote.
type pipelineFunction struct {
	// Name is the function's name, as in functions/<Name>.
	Name string
	// Package is the function's main package, built as its bootstrap
	// binary; default "./functions/<Name>".
	Package string
	// Topics are the topics its event source mappings consume.
	Topics []string
	// Tune adjusts the event source mapping (batch size, window, retries);
	// nil keeps the defaults of devMapping.
	Tune func(*esm.Config)
	// Setup creates what the function writes to: tables, buckets, schema.
	Setup func(ctx context.Context, env *devEnv) error
	// Handler builds the function's Lambda handler (what its main passes to
	// lambda.Start) against the local services.
	Handler func(ctx context.Context, env *devEnv) (any, error)
	// Verify compares the function's final state with the ground truth and
	// returns the differences.
	Verify func(ctx context.Context, env *devEnv, truth *generator.Truth) ([]string, error)
	// Routes builds the function's HTTP routes, by ServeMux pattern ("GET
	// /recommendations/{product_id}"), that `shopstream dev` serves on
	// --http; nil for none.
	Routes func(ctx context.Context, env *devEnv) (map[string]http.Handler, error)
	// Feeds builds the function's feeds of the dashboard `shopstream dev`
	// serves (views of what it wrote); nil for none.
	Feeds func(ctx context.Context, env *devEnv) ([]dashboard.Feed, error)
}

// pipeline lists the functions `shopstream dev` runs. A function joins the
// local pipeline by being added here.
var pipeline = []pipelineFunction{
	inventoryFunction(),
	fraudFunction(),
	analyticsFunction(),
	lakeFunction(),
	supportFunction(),
	recommendationsFunction(),
}

// devEnv is what a function's Setup, Handler and Verify get to reach the
// local services.
type devEnv struct {
	Stack  *devstack.Stack
	Kafka  *kgo.Client
	Logger *slog.Logger
	// Env holds the environment a deployed function would read
	// (AWS_ENDPOINT_URL_*, credentials, KAFKA_BROKERS, DATABASE_URL).
	Env []string
}

func findFunction(name string) (pipelineFunction, bool) {
	for _, f := range pipeline {
		if f.Name == name {
			return f, true
		}
	}
	return pipelineFunction{}, false
}

func functionNames() []string {
	names := make([]string, len(pipeline))
	for i, f := range pipeline {
		names[i] = f.Name
	}
	return names
}

func (f pipelineFunction) pkg() string {
	if f.Package != "" {
		return f.Package
	}
	return "./functions/" + f.Name
}
