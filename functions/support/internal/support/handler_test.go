package support_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/support/internal/support"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// interleave delivers the log in batches of random size whose records come
// from the partitions in a random interleaving: every partition in offset
// order, as the event source mapping guarantees, and nothing else.
func interleave(l *kafkaLog, rng *rand.Rand) []events.KafkaEvent {
	pos := map[string]int{}
	var out []events.KafkaEvent
	for {
		ev := events.KafkaEvent{Records: map[string][]events.KafkaRecord{}}
		size := 1 + rng.IntN(400)
		for range size {
			var open []string
			for _, tp := range l.Parts {
				if pos[tp] < len(l.Records[tp]) {
					open = append(open, tp)
				}
			}
			if len(open) == 0 {
				break
			}
			tp := open[rng.IntN(len(open))]
			ev.Records[tp] = append(ev.Records[tp], l.Records[tp][pos[tp]])
			pos[tp]++
		}
		if len(ev.Records) == 0 {
			return out
		}
		out = append(out, ev)
	}
}

// TestArrivalOrderIndependent: whatever the interleaving of the partitions
// of both topics and whatever the batch sizes, the final ratings, cases and
// alerts equal the truth (an in-memory store of the same semantics).
func TestArrivalOrderIndependent(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, feedbackTraffic, 20000)
	checkRun(t, truth)
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			store, alerts := newMemStore(), &memAlerts{}
			proc, err := kafkabatch.NewProcessor(support.Name, support.New(store, alerts),
				kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(io.Discard)))
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range interleave(l, rand.New(rand.NewPCG(seed, 99))) {
				if resp, err := proc.Process(context.Background(), ev); err != nil || len(resp.BatchItemFailures) > 0 {
					t.Fatalf("%v %+v", err, resp)
				}
			}
			ratings, cases := store.state()
			for _, d := range support.CompareState(ratings, cases, &truth.Support) {
				t.Error(d)
			}
			high := 0
			for _, c := range cases {
				if c.Priority == support.PriorityHigh {
					high++
					if alerts.byID[c.AlertID] == nil {
						t.Errorf("no alert for case %s", c.ID)
					}
				}
			}
			if len(alerts.byID) != high {
				t.Errorf("%d alerts for %d high-priority cases", len(alerts.byID), high)
			}
		})
	}
}

var t0 = time.Date(2026, 3, 14, 21, 3, 55, 0, time.UTC)

func env(id string, typ event.Type, at time.Duration) event.Envelope {
	return event.Envelope{EventID: id, EventType: typ, SchemaVersion: 1, OccurredAt: t0.Add(at)}
}

