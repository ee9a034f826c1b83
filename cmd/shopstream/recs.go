package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	recommendations "github.com/shopstream/shopstream/functions/recommendations/api"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// recommendationsFunction is the recommendations function in the local
// pipeline: pair counts and rankings in DynamoDB, and its read path,
// GET /recommendations/{product_id}, on the dev HTTP server.
func recommendationsFunction() pipelineFunction {
	return pipelineFunction{
		Name:   recommendations.Name,
		Topics: []string{event.TopicUserEvents, event.TopicTransactions},
		Tune: func(c *esm.Config) {
			// Large batches fold many pairs of a product into one write.
			c.BatchSize = 10_000
			c.MaxBatchingWindow = time.Second
		},
		Setup: func(ctx context.Context, env *devEnv) error {
			return recommendations.CreateTables(ctx, env.Stack.DynamoDB.Client(), recommendations.DefaultTables)
		},
		Handler: func(ctx context.Context, env *devEnv) (any, error) {
			p, err := recommendations.NewProcessor(recommendations.Config{
				DynamoDB: env.Stack.DynamoDB.Client(), Tables: recommendations.DefaultTables, Kafka: env.Kafka,
				Policy: recommendations.DefaultPolicy, Logger: env.Logger,
			})
			if err != nil {
				return nil, err
			}
			return p.Process, nil
		},
		Verify: func(ctx context.Context, env *devEnv, truth *generator.Truth) ([]string, error) {
			return recommendations.Verify(ctx, env.Stack.DynamoDB.Client(), recommendations.DefaultTables, truth,
				recommendations.DefaultPolicy), nil
		},
		Routes: func(ctx context.Context, env *devEnv) (map[string]http.Handler, error) {
			h := recommendations.NewHTTPHandler(env.Stack.DynamoDB.Client(), recommendations.DefaultTables, env.Logger)
			return map[string]http.Handler{recommendations.Route: h}, nil
		},
	}
}

// recsOptions are the flags of `shopstream recs`.
type recsOptions struct {
	url          string
	n            int
	category     string
	asJSON       bool
	direct       bool
	relatedTable string
	popularTable string
}

func runRecs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o recsOptions
	fs := flag.NewFlagSet("recs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://"+devHTTPDefault, "the read path's base `URL`: `shopstream dev`'s HTTP server, or the function URL of recommendations-api")
	fs.IntVar(&o.n, "n", 10, "how many recommendations, 1 to 100")
	fs.StringVar(&o.category, "category", "", "the product's `category`, for the popular fallback of a product never seen")
	fs.BoolVar(&o.asJSON, "json", false, "print the JSON answer as it is")
	fs.BoolVar(&o.direct, "direct", false, "read the DynamoDB tables instead of the HTTP read path (AWS configuration and AWS_ENDPOINT_URL_DYNAMODB from the environment)")
	fs.StringVar(&o.relatedTable, "related-table", recommendations.DefaultTables.Related, "with --direct: the related products `table`")
	fs.StringVar(&o.popularTable, "popular-table", recommendations.DefaultTables.Popular, "with --direct: the popular products `table`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: shopstream recs PRODUCT_ID [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Prints a product's recommendations: the products most often viewed in the same")
		fmt.Fprintln(stderr, "session or bought in the same order, recent ones weighing more, then popular")
		fmt.Fprintln(stderr, "products of its category. It asks the read path that `shopstream dev` serves,")
		fmt.Fprintln(stderr, "or, with --direct, the tables.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if id == "" {
		fs.Usage()
		return usageError{"recs needs a PRODUCT_ID"}
	}
	if o.n < 1 || o.n > 100 {
		return usageError{"--n must be 1 to 100"}
	}
	var res recommendations.Result
	var raw []byte
	var err error
	if o.direct {
		cfg, cerr := config.LoadDefaultConfig(ctx)
		if cerr != nil {
			return fmt.Errorf("load AWS config: %w", cerr)
		}
		res, err = recommendations.Lookup(ctx, dynamodb.NewFromConfig(cfg),
			recommendations.Tables{Related: o.relatedTable, Popular: o.popularTable}, id, o.category, o.n)
		if err == nil {
			raw, err = json.Marshal(res)
		}
	} else {
		res, raw, err = fetchRecs(ctx, o.url, id, o.category, o.n)
	}
	if err != nil {
		return err
	}
	if o.asJSON {
		_, err := fmt.Fprintln(stdout, string(raw))
		return err
	}
	printRecs(stdout, res)
	return nil
}

// fetchRecs asks the read path at base for id's recommendations.
func fetchRecs(ctx context.Context, base, id, category string, n int) (recommendations.Result, []byte, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return recommendations.Result{}, nil, usageError{fmt.Sprintf("--url %q is not an http(s) URL", base)}
	}
	u = u.JoinPath("recommendations", id)
	q := url.Values{"n": {strconv.Itoa(n)}}
	if category != "" {
		q.Set("category", category)
	}
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return recommendations.Result{}, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return recommendations.Result{}, nil, fmt.Errorf("ask %s (is `shopstream dev` running?): %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return recommendations.Result{}, nil, fmt.Errorf("read the answer of %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return recommendations.Result{}, nil, fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return recommendations.Result{}, nil, fmt.Errorf("%s answers %s", u, resp.Status)
	}
	var res recommendations.Result
	if err := json.Unmarshal(body, &res); err != nil {
		return recommendations.Result{}, nil, fmt.Errorf("the answer of %s is not a result: %w", u, err)
	}
	return res, body, nil
}

func printRecs(w io.Writer, res recommendations.Result) {
	cat := res.Category
	if cat == "" {
		cat = "unknown category"
	}
	fmt.Fprintf(w, "Recommendations for %s (%s):\n", res.ProductID, cat)
	if len(res.Recommendations) == 0 {
		fmt.Fprintln(w, "  none: no views or orders counted yet")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tPRODUCT\tSOURCE\tSCORE\tCO-VIEWS\tCO-PURCHASES\tVIEWS\tPURCHASES")
	for i, r := range res.Recommendations {
		source := r.Source
		if source == "popular" && res.Fallback != "" {
			source += " in " + res.Fallback
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%.3f\t%d\t%d\t%d\t%d\n", i+1, r.ProductID, source, r.Score,
			r.CoViews, r.CoPurchases, r.Views, r.Purchases)
	}
	_ = tw.Flush()
}
