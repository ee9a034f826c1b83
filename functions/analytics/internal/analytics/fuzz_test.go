package analytics

import (
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// FuzzFold folds whatever the decoder accepts: Fold never panics, accounts
// for every record once, and keeps the watermark at the last offset.
func FuzzFold(f *testing.F) {
	g, err := generator.New(generator.Config{Seed: 2, LegacyShare: 0.3})
	if err != nil {
		f.Fatal(err)
	}
	for range 300 {
		r := g.Next()
		if r.Topic == event.TopicUserEvents || r.Topic == event.TopicTransactions {
			f.Add(r.Value, r.Value)
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var msgs []*kafkabatch.Message
		for i, v := range [][]byte{a, b, a} {
			m := &kafkabatch.Message{Record: kafkabatch.Record{Topic: event.TopicUserEvents, Offset: int64(i), Value: v}}
			e, err := event.Decode(v, m.Source())
			if err != nil {
				continue
			}
			m.Event = e
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			return
		}
		d := Fold(msgs, map[Partition]Mark{{event.TopicUserEvents, 0}: {Offset: 0}}, time.Hour)
		if d.Applied+len(d.Rejected)+d.Skipped != len(msgs) || d.Skipped > 1 {
			t.Fatalf("%d messages: applied %d, rejected %d, skipped %d", len(msgs), d.Applied, len(d.Rejected), d.Skipped)
		}
		if mk := d.Marks[Partition{event.TopicUserEvents, 0}]; mk.Offset != msgs[len(msgs)-1].Offset {
			t.Fatalf("watermark %d, last offset %d", mk.Offset, msgs[len(msgs)-1].Offset)
		}
		for _, u := range d.Sessions {
			if _, wr := MergeSessions(u.User, nil, u.Points); len(wr) == 0 {
				t.Fatalf("user %s: %d events, no session", u.User, len(u.Points))
			}
		}
	})
}
