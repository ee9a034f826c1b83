package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// generate returns the first n records of a generator for cfg, and its truth.
func generate(t testing.TB, cfg Config, n int) ([]Record, *Truth) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = g.Next()
	}
	return recs, g.Truth()
}

func truthJSON(t testing.TB, tr *Truth) []byte {
	t.Helper()
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSameSeedSameRecords(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 42, LegacyShare: 0.2, BadRate: 0.05}
	a, ta := generate(t, cfg, 30000)
	b, tb := generate(t, cfg, 30000)
	for i := range a {
		if a[i].Topic != b[i].Topic || a[i].Key != b[i].Key || !bytes.Equal(a[i].Value, b[i].Value) {
			t.Fatalf("record %d differs between two runs with the same seed:\n%s\n%s", i, a[i].Value, b[i].Value)
		}
	}
	if !bytes.Equal(truthJSON(t, ta), truthJSON(t, tb)) {
		t.Fatal("truth differs between two runs with the same seed")
	}
	c, _ := generate(t, Config{Seed: 43, LegacyShare: 0.2, BadRate: 0.05}, 1000)
	same := 0
	for i := range c {
		if bytes.Equal(a[i].Value, c[i].Value) {
			same++
		}
	}
	if same == len(c) {
		t.Fatal("a different seed gave the same records")
	}
}

// TestDecoderAgrees checks every record against the decoder: good records
// decode to their type, bad records are refused with exactly the reason the
// truth gives, and the truth lists exactly the bad records.
func TestDecoderAgrees(t *testing.T) {
	t.Parallel()
	recs, truth := generate(t, Config{Seed: 7, LegacyShare: 0.25, BadRate: 0.05}, 60000)
	bad := map[int64]BadRecord{}
	for _, b := range truth.BadRecords {
		bad[b.Index] = b
	}
	kinds := map[string]int{}
	var good, legacy int
	for i, r := range recs {
		e, err := event.Decode(r.Value, event.Source{Topic: r.Topic, Offset: int64(i)})
		b, isBad := bad[int64(i)]
		if (r.Bad != nil) != isBad {
			t.Fatalf("record %d: bad=%v but the truth says bad=%v", i, r.Bad != nil, isBad)
		}
		if isBad {
			kinds[b.Kind]++
			if err == nil {
				t.Fatalf("record %d (%s) decoded without error: %.200s", i, b.Kind, r.Value)
			}
			if got := event.ReasonOf(err); got != b.Reason {
				t.Fatalf("record %d (%s): reason %q, truth says %q (%v)", i, b.Kind, got, b.Reason, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("good record %d (%s, shape %q) refused: %v\n%s", i, r.Type, r.Shape, err, r.Value)
		}
		good++
		if e.Meta().EventType != r.Type {
			t.Fatalf("record %d: decoded as %s, generated as %s", i, e.Meta().EventType, r.Type)
		}
		if e.Meta().Origin.Shape != r.Shape {
			t.Fatalf("record %d: decoded shape %q, generated %q", i, e.Meta().Origin.Shape, r.Shape)
		}
		if e.Key() != r.Key && r.Type != event.TypeMetric {
			t.Fatalf("record %d: key %q, event key %q", i, r.Key, e.Key())
		}
		if r.Shape != event.ShapeCanonical {
			legacy++
			// What the decoder recovers is what the truth was computed from.
			want := r.view
			want.Meta().EventID = e.Meta().EventID
			wb, _ := json.Marshal(want)
			gb, _ := json.Marshal(e)
			if !bytes.Equal(wb, gb) {
				t.Fatalf("record %d (%s): decoded\n%s\ntruth view\n%s", i, r.Shape, gb, wb)
			}
		}
	}
	if int64(len(truth.BadRecords)) != truth.Bad || truth.Bad == 0 || truth.Good != int64(good) {
		t.Fatalf("truth counts: bad %d (listed %d), good %d (seen %d)", truth.Bad, len(truth.BadRecords), truth.Good, good)
	}
	for kind := range BadKinds() {
		if kinds[kind] == 0 {
			t.Errorf("no bad record of kind %s in %d records", kind, len(recs))
		}
	}
	if legacy == 0 || int64(legacy) != truth.Legacy {
		t.Errorf("legacy records: %d seen, truth says %d", legacy, truth.Legacy)
	}
}

// TestAppendJSONMatchesEncodingJSON holds the fast encoder to encoding/json
// on every kind of event the generator makes.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	recs, _ := generate(t, Config{Seed: 3, BadRate: 0.01}, 120000)
	seen := map[event.Type]int{}
	for i, r := range recs {
		if r.Bad != nil || r.view == nil {
			continue
		}
		want, err := json.Marshal(r.view)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Value, want) {
			t.Fatalf("record %d (%s):\nAppendJSON    %s\nencoding/json %s", i, r.Type, r.Value, want)
		}
		seen[r.Type]++
	}
	for _, typ := range []event.Type{event.TypePageView, event.TypeProductView, event.TypeClick, event.TypeSearch,
		event.TypeAddToCart, event.TypeRemoveFromCart, event.TypeOrderCreated, event.TypePaymentAuthorized,
		event.TypePaymentFailed, event.TypeOrderShipped, event.TypeOrderCancelled, event.TypeRefundIssued,
		event.TypeStockAdjusted, event.TypeRestocked, event.TypeShipmentReceived, event.TypeStockCounted, event.TypeFeedback} {
		if seen[typ] == 0 {
			t.Errorf("no %s among the generated records", typ)
		}
	}
}

