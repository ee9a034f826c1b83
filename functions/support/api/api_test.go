package api_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/support/api"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// TestSamplePayloads runs the function, as the shopstream command builds it,
// on the sample Lambda payloads of its topics, against DynamoDB Local and an
// in-process Kafka broker: every record succeeds, and the sample's
// high-priority complaint reaches the support_alerts topic as an alert.
func TestSamplePayloads(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, event.TopicSupportAlerts, event.TopicDeadLetters))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	kafka, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics(event.TopicSupportAlerts))
	if err != nil {
		t.Fatal(err)
	}
	defer kafka.Close()
	tables := api.Tables{Subjects: dynamotest.TableName(t, "subjects"), Ratings: dynamotest.TableName(t, "ratings"), Cases: dynamotest.TableName(t, "cases")}
	client := dynamotest.Client(t)
	if err := api.CreateTables(ctx, client, tables); err != nil {
		t.Fatal(err)
	}
	p, err := api.NewProcessor(api.Config{DynamoDB: client, Tables: tables, Kafka: kafka})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"customer_feedback", "transactions"} {
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
	}
	fetches := kafka.PollRecords(ctx, 100)
	if err := fetches.Err(); err != nil {
		t.Fatal(err)
	}
	n := 0
	fetches.EachRecord(func(r *kgo.Record) {
		var a api.Alert
		if err := json.Unmarshal(r.Value, &a); err != nil || a.EventID == "" || a.Priority != "high" || string(r.Key) != a.CaseID {
			t.Errorf("alert %s: %v", r.Value, err)
		}
		n++
	})
	if n == 0 {
		t.Error("no alert reached the support_alerts topic")
	}
	// The samples are not the generator's run: Verify finds the
	// differences.
	g, err := generator.New(generator.Config{Seed: 11, EventsPerSecond: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 3000 {
		g.Next()
	}
	if d := api.Verify(ctx, client, tables, g.Truth()); len(d) == 0 {
		t.Error("Verify found the samples' state equal to a generated run's truth")
	}
}
