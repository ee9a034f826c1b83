package inventory_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/inventory/internal/inventory"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// unknownPayload holds inventory and order events about a catalogued
// product (p-1), a catalogued product with no stock record (p-2), a
// product outside the catalogue (p-9), and records that are bad in any
// case: a negative restock, a zero adjustment, a negative count, an order
// line of no units, and a value that is not JSON.
func unknownPayload(t *testing.T) events.KafkaEvent {
	t.Helper()
	enc := func(e event.Event) string {
		v, err := event.AppendJSON(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	stock := func(tmpl string, args ...any) string {
		return fmt.Sprintf(`{"event_id":"%s","schema_version":1,"occurred_at":"2026-01-01T00:00:05Z","warehouse_id":"wh-01",`+tmpl+`}`, args...)
	}
	inv := []string{
		enc(counted("p-1", 10, 1)),
		enc(&event.Restocked{Envelope: env(event.TypeRestocked, "r-p-9", 2), Stock: event.Stock{ProductID: "p-9", WarehouseID: "wh-01"}, Quantity: 5}),
		stock(`"event_type":"restocked","product_id":"p-1","quantity":-3`, "neg-restock"),
		stock(`"event_type":"stock_adjusted","product_id":"p-1","change":0`, "zero-change"),
		stock(`"event_type":"stock_counted","product_id":"p-1","quantity":-1`, "neg-count"),
		`{"event_id": "broken`,
	}
	paid := func(o *event.Order) {
		total := event.FromCents(300)
		o.TotalAmount, o.Currency = &total, "USD"
	}
	o1, o2, s1, o3 := created("o-1", 3, items("p-1", 2, "p-9", 1)), created("o-2", 3, items("p-2", 1)),
		shipped("o-1", 4, items("p-1", 2, "p-9", 1)), created("o-3", 3, items("p-1", 1))
	for _, o := range []*event.Order{&o1.Order, &o2.Order, &s1.Order, &o3.Order} {
		paid(o)
	}
	tx := []string{enc(o1), enc(o2), enc(s1), strings.Replace(enc(o3), `"quantity":1`, `"quantity":0`, 1)}
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	for topic, vals := range map[string][]string{event.TopicInventory: inv, event.TopicTransactions: tx} {
		for i, v := range vals {
			ev.Records[topic+"-0"] = append(ev.Records[topic+"-0"], events.KafkaRecord{Topic: topic, Offset: int64(i),
				Key: base64.StdEncoding.EncodeToString([]byte("k")), Value: base64.StdEncoding.EncodeToString([]byte(v))})
		}
	}
	return ev
}

// deadLetters reads the letters a WriterSink wrote: reason and error by
// "topic@offset".
func deadLetters(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var l event.DeadLetter
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s@%d", l.Topic, l.Offset)] = string(l.Reason) + ": " + l.Error
	}
	return out
}

// TestUnknownProducts: with a catalogue and unknown products rejected,
// every record naming a product outside it is a dead letter with reason
// "rejected" and a message that says so (an order as a whole, with its
// later ship); records bad in any case are dead letters with the
// decoder's reason; a catalogued product without a stock record is
// accepted (its order is backordered). With the default rule, the unknown
// product's records are applied. A replayed batch changes nothing.
func TestUnknownProducts(t *testing.T) {
	t.Parallel()
	rules, err := inventory.LoadRules([]byte(`{"version": "t", "low_stock": 2, "products": {"p-1": {}, "p-2": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	always := map[string]string{
		"inventory_updates@2": "invalid_value", "inventory_updates@3": "invalid_value",
		"inventory_updates@4": "invalid_value", "inventory_updates@5": "not_json", "transactions@3": "invalid_value",
	}
	for _, tc := range []struct {
		name     string
		opts     []inventory.Option
		rejected []string
		products map[string][2]int64 // on hand, reserved
		orders   map[string]string
	}{
		{"reject", []inventory.Option{inventory.WithCatalog(rules.Known)},
			[]string{"inventory_updates@1", "transactions@0", "transactions@2"},
			map[string][2]int64{"p-1": {10, 0}, "p-2": {0, 1}},
			map[string]string{"o-2": inventory.StatusBackordered}},
		{"accept", nil, nil,
			map[string][2]int64{"p-1": {8, 0}, "p-2": {0, 1}, "p-9": {4, 0}},
			map[string]string{"o-1": inventory.StatusShipped, "o-2": inventory.StatusBackordered}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			h := inventory.New(store, nopAlerts{}, tc.opts...)
			var dl bytes.Buffer
			proc, err := kafkabatch.NewProcessor(inventory.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&dl)))
			if err != nil {
				t.Fatal(err)
			}
			ev := unknownPayload(t)
			if resp, err := proc.Process(context.Background(), ev); err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("%v %+v", err, resp)
			}
			letters := deadLetters(t, dl.Bytes())
			want := maps.Clone(always)
			for _, k := range tc.rejected {
				want[k] = "rejected"
			}
			if got := slices.Sorted(maps.Keys(letters)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
				t.Fatalf("dead letters %v, want %v", letters, want)
			}
			for k, reason := range want {
				if !strings.HasPrefix(letters[k], reason+": ") {
					t.Errorf("dead letter %s: %q, want reason %s", k, letters[k], reason)
				}
				if reason == "rejected" && !strings.Contains(letters[k], `product "p-9" is not in the catalogue`) {
					t.Errorf("dead letter %s does not say why: %q", k, letters[k])
				}
			}
			check := func() {
				t.Helper()
				for id, w := range tc.products {
					p := store.products[id]
					if p == nil {
						t.Fatalf("product %s missing", id)
					}
					var on, res int64
					for _, l := range p.Warehouses {
						on, res = on+l.OnHand, res+l.Reserved
					}
					if on != w[0] || res != w[1] {
						t.Errorf("%s: on hand %d reserved %d, want %v", id, on, res, w)
					}
				}
				if got := slices.Sorted(maps.Keys(store.products)); !slices.Equal(got, slices.Sorted(maps.Keys(tc.products))) {
					t.Errorf("products %v", got)
				}
				got := map[string]string{}
				for id, o := range store.orders {
					got[id] = o.Status
				}
				if !maps.Equal(got, tc.orders) {
					t.Errorf("orders %v, want %v", got, tc.orders)
				}
			}
			check()
			// The same batch again: nothing changes.
			if resp, err := proc.Process(context.Background(), ev); err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("replay: %v %+v", err, resp)
			}
			check()
		})
	}
}
