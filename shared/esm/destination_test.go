package esm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// stored is a failed record as a destination kept it.
type stored struct {
	got
	Condition Condition
	Invokes   int
	RequestID string
}

// destinationHarness is one Destination under the contract test, and how to
// read back what it stored.
type destinationHarness struct {
	dest Destination
	read func(t *testing.T, want int) []stored
}

// testDestinationContract is the contract every Destination passes: what
// Send stored is the failure's records, with its metadata.
func testDestinationContract(t *testing.T, newHarness func(t *testing.T) destinationHarness) {
	s, err := validConfig().validate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	recs := toRecs(fixtureRecords())
	a := &attempt{invokes: 3, requestID: "req-7", response: &ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"}}
	f := newFailure(s, s.payloadPrefix(), recs, RetryAttemptsExhausted, a, time.Now())

	t.Run("stores every record", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		if err := h.dest.Send(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		got := h.read(t, len(recs))
		slices.SortFunc(got, func(a, b stored) int { return compareCoords(a.coord, b.coord) })
		if len(got) != len(recs) {
			t.Fatalf("stored %d records, want %d", len(got), len(recs))
		}
		for i, r := range recs {
			g := got[i]
			if g.coord != (coord{r.r.Topic, r.r.Partition, r.r.Offset}) || g.Key != string(r.r.Key) || g.Value != string(r.r.Value) {
				t.Errorf("stored %+v, want %s-%d@%d key %q value %q", g.got, r.r.Topic, r.r.Partition, r.r.Offset, r.r.Key, r.r.Value)
			}
			if g.Condition != RetryAttemptsExhausted || g.Invokes != 3 || g.RequestID != "req-7" {
				t.Errorf("stored metadata %+v", g)
			}
		}
	})
	t.Run("honours ctx", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := h.dest.Send(ctx, f); !errors.Is(err, context.Canceled) {
			t.Errorf("Send with an ended context: %v, want context.Canceled", err)
		}
	})
}

func TestDirDestinationContract(t *testing.T) {
	t.Parallel()
	testDestinationContract(t, func(t *testing.T) destinationHarness {
		dir := t.TempDir()
		return destinationHarness{
			dest: NewDirDestination(dir),
			read: func(t *testing.T, _ int) []stored {
				var out []stored
				for _, f := range readDir(t, dir) {
					for _, g := range failedRecords(t, []*Failure{f}) {
						rc := f.RequestContext
						out = append(out, stored{g, rc.Condition, rc.ApproximateInvokeCount, rc.RequestID})
					}
				}
				return out
			},
		}
	})
}

func TestKafkaDestinationContract(t *testing.T) {
	t.Parallel()
	testDestinationContract(t, func(t *testing.T) destinationHarness {
		c, cl := newKafka(t, 3, "failures")
		return destinationHarness{
			dest: NewKafkaDestination(cl, "failures"),
			read: func(t *testing.T, want int) []stored { return consumeFailures(t, c, "failures", want) },
		}
	})
}

// consumeFailures reads want RecordFailures from topic, checking each.
func consumeFailures(t *testing.T, c *kfake.Cluster, topic string, want int) []stored {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []stored
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d on-failure records from %s, want %d", len(out), topic, want)
		}
		fs.EachRecord(func(m *kgo.Record) {
			var rf RecordFailure
			if err := json.Unmarshal(m.Value, &rf); err != nil {
				t.Fatalf("on-failure record: %v\n%s", err, m.Value)
			}
			recs := flatten(t, &rf.Payload)
			if len(recs) != 1 || rf.KafkaBatchInfo.BatchSize != 1 || rf.KafkaBatchInfo.RecordInfo == nil {
				t.Fatalf("on-failure record of %d records: %s", len(recs), m.Value)
			}
			r := recs[0]
			if string(m.Key) != r.Key {
				t.Errorf("message key %q, want the record's key %q", m.Key, r.Key)
			}
			if ri := rf.KafkaBatchInfo.RecordInfo; ri.Offset != jsonString(r.Offset) {
				t.Errorf("recordInfo %+v, record offset %d", ri, r.Offset)
			}
			if size, _ := json.Marshal(rf.Payload); rf.KafkaBatchInfo.PayloadSize != len(size) {
				t.Errorf("payloadSize %d, payload is %d bytes", rf.KafkaBatchInfo.PayloadSize, len(size))
			}
			rc := rf.RequestContext
			out = append(out, stored{r, rc.Condition, rc.ApproximateInvokeCount, rc.RequestID})
		})
	}
	return out
}

