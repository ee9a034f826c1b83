package api_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/functions/inventory/api"
	"github.com/shopstream/shopstream/shared/dynamotest"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// TestLowStock runs a small generated run through the function, as the
// shopstream command builds it, with thresholds per product and per
// category, against DynamoDB Local; LowStock then returns exactly the
// product-warehouse pairs of the truth's final stock that are at or below
// their product's threshold, lowest available first, and at most limit.
func TestLowStock(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// p-00000 .. p-00009 have thresholds of their own; p-00010 .. p-00059
	// are in a category with a high one; the rest have the default.
	doc := `{"version": "test", "low_stock": 10, "categories": {"focus": {"low_stock": 60}, "plain": {}}, "products": {`
	for i := range 80 {
		switch {
		case i < 10:
			doc += fmt.Sprintf(`"p-%05d": {"low_stock": %d},`, i, 100+10*i)
		case i < 60:
			doc += fmt.Sprintf(`"p-%05d": {"category": "focus"},`, i)
		default:
			doc += fmt.Sprintf(`"p-%05d": {"category": "plain"},`, i)
		}
	}
	rules, err := api.LoadRules([]byte(doc[:len(doc)-1] + "}}"))
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, event.TopicInventoryAlerts, event.TopicDeadLetters))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	kafka, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer kafka.Close()
	client := dynamotest.Client(t)
	tables := api.Tables{Stock: dynamotest.TableName(t, "stock"), Orders: dynamotest.TableName(t, "orders"), Alerts: dynamotest.TableName(t, "alerts")}
	if err := api.CreateTables(ctx, client, tables); err != nil {
		t.Fatal(err)
	}
	// Before any event: nothing is low.
	if got, err := api.LowStock(ctx, client, tables, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty table: %v %v", got, err)
	}
	p, err := api.NewProcessor(api.Config{DynamoDB: client, Tables: tables, Kafka: kafka, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	l, truth := esmtest.Generate(t, generator.Config{Seed: 4}, 20_000, 2, event.TopicInventory, event.TopicTransactions)
	for _, ev := range l.LiveBatches(2000) {
		if resp, err := p.Process(ctx, ev); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("%v %+v", err, resp)
		}
	}
	if diffs := api.Verify(ctx, client, tables, truth); len(diffs) > 0 {
		t.Fatalf("final state differs from the truth: %v", diffs)
	}
	var want []api.StockLevel
	thresholds := map[int64]bool{}
	for _, s := range truth.Stock {
		thr := rules.Threshold(s.ProductID)
		if int64(s.Available) <= thr {
			want = append(want, api.StockLevel{ProductID: s.ProductID, WarehouseID: s.WarehouseID, OnHand: int64(s.OnHand),
				Reserved: int64(s.Reserved), Available: int64(s.Available), Threshold: thr, OutOfStock: s.Available <= 0})
			thresholds[thr] = true
		}
	}
	slices.SortFunc(want, func(a, b api.StockLevel) int {
		return cmp.Or(cmp.Compare(a.Available, b.Available), cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.WarehouseID, b.WarehouseID))
	})
	if len(want) < 5 || len(thresholds) < 3 || len(want) == len(truth.Stock) {
		t.Fatalf("%d of %d pairs low, %d distinct thresholds: the run does not test the read", len(want), len(truth.Stock), len(thresholds))
	}
	got, err := api.LowStock(ctx, client, tables, len(truth.Stock))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("LowStock returned %d pairs:\n%+v\nwant %d:\n%+v", len(got), got, len(want), want)
	}
	t.Logf("%d of %d product-warehouse pairs low", len(want), len(truth.Stock))
	if got, err := api.LowStock(ctx, client, tables, 3); err != nil || !slices.Equal(got, want[:3]) {
		t.Fatalf("limit 3: %+v %v, want %+v", got, err, want[:3])
	}
	// Then the lowest pair is restocked far above its threshold, and a
	// product that was not low is counted at zero: the first leaves the
	// list, the second heads it, out of stock.
	up, out := want[0], api.StockLevel{}
	for _, s := range truth.Stock {
		if int64(s.Available) > rules.Threshold(s.ProductID) && s.Reserved > 0 {
			out = api.StockLevel{ProductID: s.ProductID, WarehouseID: s.WarehouseID, Reserved: int64(s.Reserved),
				Available: -int64(s.Reserved), Threshold: rules.Threshold(s.ProductID), OutOfStock: true}
			break
		}
	}
	at := truth.LastEvent.Add(time.Second)
	recs := []events.KafkaRecord{}
	for i, e := range []event.Event{
		&event.Restocked{Envelope: event.Envelope{EventID: "late-restock", EventType: event.TypeRestocked, SchemaVersion: 1, OccurredAt: at},
			Stock: event.Stock{ProductID: up.ProductID, WarehouseID: up.WarehouseID}, Quantity: 1000},
		&event.StockCounted{Envelope: event.Envelope{EventID: "late-count", EventType: event.TypeStockCounted, SchemaVersion: 1, OccurredAt: at},
			Stock: event.Stock{ProductID: out.ProductID, WarehouseID: out.WarehouseID}, Quantity: 0},
	} {
		v, err := event.AppendJSON(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, events.KafkaRecord{Topic: event.TopicInventory, Partition: 9, Offset: int64(i),
			Key: base64.StdEncoding.EncodeToString([]byte(e.Key())), Value: base64.StdEncoding.EncodeToString(v)})
	}
	if resp, err := p.Process(ctx, esmtest.Payload(recs)); err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("%v %+v", err, resp)
	}
	want = append([]api.StockLevel{out}, want[1:]...)
	if got, err := api.LowStock(ctx, client, tables, len(truth.Stock)); err != nil || !slices.Equal(got, want) {
		t.Fatalf("after the restock and the count: %v\n%+v\nwant\n%+v", err, got, want)
	}
	if _, err := api.LowStock(ctx, client, tables, 0); err == nil {
		t.Fatal("limit 0 accepted")
	}
}
