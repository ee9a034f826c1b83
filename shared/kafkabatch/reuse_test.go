package kafkabatch

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// snapshot renders what a handler and a dead-letter sink were handed, while
// they are allowed to look at it.
type snapshot struct{ lines []string }

func (s *snapshot) handler() HandlerFunc {
	return func(_ context.Context, b *Batch) error {
		for _, m := range b.Messages() {
			e, err := json.Marshal(m.Event)
			if err != nil {
				return err
			}
			s.lines = append(s.lines, fmt.Sprintf("%s-%d@%d key %q value %q headers %q event %s",
				m.Topic, m.Partition, m.Offset, m.Key, m.Value, m.Headers, e))
		}
		return nil
	}
}

func (s *snapshot) Send(_ context.Context, letters []*event.DeadLetter) error {
	for _, dl := range letters {
		b, err := json.Marshal(dl)
		if err != nil {
			return err
		}
		s.lines = append(s.lines, "letter "+string(b))
	}
	return nil
}

// reuseBatches returns payloads of generated traffic (bad records, producer
// shapes, headers) of growing and shrinking sizes, so that the memory of a
// batch serves larger and smaller ones.
func reuseBatches(t testing.TB) []events.KafkaEvent {
	t.Helper()
	g, err := generator.New(generator.Config{Seed: 5, LegacyShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	var out []events.KafkaEvent
	offset := int64(0)
	for _, n := range []int{50, 3 * minDecodeChunk, 10, 5 * minDecodeChunk, minDecodeChunk} {
		rs := make([]rec, n)
		for i := range rs {
			r := g.Next()
			rs[i] = rec{Topic: r.Topic, Partition: int32(i % 3), Offset: offset, Key: []byte(r.Key), Value: r.Value}
			if i%17 == 0 {
				rs[i].Headers = []event.RecordHeader{{Key: "trace", Value: []byte("t-" + strconv.Itoa(i))}}
			}
			if i%29 == 0 {
				rs[i].RawValue = "not base64!"
			}
			offset++
		}
		out = append(out, payload(0, rs...))
	}
	return out
}

// TestProcessRecordReuse: with record reuse on, the handler and the sink
// are handed, batch after batch, exactly what they are handed with it off.
func TestProcessRecordReuse(t *testing.T) {
	t.Parallel()
	batches := reuseBatches(t)
	run := func(reuse bool) string {
		s := &snapshot{}
		p := newTestProcessor(t, s.handler(), WithDeadLetterSink(s), WithRecordReuse(reuse))
		for i, ev := range batches {
			resp, st, err := p.ProcessWithStats(context.Background(), ev)
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("batch %d: %v %v", i, resp, err)
			}
			st.Duration = 0
			s.lines = append(s.lines, fmt.Sprintf("stats %+v", st))
		}
		return strings.Join(s.lines, "\n")
	}
	off, on := run(false), run(true)
	if on != off {
		a, b := strings.Split(on, "\n"), strings.Split(off, "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("line %d with reuse:\n%s\nwithout:\n%s", i, a[i], b[i])
			}
		}
		t.Fatalf("%d lines with reuse, %d without", len(a), len(b))
	}
	if !strings.Contains(on, "event {") || !strings.Contains(on, "letter {") {
		t.Fatal("the batches have no valid records or no bad ones")
	}
}

// TestProcessRecordReuseAllocations: with reuse on, a batch allocates a
// fraction of the bytes it does with reuse off. (Not parallel: it counts
// allocations.)
func TestProcessRecordReuseAllocations(t *testing.T) {
	g, err := generator.New(generator.Config{Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	rs := make([]rec, 2*minDecodeChunk)
	for i := range rs {
		r := g.Next()
		rs[i] = rec{Topic: "t", Partition: int32(i % 2), Offset: int64(i), Key: []byte(r.Key), Value: r.Value}
	}
	ev := payload(0, rs...)
	allocated := func(reuse bool) uint64 {
		p := newTestProcessor(t, HandlerFunc(func(context.Context, *Batch) error { return nil }),
			WithDeadLetterSink(&memorySink{}), WithRecordReuse(reuse))
		const runs = 5
		var before, after runtime.MemStats
		for i := range runs + 1 {
			if i == 1 { // the first batch makes the memory the others reuse
				runtime.ReadMemStats(&before)
			}
			if _, err := p.Process(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	on, off := allocated(true), allocated(false)
	t.Logf("bytes allocated per batch of %d records: %d with reuse, %d without", len(rs), on, off)
	if on > off/4 {
		t.Errorf("%d bytes allocated per batch with reuse, %d without", on, off)
	}
}
