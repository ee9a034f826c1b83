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

	"github.com/shopstream/shopstream/functions/inventory/api"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/event"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// TestSamplePayloads runs the function, as the shopstream command builds it,
// on the sample Lambda payloads of its topics, against DynamoDB Local and an
// in-process Kafka broker: every record succeeds, and the alerts it raises
// reach the inventory_alerts topic as valid events.
func TestSamplePayloads(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, event.TopicInventoryAlerts, event.TopicDeadLetters))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	kafka, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics(event.TopicInventoryAlerts))
	if err != nil {
		t.Fatal(err)
	}
	defer kafka.Close()
	tables := api.Tables{Stock: dynamotest.TableName(t, "stock"), Orders: dynamotest.TableName(t, "orders"), Alerts: dynamotest.TableName(t, "alerts")}
	client := dynamotest.Client(t)
	if err := api.CreateTables(ctx, client, tables); err != nil {
		t.Fatal(err)
	}
	rules := api.DefaultRules()
	rules.LowStock = 500
	p, err := api.NewProcessor(api.Config{DynamoDB: client, Tables: tables, Kafka: kafka, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"inventory_updates", "transactions"} {
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
	// With a threshold of 500 every sample product is low: alerts were raised.
	fetches := kafka.PollRecords(ctx, 100)
	if err := fetches.Err(); err != nil {
		t.Fatal(err)
	}
	n := 0
	fetches.EachRecord(func(r *kgo.Record) {
		e, err := event.NewDecoder().Decode(r.Value, event.Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
		if err != nil {
			t.Errorf("alert %s: %v", r.Value, err)
			return
		}
		if _, ok := e.(*event.InventoryAlert); !ok {
			t.Errorf("alert topic holds a %T", e)
		}
		n++
	})
	if n == 0 {
		t.Error("no alert reached the inventory_alerts topic")
	}
}
