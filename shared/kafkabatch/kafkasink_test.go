package kafkabatch

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/event"
)

// newKafka starts an in-process Kafka broker with topic, and returns a
// producing client for it. Both are closed when the test ends.
func newKafka(t *testing.T, topic string, partitions int32) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatalf("start in-process Kafka (kfake): %v", err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, cl
}

// consumeLetters reads dead letters from topic until it has want of them or
// the time runs out. It checks each record is keyed by its letter's key.
func consumeLetters(t *testing.T, c *kfake.Cluster, topic string, want int) []*event.DeadLetter {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*event.DeadLetter
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d dead letters from %s, want %d: %v", len(out), topic, want, ctx.Err())
		}
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			e, err := event.Decode(r.Value, event.Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
			if err != nil {
				t.Fatalf("dead letter at offset %d does not decode: %v\n%s", r.Offset, err, r.Value)
			}
			dl, ok := e.(*event.DeadLetter)
			if !ok {
				t.Fatalf("record decodes to %T", e)
			}
			if !bytes.Equal(r.Key, dl.RecordKey) {
				t.Errorf("record key %q, want the original key %q", r.Key, dl.RecordKey)
			}
			out = append(out, dl)
		})
	}
	return out
}

func TestKafkaSinkContract(t *testing.T) {
	t.Parallel()
	testSinkContract(t, func(t *testing.T) sinkHarness {
		c, cl := newKafka(t, event.TopicDeadLetters, 3)
		return sinkHarness{
			sink: NewKafkaSink(cl, ""),
			read: func(t *testing.T, want int) []*event.DeadLetter {
				return consumeLetters(t, c, event.TopicDeadLetters, want)
			},
		}
	})
}

func TestKafkaSinkTopic(t *testing.T) {
	t.Parallel()
	if got := NewKafkaSink(nil, "").Topic(); got != "dead_letters" {
		t.Errorf("default topic = %q", got)
	}
	if got := NewKafkaSink(nil, "dlq.fraud").Topic(); got != "dlq.fraud" {
		t.Errorf("topic = %q", got)
	}
}

func TestKafkaSinkErrors(t *testing.T) {
	t.Parallel()
	_, cl := newKafka(t, "dlq", 1)
	sink := NewKafkaSink(cl, "dlq")
	cl.Close()
	err := sink.Send(context.Background(), contractLetters("closed", 2))
	if !errors.Is(err, kgo.ErrClientClosed) || !strings.Contains(err.Error(), "produce dead letters to dlq: 2 of 2 failed") {
		t.Errorf("err = %v, want a wrapped kgo.ErrClientClosed", err)
	}
}

// TestProcessorWithKafkaSink runs a batch with bad records through a
// Processor whose dead letters go to a real (in-process) Kafka broker.
func TestProcessorWithKafkaSink(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, "dead_letters_test", 2)
	h := &recordingHandler{reject: func(m *Message) (bool, error) {
		return m.Offset == 3, errors.New("unknown product")
	}}
	p := newTestProcessor(t, h, WithDeadLetterSink(NewKafkaSink(cl, "dead_letters_test")))
	resp, st, err := p.ProcessWithStats(context.Background(), payload(9,
		rec{Topic: "inventory_updates", Partition: 0, Offset: 1, Key: []byte("prod-1"), Value: []byte("not json")},
		rec{Topic: "inventory_updates", Partition: 0, Offset: 2, Value: validEvent(t, 2)},
		rec{Topic: "inventory_updates", Partition: 0, Offset: 3, Key: []byte("prod-3"), Value: validEvent(t, 6)},
		rec{Topic: "inventory_updates", Partition: 1, Offset: 1, RawValue: "@@@",
			Headers: []event.RecordHeader{{Key: "source", Value: []byte("pos")}}},
	))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Process = %s, %v", failureList(resp), err)
	}
	if st.DeadLettered[event.ReasonNotJSON] != 1 || st.DeadLettered[event.ReasonRejected] != 1 || st.DeadLettered[event.ReasonBadEncoding] != 1 {
		t.Errorf("stats = %+v", st)
	}
	got := make(map[int64]map[int32]*event.DeadLetter)
	for _, dl := range consumeLetters(t, c, "dead_letters_test", 3) {
		if got[dl.Offset] == nil {
			got[dl.Offset] = make(map[int32]*event.DeadLetter)
		}
		got[dl.Offset][dl.Partition] = dl
		if dl.Function != "testfn" || dl.Topic != "inventory_updates" {
			t.Errorf("letter origin = %s %s", dl.Function, dl.Topic)
		}
	}
	if dl := got[1][0]; dl == nil || dl.Reason != event.ReasonNotJSON || string(dl.RecordKey) != "prod-1" || string(dl.RecordValue) != "not json" {
		t.Errorf("not-JSON letter = %+v", dl)
	}
	if dl := got[3][0]; dl == nil || dl.Reason != event.ReasonRejected || dl.Error != "unknown product" || string(dl.RecordKey) != "prod-3" {
		t.Errorf("rejected letter = %+v", dl)
	}
	if dl := got[1][1]; dl == nil || dl.Reason != event.ReasonBadEncoding || string(dl.RecordValue) != "@@@" ||
		len(dl.Headers) != 1 || string(dl.Headers[0].Value) != "pos" {
		t.Errorf("bad-encoding letter = %+v", dl)
	}
}
