package generator

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestFileRoundTrip(t *testing.T) {
	t.Parallel()
	g, err := New(Config{Seed: 21, BadRate: 0.2, LegacyShare: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "records.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []Record
	sink := &recordingSink{Sink: NewFileSink(f), got: &want}
	if _, err := Run(context.Background(), g, sink, RunOptions{Count: 5000}); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	i, b64 := 0, 0
	err = ReadFile(in, func(r FileRecord) error {
		w := want[i]
		if r.Topic != w.Topic || r.Key != w.Key || !bytes.Equal(r.Value, w.Value) {
			t.Fatalf("line %d: read %s/%q %.80q, wrote %s/%q %.80q", i+1, r.Topic, r.Key, r.Value, w.Topic, w.Key, w.Value)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != len(want) || i != 5000 {
		t.Fatalf("read %d records, wrote %d", i, len(want))
	}
	raw, _ := os.ReadFile(path)
	b64 = bytes.Count(raw, []byte(`"value_b64"`))
	if b64 == 0 {
		t.Fatal("no malformed record was written as value_b64")
	}
}

// recordingSink keeps a copy of what it writes.
type recordingSink struct {
	Sink
	got *[]Record
}

func (s *recordingSink) Write(ctx context.Context, rec *Record) error {
	*s.got = append(*s.got, *rec)
	return s.Sink.Write(ctx, rec)
}

func TestParseLineErrors(t *testing.T) {
	t.Parallel()
	for _, line := range []string{``, `{`, `{"key":"k","value":{}}`, `{"topic":"t","value_b64":"!!"}`} {
		if _, err := ParseLine([]byte(line)); err == nil {
			t.Errorf("ParseLine(%q) accepted a bad line", line)
		}
	}
	r, err := ParseLine([]byte(`{"topic":"t","key":"k\u0000","value":{"a": [1, 2]}}`))
	if err != nil || r.Key != "k\x00" || string(r.Value) != `{"a": [1, 2]}` {
		t.Fatalf("ParseLine: %+v %v", r, err)
	}
}

// TestKafkaSink produces a run to a real Kafka-protocol broker and reads it
// back: every record arrives, on its topic, with its key, in order per key.
func TestKafkaSink(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := EnsureTopics(ctx, cl, 4, InputTopics...); err != nil {
		t.Fatal(err)
	}
	if err := EnsureTopics(ctx, cl, 4, InputTopics...); err != nil {
		t.Fatalf("creating existing topics again: %v", err)
	}
	g, err := New(Config{Seed: 8, BadRate: 0.02, LegacyShare: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var sent []Record
	const n = 4000
	if _, err := Run(ctx, g, &recordingSink{Sink: NewKafkaSink(cl), got: &sent}, RunOptions{Count: n}); err != nil {
		t.Fatal(err)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.ConsumeTopics(InputTopics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	perKey := map[string][][]byte{}
	partitionOf := map[string]int32{}
	got := 0
	for got < n {
		fetches := consumer.PollFetches(ctx)
		if err := fetches.Err0(); err != nil {
			t.Fatalf("after %d records: %v", got, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			k := r.Topic + "/" + string(r.Key)
			if p, ok := partitionOf[k]; ok && p != r.Partition {
				t.Errorf("key %s on partitions %d and %d", k, p, r.Partition)
			}
			partitionOf[k] = r.Partition
			perKey[k] = append(perKey[k], r.Value)
			got++
		})
	}
	want := map[string][][]byte{}
	for _, r := range sent {
		k := r.Topic + "/" + r.Key
		want[k] = append(want[k], r.Value)
	}
	if len(want) != len(perKey) {
		t.Fatalf("%d keys sent, %d received", len(want), len(perKey))
	}
	for k, vs := range want {
		gs := perKey[k]
		if len(gs) != len(vs) {
			t.Fatalf("key %s: sent %d records, received %d", k, len(vs), len(gs))
		}
		for i := range vs {
			if !bytes.Equal(vs[i], gs[i]) {
				t.Fatalf("key %s record %d differs or is out of order", k, i)
			}
		}
	}
}

func TestRunStops(t *testing.T) {
	t.Parallel()
	g, err := New(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var sent []Record
	sink := &recordingSink{Sink: NewFileSink(&bytes.Buffer{}), got: &sent}
	// A duration bound ends a rate-limited run; the rate keeps it small.
	st, err := Run(context.Background(), g, sink, RunOptions{Duration: 300 * time.Millisecond, Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records == 0 || st.Records > 60 || int64(len(sent)) != st.Records {
		t.Fatalf("300ms at 100 records/s wrote %d records (sink saw %d)", st.Records, len(sent))
	}
	if g.Truth().Records != st.Records {
		t.Fatalf("truth has %d records, run wrote %d", g.Truth().Records, st.Records)
	}
	// A cancelled context ends a run without an error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, err = Run(ctx, g, NewFileSink(&bytes.Buffer{}), RunOptions{})
	if err != nil || st.Records != 0 {
		t.Fatalf("cancelled run: %d records, %v", st.Records, err)
	}
	var progress bytes.Buffer
	if _, err := Run(context.Background(), g, NewFileSink(&bytes.Buffer{}), RunOptions{Count: 10, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(progress.Bytes(), []byte("10 records")) {
		t.Fatalf("progress: %q", progress.String())
	}
}
