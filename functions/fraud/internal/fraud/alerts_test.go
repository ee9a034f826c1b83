package fraud_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/eventtest"
)

// TestFunctionAlerts wires the function as deployed (DynamoDB Local and an
// in-process Kafka broker): a declined order's alert is stored, produced to
// fraud_alerts keyed by user, valid against the alert schema, and published;
// a bad record goes to dead_letters; the batch delivered again raises no
// second alert.
func TestFunctionAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, event.TopicFraudAlerts, event.TopicDeadLetters))
	if err != nil {
		t.Fatalf("start in-process Kafka (kfake): %v", err)
	}
	t.Cleanup(cluster.Close)
	kc, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	tables := fraud.Tables{Profiles: dynamotest.TableName(t, "p"), Decisions: dynamotest.TableName(t, "d"), Alerts: dynamotest.TableName(t, "a")}
	store := fraud.NewDynamoDB(dynamotest.Client(t), tables, 0, fixedClock)
	if err := store.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	rules := fraud.DefaultConfig()
	rules.Blocklist.Cards = []string{"fp_bad0bad0bad0bad0"}
	pub := newMemAlerts()
	f, err := fraud.NewFunction(fraud.Deps{DynamoDB: dynamotest.Client(t), Tables: tables, Kafka: kc,
		Publisher: publisherOf{pub}, Config: rules})
	if err != nil {
		t.Fatal(err)
	}
	ev := esmtest.Payload([]events.KafkaRecord{
		record(t, 0, 0, "u-1", orderJSON("o-1", "u-1", "fp_bad0bad0bad0bad0", "8.8.8.8", t0, 2500, 1, "New York", 40.71, -74)),
		record(t, 0, 1, "u-2", orderJSON("o-2", "u-2", "fp_good0good0good0g", "9.9.9.9", t0, 2500, 1, "Boston", 42.36, -71.06)),
		record(t, 0, 2, "u-2", `{"broken"`),
	})
	for range 2 {
		if resp, err := f.Process(ctx, ev); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%v %+v", err, resp)
		}
	}
	alerts := consume(t, cluster, event.TopicFraudAlerts, 1)
	if len(alerts) != 1 || string(alerts[0].Key) != "u-1" {
		t.Fatalf("fraud_alerts holds %d records, want one keyed u-1", len(alerts))
	}
	if err := eventtest.Schemas(t).Validate(string(event.TypeFraudAlert), alerts[0].Value); err != nil {
		t.Fatalf("alert against its schema: %v\n%s", err, alerts[0].Value)
	}
	a, err := event.Decode(alerts[0].Value, event.Source{Topic: event.TopicFraudAlerts})
	if err != nil {
		t.Fatal(err)
	}
	fa := a.(*event.FraudAlert)
	if fa.OrderID != "o-1" || fa.Decision != fraud.DecisionDecline || fa.RuleVersion != rules.Version || fa.Reasons[0].Rule != fraud.RuleBlocklist {
		t.Fatalf("alert %+v", fa)
	}
	stored, err := store.AllAlerts(ctx)
	if err != nil || len(stored) != 1 || stored[0].EventID != fa.EventID {
		t.Fatalf("alerts table: %v %v", stored, err)
	}
	if pub.sends != 1 {
		t.Fatalf("published %d times, want once", pub.sends)
	}
	if dl := consume(t, cluster, event.TopicDeadLetters, 2); len(dl) != 2 { // the bad record, once per delivery
		t.Fatalf("dead letters: %d", len(dl))
	}
}

type publisherOf struct{ m *memAlerts }

func (p publisherOf) Publish(ctx context.Context, a *event.FraudAlert) error {
	return p.m.Send(ctx, []*event.FraudAlert{a})
}

// consume reads every record of topic, waiting until it has want of them
// and then briefly for any more.
func consume(t *testing.T, c *kfake.Cluster, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		wait := time.Until(deadline)
		if len(out) >= want {
			wait = 500 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
		if len(out) >= want && ctx.Err() != nil {
			break
		}
	}
	return out
}
