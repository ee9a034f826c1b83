package esmtest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// TestBatchesDeliverEveryRecordInOrder walks a log, failing part of a
// partition now and then through the response, and checks that every record
// is delivered, each partition in offset order, and none is skipped.
func TestBatchesDeliverEveryRecordInOrder(t *testing.T) {
	l, _ := Generate(t, generator.Config{Seed: 5}, 5000, 3, event.TopicUserEvents, event.TopicTransactions)
	if l.Count == 0 || len(l.Parts) != 6 {
		t.Fatalf("log of %d records in %v", l.Count, l.Parts)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b := Batches{Log: l, Size: 300, Rand: rng, Lead: Alternate(5, event.TopicUserEvents, event.TopicTransactions)}
	next := map[string]int64{} // next offset owed per partition
	rewinds := 0
	for {
		ev, ok := b.Next()
		if !ok {
			break
		}
		var resp kafkabatch.Response
		n := 0
		for tp, recs := range ev.Records {
			n += len(recs)
			if recs[0].Offset > next[tp] {
				t.Fatalf("%s: batch starts at %d, offset %d never delivered", tp, recs[0].Offset, next[tp])
			}
			next[tp] = recs[len(recs)-1].Offset + 1
			if len(recs) > 1 && rng.IntN(4) == 0 { // fail from the middle on
				mid := recs[len(recs)/2].Offset
				resp.BatchItemFailures = append(resp.BatchItemFailures, kafkabatch.BatchItemFailure{
					ItemIdentifier: kafkabatch.ItemIdentifier{Partition: tp, Offset: mid}})
				next[tp] = mid
				rewinds++
			}
		}
		if n > 300 {
			t.Fatalf("batch of %d records, size 300", n)
		}
		if got := b.Commit(resp); got != len(resp.BatchItemFailures) {
			t.Fatalf("Commit counted %d failed partitions, want %d", got, len(resp.BatchItemFailures))
		}
	}
	for _, tp := range l.Parts {
		if want := int64(len(l.Records[tp])); next[tp] != want {
			t.Errorf("%s consumed to %d, want %d", tp, next[tp], want)
		}
	}
	if rewinds == 0 {
		t.Error("no partial failures were exercised")
	}
}

func TestGenerateRecords(t *testing.T) {
	l, _ := GenerateRecords(t, generator.Config{Seed: 5}, 700, 4, event.TopicTransactions)
	if l.Count != 700 {
		t.Fatalf("log holds %d records, want 700", l.Count)
	}
	for _, tp := range l.Parts {
		for i, r := range l.Records[tp] {
			if r.Topic != event.TopicTransactions || r.Offset != int64(i) || fmt.Sprintf("%s-%d", r.Topic, r.Partition) != tp {
				t.Fatalf("%s[%d] = %s-%d@%d", tp, i, r.Topic, r.Partition, r.Offset)
			}
		}
	}
}
