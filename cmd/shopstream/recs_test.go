package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	recommendations "github.com/shopstream/shopstream/functions/recommendations/api"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// TestRecsCommand: after the function processed generated traffic into
// DynamoDB Local, `shopstream recs` prints a product's related products
// from the read path served by the dev HTTP server, as a table and as the
// JSON the read path answers, and a product never seen gets the popular
// products of the category given. A read path that is not there is a clear
// error.
func TestRecsCommand(t *testing.T) {
	ctx := context.Background()
	t.Cleanup(func() {
		if err := dynamotest.Stop(); err != nil {
			t.Error(err)
		}
	})
	client := dynamotest.Client(t)
	tables := recommendations.Tables{Related: dynamotest.TableName(t, "related"), Popular: dynamotest.TableName(t, "popular"),
		Sessions: dynamotest.TableName(t, "sessions")}
	if err := recommendations.CreateTables(ctx, client, tables); err != nil {
		t.Fatal(err)
	}
	p, err := recommendations.NewProcessor(recommendations.Config{DynamoDB: client, Tables: tables})
	if err != nil {
		t.Fatal(err)
	}
	g, err := generator.New(generator.Config{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	ev := events.KafkaEvent{Records: map[string][]events.KafkaRecord{}}
	for range 4000 {
		r := g.Next()
		if r.Bad != nil || (r.Topic != event.TopicUserEvents && r.Topic != event.TopicTransactions) {
			continue
		}
		tp := r.Topic + "-0"
		ev.Records[tp] = append(ev.Records[tp], events.KafkaRecord{Topic: r.Topic, Offset: int64(len(ev.Records[tp])),
			Value: base64.StdEncoding.EncodeToString(r.Value)})
	}
	if resp, err := p.Process(ctx, ev); err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("%v %+v", err, resp)
	}
	truth := g.Truth()
	fn := pipelineFunction{Name: recommendations.Name, Routes: func(context.Context, *devEnv) (map[string]http.Handler, error) {
		return map[string]http.Handler{recommendations.Route: recommendations.NewHTTPHandler(client, tables, nil)}, nil
	}}
	env := &devEnv{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	web, err := startDevHTTP(ctx, devHTTPOptions{addr: "127.0.0.1:0", explicit: true}, []pipelineFunction{fn}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	pair := truth.Recs.Pairs[0]
	stdout, stderr, code := runCLI(t, "recs", pair.ProductID, "--url", web.URL())
	if code != 0 || !strings.Contains(stdout, "Recommendations for "+pair.ProductID) || !strings.Contains(stdout, "related") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, "recs", pair.ProductID, "--url", web.URL(), "--json", "-n", "3")
	var res recommendations.Result
	if err := json.Unmarshal([]byte(stdout), &res); code != 0 || err != nil || len(res.Recommendations) != 3 {
		t.Fatalf("--json: exit %d %v\n%s\n%s", code, err, stdout, stderr)
	}
	want, err := recommendations.Lookup(ctx, client, tables, pair.ProductID, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(want); strings.TrimSpace(stdout) != string(b) {
		t.Fatalf("--json printed %s, the tables say %s", stdout, b)
	}
	stdout, _, code = runCLI(t, "recs", "p-cold", "--url", web.URL(), "--category", "toys")
	if code != 0 || !strings.Contains(stdout, "popular in toys") {
		t.Fatalf("cold product: exit %d\n%s", code, stdout)
	}
	// --direct reads the tables, configured as a deployed tool is.
	srv := dynamotest.Server(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", srv.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", srv.Credentials.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.Credentials.SecretAccessKey)
	stdout, stderr, code = runCLI(t, "recs", pair.ProductID, "--direct", "--json", "-n", "3",
		"--related-table", tables.Related, "--popular-table", tables.Popular)
	if b, _ := json.Marshal(want); code != 0 || strings.TrimSpace(stdout) != string(b) {
		t.Fatalf("--direct: exit %d\n%s\n%s\nwant %s", code, stdout, stderr, b)
	}
	if _, stderr, code := runCLI(t, "recs", "p-1", "--url", "http://127.0.0.1:1"); code != 1 || !strings.Contains(stderr, "is `shopstream dev` running?") {
		t.Fatalf("no read path: exit %d %s", code, stderr)
	}
	if _, _, code := runCLI(t, "recs"); code != 2 {
		t.Fatalf("no product: exit %d", code)
	}
	if _, _, code := runCLI(t, "recs", "p-1", "-n", "0"); code != 2 {
		t.Fatalf("-n 0: exit %d", code)
	}
}
