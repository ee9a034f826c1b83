// Package esmtest gives handler tests generated traffic as the function's
// topics hold it (records partitioned by key, offsets per partition) and
// walks it in batches the way an event source mapping does: batches that
// mix partitions, one topic running ahead of the others for a while,
// positions advanced as the function's partial batch response says.
package esmtest

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Log is generated traffic as Kafka holds it.
type Log struct {
	// Parts are the "topic-partition" names, sorted.
	Parts []string
	// Records are each partition's records, at offsets 0, 1, ...
	Records map[string][]events.KafkaRecord
	// Count is the number of records in the log.
	Count int

	partitions uint32
	topics     []string
}

// NewLog returns an empty log of these topics, each with partitions
// partitions.
func NewLog(partitions int, topics ...string) *Log {
	return &Log{Records: map[string][]events.KafkaRecord{}, partitions: uint32(partitions), topics: topics}
}

// Add appends r to its partition (a hash of its key, as Kafka's default
// partitioner spreads keys) if r is on one of the log's topics, and reports
// whether it did.
func (l *Log) Add(r generator.Record) bool {
	if !slices.Contains(l.topics, r.Topic) {
		return false
	}
	h := fnv.New32a()
	h.Write([]byte(r.Key))
	p := int64(h.Sum32() % l.partitions)
	tp := fmt.Sprintf("%s-%d", r.Topic, p)
	if _, ok := l.Records[tp]; !ok {
		i, _ := slices.BinarySearch(l.Parts, tp)
		l.Parts = slices.Insert(l.Parts, i, tp)
	}
	l.Records[tp] = append(l.Records[tp], events.KafkaRecord{
		Topic: r.Topic, Partition: p, Offset: int64(len(l.Records[tp])),
		Timestamp:     events.MilliSecondsEpochTime{Time: r.Time},
		TimestampType: "CREATE_TIME",
		Key:           base64.StdEncoding.EncodeToString([]byte(r.Key)),
		Value:         base64.StdEncoding.EncodeToString(r.Value),
	})
	l.Count++
	return true
}

// Generate draws n records from a generator for cfg and keeps those of
// topics, spread over partitions.
func Generate(t testing.TB, cfg generator.Config, n, partitions int, topics ...string) (*Log, *generator.Truth) {
	t.Helper()
	return generate(t, cfg, partitions, topics, func(drawn int, _ *Log) bool { return drawn < n })
}

// GenerateRecords draws records until the log holds n records of topics.
func GenerateRecords(t testing.TB, cfg generator.Config, n, partitions int, topics ...string) (*Log, *generator.Truth) {
	t.Helper()
	return generate(t, cfg, partitions, topics, func(_ int, l *Log) bool { return l.Count < n })
}

func generate(t testing.TB, cfg generator.Config, partitions int, topics []string, more func(drawn int, l *Log) bool) (*Log, *generator.Truth) {
	t.Helper()
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLog(partitions, topics...)
	for drawn := 0; more(drawn, l); drawn++ {
		l.Add(g.Next())
	}
	return l, g.Truth()
}

// FromEvent is the log of one payload's records.
func FromEvent(ev events.KafkaEvent) *Log {
	l := &Log{Records: map[string][]events.KafkaRecord{}}
	for tp, rs := range ev.Records {
		l.Parts = append(l.Parts, tp)
		l.Records[tp] = rs
		l.Count += len(rs)
	}
	sort.Strings(l.Parts)
	return l
}

// Filter is the part of l on the partitions keep selects (by name and
// records); the records are shared, not copied.
func (l *Log) Filter(keep func(tp string, rs []events.KafkaRecord) bool) *Log {
	out := &Log{Records: map[string][]events.KafkaRecord{}, partitions: l.partitions, topics: l.topics}
	for _, tp := range l.Parts {
		if rs := l.Records[tp]; keep(tp, rs) {
			out.Parts = append(out.Parts, tp)
			out.Records[tp] = rs
			out.Count += len(rs)
		}
	}
	return out
}

