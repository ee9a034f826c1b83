// Package laketest fills a lake with generated traffic for tests, as the
// lake function would write it: good events to their tables, in batches of
// a given size, so that each partition holds many small files.
package laketest

import (
	"context"
	"hash/fnv"
	"testing"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/lake"
)

// Options say what to write.
type Options struct {
	// Config configures the generator; bad records are never written (set
	// NoBad to keep them out of the truth).
	Config generator.Config
	// Events is how many records to generate.
	Events int
	// Partitions per topic; default 3.
	Partitions int
	// BatchSize is the records per Writer.Write, as an event source
	// mapping's batch; default 100.
	BatchSize int
	// Prefix is the lake's key prefix; default none.
	Prefix string
}

// Write generates o.Events records, places them on o.Partitions partitions
// per topic by key (offsets counting from 0), writes the good ones to store
// in batches, and returns the generator's truth.
func Write(tb testing.TB, store lake.Store, o Options) *generator.Truth {
	tb.Helper()
	if o.Partitions < 1 {
		o.Partitions = 3
	}
	if o.BatchSize < 1 {
		o.BatchSize = 100
	}
	g, err := generator.New(o.Config)
	if err != nil {
		tb.Fatal(err)
	}
	w := lake.NewWriter(store, lake.WithPrefix(o.Prefix), lake.WithConcurrency(4))
	type tp struct {
		topic string
		part  int32
	}
	next := map[tp]int64{}
	var batch []lake.Record
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := w.Write(context.Background(), batch); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for range o.Events {
		r := g.Next()
		h := fnv.New32a()
		h.Write([]byte(r.Key))
		k := tp{r.Topic, int32(h.Sum32() % uint32(o.Partitions))}
		off := next[k]
		next[k]++
		if r.Bad != nil {
			continue
		}
		e, err := event.Decode(r.Value, event.Source{Topic: k.topic, Partition: k.part, Offset: off})
		if err != nil {
			tb.Fatalf("a good generated record does not decode: %v", err)
		}
		batch = append(batch, lake.Record{Event: e, Topic: k.topic, Partition: k.part, Offset: off, Timestamp: r.Time})
		if len(batch) == o.BatchSize {
			flush()
		}
	}
	flush()
	return g.Truth()
}