// TestTruthStock replays the decoded records through a plain stock model,
// in order, and compares with the truth.
func TestTruthStock(t *testing.T) {
	t.Parallel()
	recs, truth := generate(t, Config{Seed: 11, LegacyShare: 0.3}, 80000)
	type level struct{ onHand, reserved int }
	stock := map[[2]string]*level{}
	home := map[string]string{} // product -> warehouse, learnt from events
	orders := map[string][]event.Item{}
	shipped := map[string]bool{}
	closed := map[string]bool{}
	at := func(p, w string) *level {
		if w == "" {
			w = home[p]
		}
		if w == "" {
			t.Fatalf("no warehouse known for %s", p)
		}
		home[p] = w
		k := [2]string{p, w}
		if stock[k] == nil {
			stock[k] = &level{}
		}
		return stock[k]
	}
	for i, r := range recs {
		if r.Bad != nil {
			continue
		}
		e, err := event.Decode(r.Value, event.Source{Topic: r.Topic, Offset: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		switch e := e.(type) {
		case *event.StockCounted:
			at(e.ProductID, e.WarehouseID).onHand = e.Quantity
		case *event.StockAdjusted:
			at(e.ProductID, e.WarehouseID).onHand += e.Change
		case *event.Restocked:
			at(e.ProductID, e.WarehouseID).onHand += e.Quantity
		case *event.ShipmentReceived:
			at(e.ProductID, e.WarehouseID).onHand += e.Quantity
		case *event.OrderCreated:
			orders[e.OrderID] = e.Items
			for _, it := range e.Items {
				at(it.ProductID, "").reserved += it.Quantity
			}
		case *event.OrderShipped:
			shipped[e.OrderID] = true
			for _, it := range orders[e.OrderID] {
				l := at(it.ProductID, "")
				l.onHand -= it.Quantity
				l.reserved -= it.Quantity
			}
		case *event.OrderCancelled:
			if !shipped[e.OrderID] && !closed[e.OrderID] {
				closed[e.OrderID] = true
				for _, it := range orders[e.OrderID] {
					at(it.ProductID, "").reserved -= it.Quantity
				}
			}
		case *event.RefundIssued:
			if e.Restock {
				for _, it := range orders[e.OrderID] {
					at(it.ProductID, "").onHand += it.Quantity
				}
			}
		}
	}
	if len(truth.Stock) != len(stock) {
		t.Fatalf("truth has %d stock rows, replay %d", len(truth.Stock), len(stock))
	}
	var reserved, moved int
	for _, s := range truth.Stock {
		l := stock[[2]string{s.ProductID, s.WarehouseID}]
		if l == nil || l.onHand != s.OnHand || l.reserved != s.Reserved || s.Available != s.OnHand-s.Reserved {
			t.Fatalf("stock %s/%s: truth %+v, replay %+v", s.ProductID, s.WarehouseID, s, l)
		}
		if s.Available < 0 || s.Reserved < 0 {
			t.Fatalf("stock %s/%s oversold in the truth: %+v", s.ProductID, s.WarehouseID, s)
		}
		reserved += s.Reserved
		moved += s.OnHand
	}
	if reserved == 0 || len(shipped) == 0 {
		t.Fatalf("implausible run: %d units reserved, %d orders shipped", reserved, len(shipped))
	}
}

// TestTruthWindows recomputes the window aggregates from the decoded records
// and compares them with the truth.
func TestTruthWindows(t *testing.T) {
	t.Parallel()
	recs, truth := generate(t, Config{Seed: 5, LegacyShare: 0.2, BadRate: 0.02}, 50000)
	type key struct {
		size  time.Duration
		start int64
		cat   string
	}
	got := map[key]*Window{}
	bump := func(at time.Time, cat string, f func(*Window)) {
		if cat == "" {
			cat = UnknownCategory
		}
		for _, size := range []time.Duration{time.Minute, 5 * time.Minute} {
			k := key{size, at.Truncate(size).UnixMilli(), cat}
			if got[k] == nil {
				got[k] = &Window{Start: at.Truncate(size), Category: cat}
			}
			f(got[k])
		}
	}
	orderBump := func(at time.Time, o *event.Order, f func(w *Window, units, cents int64)) {
		if len(o.Items) == 0 {
			var c int64
			if o.TotalAmount != nil {
				c = o.TotalAmount.Cents()
			}
			bump(at, UnknownCategory, func(w *Window) { f(w, 0, c) })
			bump(at, AllCategories, func(w *Window) { f(w, 0, c) })
			return
		}
		per := map[string][2]int64{}
		var all [2]int64
		for _, it := range o.Items {
			v := per[it.Category]
			v[0] += int64(it.Quantity)
			v[1] += it.Price.Mul(it.Quantity).Cents()
			per[it.Category] = v
			all[0] += int64(it.Quantity)
			all[1] += it.Price.Mul(it.Quantity).Cents()
		}
		for c, v := range per {
			bump(at, c, func(w *Window) { f(w, v[0], v[1]) })
		}
		bump(at, AllCategories, func(w *Window) { f(w, all[0], all[1]) })
	}
	for i, r := range recs {
		if r.Bad != nil {
			continue
		}
		e, err := event.Decode(r.Value, event.Source{Topic: r.Topic, Offset: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		at := e.Meta().OccurredAt
		both := func(cat string, f func(*Window)) { bump(at, cat, f); bump(at, AllCategories, f) }
		switch e := e.(type) {
		case *event.PageView:
			both(e.Category, func(w *Window) { w.PageViews++ })
		case *event.ProductView:
			both(e.Category, func(w *Window) { w.ProductViews++ })
		case *event.Click:
			both(e.Category, func(w *Window) { w.Clicks++ })
		case *event.Search:
			both(e.Category, func(w *Window) { w.Searches++ })
		case *event.AddToCart:
			both(e.Category, func(w *Window) { w.AddToCart++ })
		case *event.RemoveFromCart:
			both(e.Category, func(w *Window) { w.RemoveFromCart++ })
		case *event.OrderCreated:
			orderBump(at, &e.Order, func(w *Window, u, c int64) { w.Orders++; w.Units += u; w.OrderValue += c })
		case *event.PaymentAuthorized:
			orderBump(at, &e.Order, func(w *Window, _, c int64) { w.PaidOrders++; w.Revenue += c })
		case *event.PaymentFailed:
			orderBump(at, &e.Order, func(w *Window, _, _ int64) { w.FailedPayments++ })
		case *event.OrderShipped:
			orderBump(at, &e.Order, func(w *Window, _, _ int64) { w.Shipped++ })
		case *event.OrderCancelled:
			orderBump(at, &e.Order, func(w *Window, _, _ int64) { w.Cancellations++ })
		case *event.RefundIssued:
			orderBump(at, &e.Order, func(w *Window, _, c int64) { w.Refunds++; w.Refunded += c })
		}
	}
	var want []Window
	want = append(want, truth.Windows.OneMinute...)
	want = append(want, truth.Windows.FiveMinute...)
	if len(want) != len(got) {
		t.Fatalf("truth has %d windows, recomputed %d", len(want), len(got))
	}
	var revenue int64
	for i, w := range want {
		size := time.Minute
		if i >= len(truth.Windows.OneMinute) {
			size = 5 * time.Minute
		}
		g := got[key{size, w.Start.UnixMilli(), w.Category}]
		if g == nil || *g != w {
			t.Fatalf("window %s %s %s:\ntruth %+v\nrecomputed %+v", size, w.Start, w.Category, w, g)
		}
		if w.Category == AllCategories && size == time.Minute {
			revenue += w.Revenue
		}
	}
	if revenue == 0 {
		t.Fatal("no revenue in the truth")
	}
}

func TestFraudLabels(t *testing.T) {
	t.Parallel()
	recs, truth := generate(t, Config{Seed: 9, FraudRate: 0.05}, 120000)
	created := map[string]string{} // order -> user
	for i, r := range recs {
		if r.Type != event.TypeOrderCreated {
			continue
		}
		e, err := event.Decode(r.Value, event.Source{Topic: r.Topic, Offset: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		o := e.(*event.OrderCreated)
		created[o.OrderID] = o.UserID
	}
	seen := map[string]bool{}
	for _, l := range truth.Fraud {
		if seen[l.OrderID] {
			t.Fatalf("order %s labelled twice", l.OrderID)
		}
		seen[l.OrderID] = true
		if u, ok := created[l.OrderID]; !ok || u != l.UserID {
			t.Fatalf("label %+v: no such order_created record (user %q)", l, u)
		}
	}
	for _, p := range Patterns() {
		if truth.FraudByPattern[p] == 0 {
			t.Errorf("no %s orders in %d records", p, len(recs))
		}
	}
	share := float64(len(truth.Fraud)) / float64(truth.Orders)
	if share < 0.02 || share > 0.10 {
		t.Errorf("fraud share of orders %.3f, configured 0.05", share)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{Users: 1}, {Products: 3}, {FraudRate: 0.9}, {BadRate: -1}, {LegacyShare: 2},
		{Start: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted a bad config", cfg)
		}
	}
}

func TestNoBadNoFraud(t *testing.T) {
	t.Parallel()
	_, truth := generate(t, Config{Seed: 2, NoBad: true, NoFraud: true}, 20000)
	if truth.Bad != 0 || len(truth.Fraud) != 0 {
		t.Fatalf("bad %d, fraud %d with injection off", truth.Bad, len(truth.Fraud))
	}
	if truth.Legacy != 0 || truth.Orders == 0 {
		t.Fatalf("legacy %d, orders %d", truth.Legacy, truth.Orders)
	}
}

func TestTruthSorted(t *testing.T) {
	t.Parallel()
	_, truth := generate(t, Config{Seed: 4}, 10000)
	if !sort.SliceIsSorted(truth.Stock, func(i, j int) bool { return truth.Stock[i].ProductID < truth.Stock[j].ProductID }) {
		t.Error("stock not sorted")
	}
	for i := 1; i < len(truth.BadRecords); i++ {
		if truth.BadRecords[i].Index <= truth.BadRecords[i-1].Index {
			t.Fatal("bad records not in order")
		}
	}
	if fmt.Sprint(truth.Records) != "10000" {
		t.Fatalf("records %d", truth.Records)
	}
}