// Only is the part of l on topic.
func (l *Log) Only(topic string) *Log {
	return l.Filter(func(tp string, _ []events.KafkaRecord) bool { return strings.HasPrefix(tp, topic+"-") })
}

// LiveBatches cuts the log into payloads of size records in event-time
// order across partitions, each partition's records in offset order: what a
// mapping reading live traffic delivers.
func (l *Log) LiveBatches(size int) []events.KafkaEvent {
	var all []events.KafkaRecord
	for _, tp := range l.Parts {
		all = append(all, l.Records[tp]...)
	}
	slices.SortStableFunc(all, func(a, b events.KafkaRecord) int { return a.Timestamp.Compare(b.Timestamp.Time) })
	var out []events.KafkaEvent
	for chunk := range slices.Chunk(all, size) {
		out = append(out, Payload(chunk))
	}
	return out
}

// Payload makes one payload of records, grouped by partition, each
// partition's in offset order.
func Payload(recs []events.KafkaRecord) events.KafkaEvent {
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	for _, r := range recs {
		tp := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
		ev.Records[tp] = append(ev.Records[tp], r)
	}
	for tp := range ev.Records {
		slices.SortFunc(ev.Records[tp], func(a, b events.KafkaRecord) int { return int(a.Offset - b.Offset) })
	}
	return ev
}

// Batches walks a log in batches. The zero value is not usable: set Log,
// Size and Rand.
type Batches struct {
	Log *Log
	// Size bounds the records of one batch.
	Size int
	Rand *rand.Rand
	// Lead names the topic running ahead in a round (0, 1, ...): its
	// partitions get three times their share of a batch, the others a
	// Behind-th of it. nil lets every partition take its share.
	Lead func(round int) string
	// Behind divides the share of the partitions not ahead; default 3.
	Behind int

	round      int
	pos, start map[string]int
	end        map[string]int
}

// Alternate returns a Lead that gives each topic the lead for every rounds
// in turn.
func Alternate(every int, topics ...string) func(round int) string {
	return func(round int) string { return topics[(round/every)%len(topics)] }
}

// Next returns the next batch from the current positions, taking a random
// share of each partition; false when the log is consumed.
func (b *Batches) Next() (events.KafkaEvent, bool) {
	if b.pos == nil {
		b.pos = map[string]int{}
	}
	behind := b.Behind
	if behind == 0 {
		behind = 3
	}
	lead := ""
	if b.Lead != nil {
		lead = b.Lead(b.round)
	}
	b.round++
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	b.start, b.end = map[string]int{}, map[string]int{}
	left := b.Size
	for _, tp := range b.Log.Parts {
		share := b.Size / len(b.Log.Parts)
		if lead != "" {
			if strings.HasPrefix(tp, lead+"-") {
				share *= 3
			} else {
				share /= behind
			}
		}
		recs, at := b.Log.Records[tp], b.pos[tp]
		take := min(len(recs)-at, 1+b.Rand.IntN(max(1, share)), left)
		if take <= 0 {
			continue
		}
		ev.Records[tp] = recs[at : at+take]
		b.start[tp], b.end[tp] = at, at+take
		left -= take
	}
	return ev, len(ev.Records) > 0
}

// Commit advances every partition of the last batch past it, or to the
// offset resp names for it, and returns how many partitions resp failed.
func (b *Batches) Commit(resp kafkabatch.Response) int {
	failed := map[string]int64{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier.Partition] = f.ItemIdentifier.Offset
	}
	for tp, e := range b.end {
		if off, ok := failed[tp]; ok {
			b.pos[tp] = int(off)
		} else {
			b.pos[tp] = e
		}
	}
	return len(failed)
}

// Overlap moves about half the partitions of the last batch back to a
// random offset inside it, so that the next batch starts with records
// already delivered: a partial replay.
func (b *Batches) Overlap() {
	for tp, e := range b.end {
		if s := b.start[tp]; b.Rand.IntN(2) == 0 {
			b.pos[tp] = s + b.Rand.IntN(e-s)
		}
	}
}
