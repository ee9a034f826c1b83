package esm

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

const testARN = "arn:aws:kafka:us-east-1:123456789012:cluster/shopstream/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-1"

// newKafka starts an in-process Kafka broker with the given topics, each
// with partitions partitions, and returns it with a producing client. Both
// are closed when the test ends.
func newKafka(t *testing.T, partitions int32, topics ...string) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "8388608"}))
	if err != nil {
		t.Fatalf("start in-process Kafka (kfake): %v", err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerBatchMaxBytes(8<<20),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, cl
}

// produce writes recs (Partition chosen by the caller) and waits for the
// broker's acknowledgements.
func produce(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// records returns n records for topic and partition, valued "topic/p/i".
func records(topic string, partition int32, from, n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		v := fmt.Sprintf("%s/%d/%d", topic, partition, from+i)
		out[i] = &kgo.Record{Topic: topic, Partition: partition, Key: []byte(fmt.Sprintf("key-%d", from+i)), Value: []byte(v)}
	}
	return out
}

// baseConfig is a valid configuration consuming topic of c.
func baseConfig(c *kfake.Cluster, topic string) Config {
	return Config{
		FunctionName:      "fn",
		Topic:             topic,
		EventSourceARN:    testARN,
		BootstrapServers:  c.ListenAddrs(),
		StartingPosition:  TrimHorizon,
		MaxBatchingWindow: 20 * time.Millisecond,
	}
}

// testOptions make retries fast and log warnings to the test output.
func testOptions(t *testing.T, opts ...Option) []Option {
	l := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: testLogLevel}))
	return append([]Option{WithRetryBackoff(time.Millisecond, 5*time.Millisecond), WithLogger(l)}, opts...)
}

// run starts m.Run, and returns a function stopping it and waiting for it
// to return; the test's cleanup stops it too.
func run(t *testing.T, m *Mapping) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return 30 s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// newMapping returns a running Mapping, stopped when the test ends.
func newMapping(t *testing.T, cfg Config, inv Invoker, opts ...Option) (*Mapping, func()) {
	t.Helper()
	m, err := New(cfg, inv, testOptions(t, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, run(t, m)
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// drain waits until m has caught up with its topics.
func drain(t *testing.T, m *Mapping) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.WaitDrained(ctx); err != nil {
		t.Fatalf("WaitDrained: %v (stats %+v)", err, m.Stats())
	}
}

// coord is a record's coordinates.
type coord struct {
	Topic     string
	Partition int32
	Offset    int64
}

func (c coord) String() string { return fmt.Sprintf("%s-%d@%d", c.Topic, c.Partition, c.Offset) }

func compareCoords(a, b coord) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
}

// got is a record as a function received it.
type got struct {
	coord
	Key, Value string
}

// flatten returns the records of ev by partition and offset, checking that
// each list holds one partition, named by its key, in offset order.
func flatten(t *testing.T, ev *events.KafkaEvent) []got {
	t.Helper()
	var out []got
	for k, rs := range ev.Records {
		for i, r := range rs {
			if want := partitionKey(r.Topic, int32(r.Partition)); k != want {
				t.Errorf("record %s-%d@%d is under key %q", r.Topic, r.Partition, r.Offset, k)
			}
			if i > 0 && r.Offset <= rs[i-1].Offset {
				t.Errorf("records of %s out of order: %d after %d", k, r.Offset, rs[i-1].Offset)
			}
			key, err := base64.StdEncoding.DecodeString(r.Key)
			if err != nil {
				t.Errorf("key of %s@%d: %v", k, r.Offset, err)
			}
			val, err := base64.StdEncoding.DecodeString(r.Value)
			if err != nil {
				t.Errorf("value of %s@%d: %v", k, r.Offset, err)
			}
			out = append(out, got{coord{r.Topic, int32(r.Partition), r.Offset}, string(key), string(val)})
		}
	}
	slices.SortFunc(out, func(a, b got) int { return compareCoords(a.coord, b.coord) })
	return out
}

// function is a test function: it records every invocation and answers as
// respond says (nil: success).
type function struct {
	t       *testing.T
	respond func(n int, recs []got) (kafkabatch.Response, error)

	mu    sync.Mutex
	calls [][]got
}

// Handle is the function's Lambda handler.
func (f *function) Handle(ctx context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
	recs := flatten(f.t, &ev)
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, recs)
	f.mu.Unlock()
	if f.respond == nil {
		return kafkabatch.Response{}, nil
	}
	return f.respond(n, recs)
}

// invocations returns a copy of the calls so far.
func (f *function) invocations() [][]got {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// count returns how many times each record was delivered.
func (f *function) count() map[coord]int {
	out := make(map[coord]int)
	for _, c := range f.invocations() {
		for _, r := range c {
			out[r.coord]++
		}
	}
	return out
}

// contains reports whether recs holds the record at c.
func contains(recs []got, c coord) bool {
	return slices.ContainsFunc(recs, func(g got) bool { return g.coord == c })
}

// committed returns the group's committed offsets, by "topic-partition".
func committed(t *testing.T, c *kfake.Cluster, group string) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	os, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := make(map[string]int64)
	os.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			out[partitionKey(o.Topic, o.Partition)] = o.At
		}
	})
	return out
}

// readDir reads the failures a DirDestination wrote.
func readDir(t *testing.T, dir string) []*Failure {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	var out []*Failure
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f Failure
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, &f)
	}
	return out
}

// failedRecords returns the records of failures, checking each failure's
// metadata against its payload.
func failedRecords(t *testing.T, fs []*Failure) []got {
	t.Helper()
	var out []got
	for _, f := range fs {
		ev, err := f.Event()
		if err != nil {
			t.Fatal(err)
		}
		recs := flatten(t, &ev)
		if f.KafkaBatchInfo.BatchSize != len(recs) {
			t.Errorf("batchSize %d, payload has %d records", f.KafkaBatchInfo.BatchSize, len(recs))
		}
		if f.KafkaBatchInfo.PayloadSize != len(f.Payload) {
			t.Errorf("payloadSize %d, payload is %d bytes", f.KafkaBatchInfo.PayloadSize, len(f.Payload))
		}
		for k, ri := range f.KafkaBatchInfo.RecordsInfo {
			if len(ev.Records[k]) == 0 {
				t.Errorf("recordsInfo names %s, the payload has none of it", k)
				continue
			}
			rs := ev.Records[k]
			if ri.FirstRecordOffset != fmt.Sprint(rs[0].Offset) || ri.LastRecordOffset != fmt.Sprint(rs[len(rs)-1].Offset) {
				t.Errorf("recordsInfo[%s] = %+v, payload offsets %d..%d", k, ri, rs[0].Offset, rs[len(rs)-1].Offset)
			}
		}
		out = append(out, recs...)
	}
	return out
}

// fakeClock is a settable clock for record ages.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var testLogLevel = slog.LevelWarn