func record(t *testing.T, topic string, offset int64, e event.Event) events.KafkaRecord {
	t.Helper()
	v, err := event.AppendJSON(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	return events.KafkaRecord{Topic: topic, Offset: offset, Key: base64.StdEncoding.EncodeToString([]byte(e.Key())),
		Value: base64.StdEncoding.EncodeToString(v)}
}

// TestFeedbackBeforeOrder: a low rating of an order whose transactions
// arrive later opens the case without context and counts under the unknown
// category; the order_created that follows completes the case and moves
// the rating to the product's category. A second mention of the order
// joins the same case, and a feedback without an order opens its own case.
func TestFeedbackBeforeOrder(t *testing.T) {
	t.Parallel()
	store, alerts := newMemStore(), &memAlerts{}
	h := support.New(store, alerts)
	proc, err := kafkabatch.NewProcessor(support.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(io.Discard)))
	if err != nil {
		t.Fatal(err)
	}
	run := func(recs ...events.KafkaRecord) {
		t.Helper()
		ev := events.KafkaEvent{Records: map[string][]events.KafkaRecord{}}
		for _, r := range recs {
			tp := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
			ev.Records[tp] = append(ev.Records[tp], r)
		}
		if resp, err := proc.Process(context.Background(), ev); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("%v %+v", err, resp)
		}
	}
	fb := &event.Feedback{Envelope: env("e-fb-1", event.TypeFeedback, time.Hour), UserID: "u-1", Rating: 2,
		Text: "The item arrived broken", OrderID: "o-1", ProductID: "p-1"}
	run(record(t, event.TopicFeedback, 0, fb))
	ratings, cases := store.state()
	hour := t0.Add(time.Hour).Truncate(time.Hour).Unix()
	unknown := support.RatingKey{Scope: support.ScopeCategory, Key: support.UnknownCategory, Hour: hour}
	if len(cases) != 1 || cases[0].ContextMissing != support.OrderNotSeen || ratings[unknown].Count != 1 {
		t.Fatalf("before the order: cases %+v, ratings %+v", cases, ratings)
	}
	total := event.Money(599800)
	created := &event.OrderCreated{Envelope: env("e-oc-1", event.TypeOrderCreated, 0), Order: event.Order{OrderID: "o-1", UserID: "u-1",
		Items: []event.Item{{ProductID: "p-1", Quantity: 2, Price: 299900, Category: "outdoor"}}, TotalAmount: &total, Currency: "USD", PaymentMethod: "card"}}
	run(record(t, event.TopicTransactions, 0, created))
	// A second mention (replayed once) and an order-less complaint.
	again := &event.Feedback{Envelope: env("e-fb-2", event.TypeFeedback, 2*time.Hour), UserID: "u-1", Rating: 1,
		Text: "Still no answer. Where is my refund?", OrderID: "o-1", ProductID: "p-1"}
	orderless := &event.Feedback{Envelope: env("e-fb-3", event.TypeFeedback, 2*time.Hour), UserID: "u-2", Rating: 4,
		Text: "My package never arrived."}
	run(record(t, event.TopicFeedback, 1, again), record(t, event.TopicFeedback, 2, again), record(t, event.TopicFeedback, 3, orderless))

	ratings, cases = store.state()
	if r := ratings[unknown]; !r.Zero() {
		t.Errorf("the unknown category still holds %+v", r)
	}
	outdoor := support.RatingKey{Scope: support.ScopeCategory, Key: "outdoor", Hour: hour}
	if r := ratings[outdoor]; r.Count != 1 || r.Sum != 2 || r.Dist != [5]int64{0, 1, 0, 0, 0} {
		t.Errorf("outdoor ratings %+v", r)
	}
	all2 := ratings[support.RatingKey{Scope: support.ScopeAll, Hour: t0.Add(2 * time.Hour).Truncate(time.Hour).Unix()}]
	if all2.Count != 2 || all2.Sum != 5 || all2.Mean() != 2.5 {
		t.Errorf("overall ratings of the second hour %+v", all2)
	}
	if len(cases) != 2 {
		t.Fatalf("%d cases, want 2: %+v", len(cases), cases)
	}
	byID := map[string]*support.Case{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	oc := byID["order-o-1"]
	if oc == nil || oc.Order == nil || oc.ContextMissing != "" || oc.Order.Items["p-1"].Category != "outdoor" ||
		*oc.Order.TotalCents != 5998 || len(oc.Feedback) != 2 || oc.Priority != support.PriorityHigh || oc.LowestRating != 1 ||
		!slices.Equal(oc.Reasons, []string{support.ReasonDamaged, support.ReasonLowRating, support.ReasonNoResponse, support.ReasonRefund}) {
		t.Errorf("order case %+v", oc)
	}
	fc := byID["feedback-e-fb-3"]
	if fc == nil || fc.ContextMissing != support.NoOrderID || fc.Priority != support.PriorityHigh ||
		!slices.Equal(fc.Reasons, []string{support.ReasonNotDelivered}) {
		t.Errorf("order-less case %+v", fc)
	}
	if len(alerts.byID) != 2 || alerts.byID[oc.AlertID] == nil || alerts.byID[fc.AlertID] == nil {
		t.Errorf("alerts %v", alerts.byID)
	}
}
