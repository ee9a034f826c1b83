package lake

import (
	"context"
	"encoding/base64"
	"errors"
	"hash/fnv"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/generator"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// placed is a generated record at its Kafka coordinates.
type placed struct {
	rec       generator.Record
	partition int32
	offset    int64
}

// generate returns n generated records placed on partitions partitions per
// topic by their key, as a Kafka producer's hash partitioner would, and the
// truth.
func generate(tb testing.TB, cfg generator.Config, n, partitions int) ([]placed, *generator.Truth) {
	tb.Helper()
	g, err := generator.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	next := map[string]int64{}
	out := make([]placed, n)
	for i := range out {
		r := g.Next()
		h := fnv.New32a()
		h.Write([]byte(r.Key))
		p := int32(h.Sum32() % uint32(partitions))
		tp := r.Topic + "-" + strconv.Itoa(int(p))
		out[i] = placed{rec: r, partition: p, offset: next[tp]}
		next[tp]++
	}
	return out, g.Truth()
}

// batches cuts the records, in production order, into event source mapping
// payloads of size records each.
func batches(recs []placed, size int) []events.KafkaEvent {
	var out []events.KafkaEvent
	for start := 0; start < len(recs); start += size {
		out = append(out, payload(recs[start:min(start+size, len(recs))]))
	}
	return out
}

func payload(recs []placed) events.KafkaEvent {
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	for _, p := range recs {
		tp := p.rec.Topic + "-" + strconv.Itoa(int(p.partition))
		ev.Records[tp] = append(ev.Records[tp], events.KafkaRecord{
			Topic: p.rec.Topic, Partition: int64(p.partition), Offset: p.offset,
			Timestamp:     events.MilliSecondsEpochTime{Time: p.rec.Time},
			TimestampType: "CREATE_TIME",
			Key:           base64.StdEncoding.EncodeToString([]byte(p.rec.Key)),
			Value:         base64.StdEncoding.EncodeToString(p.rec.Value),
		})
	}
	return ev
}

// flakyStore fails every Put after the first okPuts, until healed.
type flakyStore struct {
	lakefmt.Store
	okPuts atomic.Int64
	broken atomic.Bool
}

var errFlaky = errors.New("injected store failure")

func (s *flakyStore) Put(ctx context.Context, key string, body []byte, meta map[string]string) error {
	if s.broken.Load() && s.okPuts.Add(-1) < 0 {
		return errFlaky
	}
	return s.Store.Put(ctx, key, body, meta)
}

// nullStore discards objects, counting their bytes.
type nullStore struct{ bytes, objects atomic.Int64 }

func (s *nullStore) Put(_ context.Context, _ string, body []byte, _ map[string]string) error {
	s.bytes.Add(int64(len(body)))
	s.objects.Add(1)
	return nil
}

var testStart = time.Date(2026, 1, 1, 22, 30, 0, 0, time.UTC)
