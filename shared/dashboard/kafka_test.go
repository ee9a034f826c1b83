package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

func kafka(t *testing.T, topics ...string) (*kgo.Client, *kadm.Client, []string) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(topics[0]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl), cluster.ListenAddrs()
}

func produce(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%7), Value: []byte("{}")}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestMonitor: totals per topic equal what was produced, rates are the
// change between samples over their interval, and lag comes from the
// given reader; a consumer group's committed offsets give its lag when no
// reader is given.
func TestMonitor(t *testing.T) {
	cl, admin, _ := kafka(t, "a", "b")
	lag := map[string]int64{"fn": 42}
	mon := dashboard.NewMonitor(dashboard.MonitorConfig{Admin: admin, Topics: []string{"a", "b"},
		Lag: func(context.Context) (map[string]int64, error) { return lag, nil }})
	ctx := context.Background()
	produce(t, cl, "a", 100)
	if err := mon.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, "a", 50)
	produce(t, cl, "b", 30)
	time.Sleep(50 * time.Millisecond)
	if err := mon.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	feeds := mon.Feeds()
	v, err := feeds[0].Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(dashboard.Series)
	if s.Totals["a"] != 150 || s.Totals["b"] != 30 || len(s.Times) != 1 || s.Unit != "events/s" {
		t.Fatalf("throughput: %+v", s)
	}
	// 50 and 30 records over the same interval: the rates are 5:3.
	if a, b := s.Values["a"][0], s.Values["b"][0]; a <= 0 || b <= 0 || a/b < 1.66 || a/b > 1.67 {
		t.Fatalf("rates a %v b %v", a, b)
	}
	v, err = feeds[1].Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l := v.(dashboard.Series); len(l.Times) != 2 || l.Latest["fn"] != 42 {
		t.Fatalf("lag: %+v", l)
	}

	// Without a reader: a group that consumed 60 of a's 150 records lags 90.
	offsets := kadm.Offsets{}
	for p := range int32(3) {
		offsets.Add(kadm.Offset{Topic: "a", Partition: p, At: 0})
	}
	ends, err := admin.ListEndOffsets(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	left := int64(90)
	ends.Each(func(o kadm.ListedOffset) {
		take := min(o.Offset, left)
		left -= take
		offsets.Add(kadm.Offset{Topic: "a", Partition: o.Partition, At: o.Offset - take})
	})
	if _, err := admin.CommitOffsets(ctx, "g1", offsets); err != nil {
		t.Fatal(err)
	}
	groups := dashboard.NewMonitor(dashboard.MonitorConfig{Admin: admin, Topics: []string{"a"}})
	if err := groups.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	v, err = groups.Feeds()[1].Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l := v.(dashboard.Series); l.Latest["g1"] != 90 {
		t.Fatalf("group lag: %+v", l)
	}
}

// TestMonitorReportsFailures: a sample that fails makes the feeds fail
// with the reason, not show stale figures as current.
func TestMonitorReportsFailures(t *testing.T) {
	_, admin, _ := kafka(t, "a")
	mon := dashboard.NewMonitor(dashboard.MonitorConfig{Admin: admin, Topics: []string{"a"}, Interval: 10 * time.Millisecond,
		Lag: func(context.Context) (map[string]int64, error) { return nil, errors.New("mapping gone") }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mon.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := mon.Feeds()[0].Read(ctx)
		if err != nil {
			if want := "mapping gone"; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no error from a failing sample")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDeadLetters: every letter on the topic is counted once under its
// function and reason, from the given offsets on; a record that is not a
// dead letter counts as unreadable.
func TestDeadLetters(t *testing.T) {
	_, _, brokers := kafka(t, event.TopicDeadLetters)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	send := func(fn string, reason event.Reason, n int) {
		for i := range n {
			dl := kafkabatch.NewDeadLetter(fn, &kafkabatch.Record{Topic: "transactions", Partition: 0, Offset: int64(i),
				Value: []byte("{")}, reason, errors.New("bad"))
			v, err := event.AppendJSON(nil, dl)
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: event.TopicDeadLetters, Partition: 0, Value: v}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("fraud", event.ReasonNotJSON, 2) // before the counter's start
	send("fraud", event.ReasonNotJSON, 5)
	send("inventory", event.ReasonInvalidValue, 3)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: event.TopicDeadLetters, Partition: 1, Value: []byte("garbage")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Start after the first two letters of partition 0.
	d := dashboard.NewDeadLetters(map[int32]int64{0: 2, 1: 0, 2: 0}, kgo.SeedBrokers(brokers...))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(rctx, slog.New(slog.DiscardHandler)) }()
	defer func() { cancel(); <-done }()
	admin := kadm.NewClient(cl)
	ends, err := admin.ListEndOffsets(ctx, event.TopicDeadLetters)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	deadline := time.Now().Add(20 * time.Second)
	for !d.CaughtUp(want) {
		if time.Now().After(deadline) {
			t.Fatal("the counter did not catch up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s, err := d.Summary()
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []dashboard.DeadLetterCount{{"fraud", "not_json", 5}, {"inventory", "invalid_value", 3}, {"unknown", "unreadable", 1}}
	if s.Total != 9 || fmt.Sprint(s.ByReason) != fmt.Sprint(wantRows) {
		t.Fatalf("summary %+v, want %v", s, wantRows)
	}
}
