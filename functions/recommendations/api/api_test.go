package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/recommendations/api"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// TestCapsMatchTruth: the generator's truth counts pairs with the
// function's default caps.
func TestCapsMatchTruth(t *testing.T) {
	if api.DefaultMaxSessionProducts != generator.RecsSessionProducts || api.DefaultMaxOrderProducts != generator.RecsOrderProducts {
		t.Fatalf("function caps %d, %d; truth caps %d, %d", api.DefaultMaxSessionProducts, api.DefaultMaxOrderProducts,
			generator.RecsSessionProducts, generator.RecsOrderProducts)
	}
}

func setup(t *testing.T, ctx context.Context) (*kfake.Cluster, *kgo.Client, api.Tables) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, event.TopicDeadLetters))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	kafka, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kafka.Close)
	tables := api.Tables{Related: dynamotest.TableName(t, "related"), Popular: dynamotest.TableName(t, "popular"),
		Sessions: dynamotest.TableName(t, "sessions")}
	if err := api.CreateTables(ctx, dynamotest.Client(t), tables); err != nil {
		t.Fatal(err)
	}
	return cluster, kafka, tables
}

// TestSamplePayloads runs the function, as the shopstream command builds it,
// on the sample Lambda payloads of its topics against DynamoDB Local: every
// record succeeds, and the sample orders' products are related.
func TestSamplePayloads(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, kafka, tables := setup(t, ctx)
	client := dynamotest.Client(t)
	p, err := api.NewProcessor(api.Config{DynamoDB: client, Tables: tables, Kafka: kafka, Policy: api.DefaultPolicy})
	if err != nil {
		t.Fatal(err)
	}
	var order *event.OrderCreated
	for _, name := range []string{"user_events", "transactions"} {
		b, err := os.ReadFile("../../../events/payloads/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var ev events.KafkaEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		resp, st, err := p.ProcessWithStats(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("%s: %v %+v", name, err, resp)
		}
		if st.Valid != st.Records {
			t.Errorf("%s: %d of %d records valid, dead letters %v", name, st.Valid, st.Records, st.DeadLettered)
		}
		for _, rs := range ev.Records {
			for _, r := range rs {
				v, _ := base64.StdEncoding.DecodeString(r.Value)
				e, err := event.NewDecoder().Decode(v, event.Source{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset})
				if o, ok := e.(*event.OrderCreated); err == nil && ok && len(o.Items) > 1 && o.Items[0].ProductID != o.Items[1].ProductID {
					order = o
				}
			}
		}
	}
	if order == nil {
		t.Fatal("no sample order of two products")
	}
	res, err := api.Lookup(ctx, client, tables, order.Items[0].ProductID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range res.Recommendations {
		found = found || (r.ProductID == order.Items[1].ProductID && r.Source == "related" && r.CoPurchases >= 1)
	}
	if !found {
		t.Fatalf("%s bought with %s, but recommendations are %+v", order.Items[1].ProductID, order.Items[0].ProductID, res)
	}
}

// TestReadPath: after a generated run, GET /recommendations/{id} answers a
// product's related products first, a product never seen gets the popular
// products of the category asked, bad requests get 400 with a reason, and
// the Lambda function URL adapter answers the same as the HTTP handler.
func TestReadPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, kafka, tables := setup(t, ctx)
	client := dynamotest.Client(t)
	p, err := api.NewProcessor(api.Config{DynamoDB: client, Tables: tables, Kafka: kafka})
	if err != nil {
		t.Fatal(err)
	}
	g, err := generator.New(generator.Config{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	for range 6000 {
		r := g.Next()
		if r.Topic != event.TopicUserEvents && r.Topic != event.TopicTransactions {
			continue
		}
		tp := r.Topic + "-0"
		ev.Records[tp] = append(ev.Records[tp], events.KafkaRecord{Topic: r.Topic, Offset: int64(len(ev.Records[tp])),
			Key: base64.StdEncoding.EncodeToString([]byte(r.Key)), Value: base64.StdEncoding.EncodeToString(r.Value)})
	}
	if resp, err := p.Process(ctx, ev); err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("%v %+v", err, resp)
	}
	truth := g.Truth()
	if d := api.Verify(ctx, client, tables, truth, api.DefaultPolicy); len(d) > 0 {
		t.Fatalf("state differs from the truth: %v", d)
	}
	srv := httptest.NewServer(api.NewHTTPHandler(client, tables, nil))
	defer srv.Close()
	get := func(path string) (int, api.Result, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res api.Result
		var raw json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: content type %q", path, resp.Header.Get("Content-Type"))
		}
		_ = json.Unmarshal(raw, &res)
		return resp.StatusCode, res, string(raw)
	}
	product := truth.Recs.Pairs[0].ProductID
	code, res, body := get("/recommendations/" + product + "?n=5")
	if code != http.StatusOK || res.ProductID != product || len(res.Recommendations) != 5 || res.Recommendations[0].Source != "related" {
		t.Fatalf("known product: %d %s", code, body)
	}
	for _, r := range res.Recommendations {
		if r.ProductID == product {
			t.Fatalf("a product recommends itself: %s", body)
		}
	}
	code, res, body = get("/recommendations/p-99999?category=books")
	if code != http.StatusOK || len(res.Recommendations) != 10 || res.Fallback != "books" || res.Recommendations[0].Source != "popular" {
		t.Fatalf("cold product: %d %s", code, body)
	}
	for _, bad := range []string{"/recommendations/p-1?n=0", "/recommendations/p-1?n=x", fmt.Sprintf("/recommendations/%0300d", 1)} {
		if code, _, body := get(bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	fn := api.FunctionURLHandler(api.NewHTTPHandler(client, tables, nil))
	var req events.LambdaFunctionURLRequest
	req.RawPath, req.RawQueryString = "/recommendations/"+product, "n=5"
	req.RequestContext.HTTP.Method = http.MethodGet
	resp, err := fn(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	_, _, want := get("/recommendations/" + product + "?n=5")
	var got json.RawMessage
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || resp.StatusCode != http.StatusOK || string(got) != want {
		t.Fatalf("function URL: %d %s, want %s", resp.StatusCode, resp.Body, want)
	}
}
