// Package api is the recommendations function's one public surface: what
// the shopstream command and the read path's Lambda need to run the
// function, to read its rankings and to check its final state. The logic
// stays in internal/recommendations.
package api

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/recommendations/internal/recommendations"
	"github.com/shopstream/shopstream/shared/dynamotable"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name.
const Name = recommendations.Name

// Tables names the function's DynamoDB tables.
type Tables = recommendations.Tables

// DefaultTables are the table names the function uses when its environment
// names none (RELATED_TABLE, POPULAR_TABLE, SESSIONS_TABLE), as in local
// runs.
var DefaultTables = Tables{Related: "recommendations_related", Popular: "recommendations_popular", Sessions: "recommendations_sessions"}

// Policy is how counts become rankings: top N, half-life, purchase weight,
// horizon, entries kept per product.
type Policy = recommendations.Policy

// DefaultPolicy is the policy of the deployed function: top 10, a
// half-life of 7 days of event time, a co-purchase worth 5 co-views.
var DefaultPolicy = recommendations.DefaultPolicy

// Result is the read path's answer for one product.
type Result = recommendations.Result

// Route is the read path's ServeMux pattern: GET /recommendations/{product_id}.
const Route = recommendations.Route

// Caps on the pairs a session or an order makes, by default.
const (
	DefaultMaxSessionProducts = recommendations.DefaultMaxSessionProducts
	DefaultMaxOrderProducts   = recommendations.DefaultMaxOrderProducts
)

// Config is what the function is built from.
type Config struct {
	DynamoDB *dynamodb.Client
	Tables   Tables
	// Kafka produces dead letters (dead_letters).
	Kafka  *kgo.Client
	Policy Policy
	// MaxSessionProducts and MaxOrderProducts cap the pairs of one session
	// and one order; 0 for the defaults.
	MaxSessionProducts, MaxOrderProducts int
	Logger                               *slog.Logger
	// Metrics receives one CloudWatch EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor returns the function's batch processor: its Process method
// is the Lambda handler.
func NewProcessor(c Config) (*kafkabatch.Processor, error) {
	return recommendations.NewProcessor(recommendations.Deps{DynamoDB: c.DynamoDB, Tables: c.Tables, Kafka: c.Kafka,
		Policy: c.Policy, MaxSessionProducts: c.MaxSessionProducts, MaxOrderProducts: c.MaxOrderProducts,
		Logger: c.Logger, Metrics: c.Metrics})
}

// CreateTables creates the function's tables, if missing, and waits for them.
func CreateTables(ctx context.Context, client *dynamodb.Client, t Tables) error {
	return recommendations.NewDynamoDB(client, t).CreateTables(ctx)
}

// Verify compares every product's pair counts and ranking, and every
// category's popularity, with what the truth's counts make under p, and
// returns the differences.
func Verify(ctx context.Context, client *dynamodb.Client, t Tables, truth *generator.Truth, p Policy) []string {
	return recommendations.Compare(ctx, recommendations.NewDynamoDB(client, t), truth, p)
}

// Lookup returns up to n recommendations for a product, read from the
// tables: its related products, then popular ones of its category (or of
// category, for a product the function has not seen).
func Lookup(ctx context.Context, client *dynamodb.Client, t Tables, productID, category string, n int) (Result, error) {
	return recommendations.Lookup(ctx, recommendations.NewDynamoDB(client, t), productID, category, n)
}

// NewHTTPHandler returns the read path, GET /recommendations/{product_id}
// (query parameters n and category), answering JSON.
func NewHTTPHandler(client *dynamodb.Client, t Tables, logger *slog.Logger) http.Handler {
	return recommendations.NewHTTPHandler(recommendations.NewDynamoDB(client, t), logger)
}

// FunctionURLHandler adapts an http.Handler to a Lambda function URL: what
// the read path's main passes to lambda.Start.
func FunctionURLHandler(h http.Handler) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		body := req.Body
		if req.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest, Body: `{"error":"body is not base64"}`}, nil
			}
			body = string(b)
		}
		u := &url.URL{Path: req.RawPath, RawQuery: req.RawQueryString}
		if req.RawPath == "" {
			u.Path = "/"
		}
		hr, err := http.NewRequestWithContext(ctx, req.RequestContext.HTTP.Method, u.String(), strings.NewReader(body))
		if err != nil {
			return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest, Body: `{"error":"bad request"}`}, nil
		}
		for k, v := range req.Headers {
			hr.Header.Set(k, v)
		}
		w := &responseWriter{header: http.Header{}}
		h.ServeHTTP(w, hr)
		resp := events.LambdaFunctionURLResponse{StatusCode: w.status, Body: w.body.String(), Headers: map[string]string{}}
		if resp.StatusCode == 0 {
			resp.StatusCode = http.StatusOK
		}
		for k := range w.header {
			resp.Headers[k] = w.header.Get(k)
		}
		return resp, nil
	}
}

// responseWriter collects what an http.Handler writes.
type responseWriter struct {
	header http.Header
	status int
	body   strings.Builder
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// TableSpecs describes the function's tables (keys, TTL, environment
// variables) under their local names, for local setup and the CDK stack.
func TableSpecs() []dynamotable.Spec { return DefaultTables.Specs() }
