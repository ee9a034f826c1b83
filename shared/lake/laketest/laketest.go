// Package laketest fills a lake with generated traffic for tests, as the
// lake function would write it: good events to their tables, in batches of
// a given size, so that each partition holds many small files; and, when
// asked, the alerts the fraud, inventory and support functions would raise
// on that traffic.
package laketest

import (
	"context"
	"fmt"
	"hash/fnv"
	"testing"
	"time"

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
	// Alerts adds, after the traffic, a fraud alert for every order of an
	// injected fraud pattern (rules, decision and score after its pattern),
	// and for some orders an inventory alert and a support alert: rows of
	// every kind for the alerts table, in the hours of the traffic.
	Alerts bool
	// Observe, when set, is called with every record written, in order.
	Observe func(lake.Record)
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
	orders := map[string]*event.OrderCreated{}
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
		rec := lake.Record{Event: e, Topic: k.topic, Partition: k.part, Offset: off, Timestamp: r.Time}
		if o.Observe != nil {
			o.Observe(rec)
		}
		if oc, ok := e.(*event.OrderCreated); ok && o.Alerts {
			orders[oc.OrderID] = oc
		}
		batch = append(batch, rec)
		if len(batch) == o.BatchSize {
			flush()
		}
	}
	flush()
	truth := g.Truth()
	if !o.Alerts {
		return truth
	}
	for i, a := range alerts(truth, orders) {
		m := a.Meta()
		k := tp{m.EventType.Topic(), int32(i % o.Partitions)}
		rec := lake.Record{Event: a, Topic: k.topic, Partition: k.part, Offset: next[k], Timestamp: m.OccurredAt}
		next[k]++
		if err := a.Validate(); err != nil {
			tb.Fatalf("alert %s: %v", m.EventID, err)
		}
		if o.Observe != nil {
			o.Observe(rec)
		}
		batch = append(batch, rec)
		if len(batch) == o.BatchSize {
			flush()
		}
	}
	flush()
	return truth
}

// patternRules are the rules of the fraud function that flag each pattern.
var patternRules = map[string][]string{
	"card_testing":      {"card_testing", "velocity"},
	"velocity_burst":    {"velocity"},
	"impossible_travel": {"impossible_travel", "account_change"},
	"amount_spike":      {"amount"},
	"card_sharing":      {"accounts_per_card", "cards_per_account"},
	"account_takeover":  {"account_change", "amount", "impossible_travel"},
}

// alerts returns the alerts raised on the traffic: a fraud alert for each
// labelled order, and an inventory alert and a support alert for every
// tenth order seen, each a second after the order.
func alerts(truth *generator.Truth, orders map[string]*event.OrderCreated) []event.Event {
	var out []event.Event
	for i, l := range truth.Fraud {
		oc := orders[l.OrderID]
		if oc == nil || oc.UserID == "" {
			continue
		}
		a := event.New(event.TypeFraudAlert).(*event.FraudAlert)
		a.EventID, a.OccurredAt = fmt.Sprintf("fa-%06d", i), oc.OccurredAt.Add(time.Second)
		a.OrderID, a.UserID, a.RuleVersion, a.CardFingerprint = oc.OrderID, oc.UserID, "rules-test.1", oc.CardFingerprint
		for j, rule := range patternRules[l.Pattern] {
			a.Reasons = append(a.Reasons, event.FraudReason{Rule: rule, Score: float64(60 - 15*j + i%7), Detail: l.Pattern})
			a.Score += a.Reasons[j].Score
		}
		a.Score = min(a.Score, 100)
		a.Decision = "review"
		if a.Score >= 80 {
			a.Decision = "decline"
		}
		out = append(out, a)
	}
	n := 0
	for _, l := range truth.OrderStates {
		oc := orders[l.OrderID]
		if oc == nil || oc.UserID == "" || len(oc.Items) == 0 {
			continue
		}
		if n++; n%10 != 0 {
			continue
		}
		at := oc.OccurredAt.Add(time.Second)
		ia := event.New(event.TypeInventoryAlert).(*event.InventoryAlert)
		ia.EventID, ia.OccurredAt = fmt.Sprintf("ia-%06d", n), at
		ia.ProductID, ia.Kind, ia.Available, ia.OrderID = oc.Items[0].ProductID, "low_stock", n%5, oc.OrderID
		sa := event.New(event.TypeSupportAlert).(*event.SupportAlert)
		sa.EventID, sa.OccurredAt = fmt.Sprintf("sa-%06d", n), at
		sa.CaseID, sa.OrderID, sa.UserID, sa.Priority = "order-"+oc.OrderID, oc.OrderID, oc.UserID, "high"
		sa.Reasons, sa.LowestRating = []string{"low_rating", "not_delivered"}, 1+n%2
		out = append(out, ia, sa)
	}
	return out
}
