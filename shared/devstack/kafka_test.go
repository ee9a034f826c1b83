package devstack

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaInProcess(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	k, err := StartKafka(ctx, KafkaConfig{Topics: []string{"orders", "payments"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Stop() })
	if !k.InProcess() || len(k.Brokers) != 1 {
		t.Fatalf("brokers = %v, in process %v; want one in-process broker", k.Brokers, k.InProcess())
	}
	port := brokerPort(t, k.Brokers[0])
	if err := CheckLoopback(port); err != nil {
		t.Error(err)
	}
	assertPartitions(ctx, t, k, map[string]int{"orders": DefaultPartitions, "payments": DefaultPartitions})
	if err := k.CreateTopics(ctx, 3, "inventory"); err != nil {
		t.Fatal(err)
	}
	if err := k.CreateTopics(ctx, 3, "inventory"); err != nil { // exists: fine
		t.Fatalf("creating an existing topic: %v", err)
	}
	assertPartitions(ctx, t, k, map[string]int{"inventory": 3})
	roundTrip(ctx, t, k.Brokers, "orders")

	if err := k.Stop(); err != nil {
		t.Fatal(err)
	}
	if addrs, _ := ListenAddrs(port); len(addrs) != 0 {
		t.Errorf("after Stop, port %d still listens on %v", port, addrs)
	}
}

func TestKafkaExistingCluster(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cluster, err := StartKafka(ctx, KafkaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })

	k, err := StartKafka(ctx, KafkaConfig{Brokers: cluster.Brokers, Topics: []string{"clicks"}, Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Stop() })
	if k.InProcess() {
		t.Error("InProcess() = true for an existing cluster")
	}
	assertPartitions(ctx, t, cluster, map[string]int{"clicks": 4})
	roundTrip(ctx, t, k.Brokers, "clicks")
}

func TestKafkaUnreachableCluster(t *testing.T) {
	t.Parallel()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = StartKafka(t.Context(), KafkaConfig{Brokers: []string{"127.0.0.1:" + strconv.Itoa(port)}, ReadyTimeout: 500 * time.Millisecond})
	if err == nil {
		t.Fatal("StartKafka with nothing at the brokers: nil error")
	}
}

func brokerPort(t *testing.T, broker string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(broker)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return port
}

func assertPartitions(ctx context.Context, t *testing.T, k *Kafka, want map[string]int) {
	t.Helper()
	var topics []string
	for topic := range want {
		topics = append(topics, topic)
	}
	details, err := k.Admin().ListTopics(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	for topic, n := range want {
		d, ok := details[topic]
		if !ok {
			t.Errorf("topic %s missing", topic)
			continue
		}
		if len(d.Partitions) != n {
			t.Errorf("topic %s has %d partitions, want %d", topic, len(d.Partitions), n)
		}
	}
}

// roundTrip produces records to topic and consumes them back in a group.
func roundTrip(ctx context.Context, t *testing.T, brokers []string, topic string) {
	t.Helper()
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	const n = 20
	for i := range n {
		r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumerGroup("devstack-test-"+topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for len(seen) < n {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(seen), n, err)
		}
		fetches.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}