func jsonString(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestKafkaDestinationExactRecords runs a mapping whose function fails two
// records of two partitions: the destination topic ends up with exactly
// those two, keyed and valued as they were.
func TestKafkaDestinationExactRecords(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 2, "transactions", "transactions-dlt")
	produce(t, cl, append(records("transactions", 0, 0, 8), records("transactions", 1, 0, 8)...)...)
	poison := []coord{{"transactions", 0, 2}, {"transactions", 1, 5}}
	f := poisonFunction(t, poison...)
	cfg := baseConfig(c, "transactions")
	cfg.BisectBatchOnError, cfg.RetryAttempts = true, new(0)
	cfg.OnFailure = NewKafkaDestination(cl, "transactions-dlt")
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m)

	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(context.Background(), "transactions-dlt")
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != 2 {
		t.Errorf("the destination topic holds %d messages, want 2", total)
	}
	got := consumeFailures(t, c, "transactions-dlt", 2)
	slices.SortFunc(got, func(a, b stored) int { return compareCoords(a.coord, b.coord) })
	for i, p := range poison {
		g := got[i]
		if g.coord != p || g.Key != "key-"+jsonString(p.Offset) || g.Value != "transactions/"+jsonString(int64(p.Partition))+"/"+jsonString(p.Offset) {
			t.Errorf("destination record %d: %+v, want %s", i, g.got, p)
		}
		if g.Condition != RetryAttemptsExhausted || g.Invokes < 1 {
			t.Errorf("destination record %d: condition %s after %d invocations", i, g.Condition, g.Invokes)
		}
	}
	if st := m.Stats(); st.SentToDestination != 2 || st.Succeeded != 14 {
		t.Errorf("stats %+v", st)
	}
}

// failingDestination fails its first Sends.
type failingDestination struct {
	Destination
	fails int
	calls int
}

func (d *failingDestination) Send(ctx context.Context, f *Failure) error {
	d.calls++
	if d.calls <= d.fails {
		return errors.New("bucket unavailable")
	}
	return d.Destination.Send(ctx, f)
}

// TestDestinationErrorsRetried: records are committed only once the
// destination took them.
func TestDestinationErrorsRetried(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "restocks")
	produce(t, cl, records("restocks", 0, 0, 3)...)
	dir := t.TempDir()
	dest := &failingDestination{Destination: NewDirDestination(dir), fails: 3}
	cfg := baseConfig(c, "restocks")
	cfg.BatchSize, cfg.RetryAttempts, cfg.OnFailure = 1, new(0), dest
	m, _ := newMapping(t, cfg, NewHandlerInvoker(poisonFunction(t, coord{"restocks", 0, 1}).Handle))
	drain(t, m)
	if failed := failedRecords(t, readDir(t, dir)); len(failed) != 1 || failed[0].Offset != 1 || dest.calls != 4 {
		t.Errorf("destination holds %v after %d sends", failed, dest.calls)
	}
	if off := committed(t, c, m.ConsumerGroupID())["restocks-0"]; off != 3 {
		t.Errorf("committed %d, want 3", off)
	}
}

// TestFailureRecordsKeepKeys checks Records on a failure whose records have
// and have not a key.
func TestFailureRecordsKeepKeys(t *testing.T) {
	t.Parallel()
	s, err := validConfig().validate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := newFailure(s, s.payloadPrefix(), toRecs(fixtureRecords()), RecordAgeExceeded, &attempt{}, time.Now())
	rfs, err := f.Records()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, rf := range rfs {
		keys = append(keys, rf.record.Key)
	}
	if want := []string{base64.StdEncoding.EncodeToString([]byte("prod001")), "", ""}; !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if f.ResponseContext != nil || f.RequestContext.RequestID == "" || f.RequestContext.ApproximateInvokeCount != 0 {
		t.Errorf("a failure of records never sent: %+v %+v", f.RequestContext, f.ResponseContext)
	}
}
