package lakesql_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/lake/laketest"
	"github.com/shopstream/shopstream/shared/lakesql"
)

// start puts the generated traffic across two days and three hours.
var start = time.Date(2026, 3, 1, 22, 50, 0, 0, time.UTC)

// genLake writes a lake of generated traffic, and the alerts the functions
// would raise on it, into a new folder. It returns the folder, the truth
// and the events written.
func genLake(t *testing.T) (string, *generator.Truth, []event.Event) {
	t.Helper()
	dir := t.TempDir()
	var written []event.Event
	truth := laketest.Write(t, lake.NewDirObjects(dir), laketest.Options{
		Config: generator.Config{Seed: 11, Start: start, EventsPerSecond: 1, LegacyShare: 0.15, FraudRate: 0.05, NoBad: true},
		Events: 6000, Partitions: 3, BatchSize: 200, Alerts: true,
		Observe: func(r lake.Record) { written = append(written, r.Event) },
	})
	return dir, truth, written
}

func open(t *testing.T, dir string) *lakesql.DB {
	t.Helper()
	files, err := lakesql.Dir(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := lakesql.Open(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rows renders a result's rows as strings, for comparison.
func rows(r *lakesql.Result) [][]string {
	out := make([][]string, len(r.Rows))
	for i, row := range r.Rows {
		for _, v := range row {
			switch v := v.(type) {
			case duckdb.Decimal:
				out[i] = append(out[i], cents(v))
			default:
				out[i] = append(out[i], fmt.Sprint(v))
			}
		}
	}
	return out
}

// cents returns a DECIMAL(_,4) amount as whole cents.
func cents(d duckdb.Decimal) string {
	n := d.Value.Int64()
	for s := d.Scale; s > 2; s-- {
		n /= 10
	}
	return fmt.Sprint(n)
}

type hourKey struct{ dt, hour string }

func hourOf(ts time.Time) hourKey {
	p := lake.PartitionOf(ts)
	return hourKey{p.Date, p.Hour}
}

// expected computes each example query's answer from the truth, in the
// query's row order.
func expected(truth *generator.Truth) map[string][][]string {
	out := map[string][][]string{}
	type typeKey struct {
		h   hourKey
		typ string
	}
	activity := map[typeKey]int64{}
	orders := map[hourKey]*generator.Window{}
	views := map[string]int64{}
	for _, w := range truth.Windows.OneMinute {
		h := hourOf(w.Start)
		if w.Category != generator.AllCategories {
			views[w.Category] += w.ProductViews
			continue
		}
		for typ, n := range map[string]int64{"page_view": w.PageViews, "product_view": w.ProductViews, "click": w.Clicks,
			"search": w.Searches, "add_to_cart": w.AddToCart, "remove_from_cart": w.RemoveFromCart} {
			if n > 0 {
				activity[typeKey{h, typ}] += n
			}
		}
		o := orders[h]
		if o == nil {
			o = &generator.Window{}
			orders[h] = o
		}
		o.Orders += w.Orders
		o.PaidOrders += w.PaidOrders
		o.FailedPayments += w.FailedPayments
		o.Shipped += w.Shipped
		o.Cancellations += w.Cancellations
		o.Refunds += w.Refunds
		o.Revenue += w.Revenue
	}
	keys := slices.SortedFunc(maps.Keys(activity), func(a, b typeKey) int {
		return strings.Compare(a.h.dt+a.h.hour+a.typ, b.h.dt+b.h.hour+b.typ)
	})
	for _, k := range keys {
		out["hourly_activity"] = append(out["hourly_activity"], []string{k.h.dt, k.h.hour, k.typ, fmt.Sprint(activity[k])})
	}
	hours := slices.SortedFunc(maps.Keys(orders), func(a, b hourKey) int { return strings.Compare(a.dt+a.hour, b.dt+b.hour) })
	for _, h := range hours {
		o := orders[h]
		if o.Orders+o.PaidOrders+o.FailedPayments+o.Shipped+o.Cancellations+o.Refunds == 0 {
			continue
		}
		out["hourly_orders"] = append(out["hourly_orders"], []string{h.dt, h.hour, fmt.Sprint(o.Orders), fmt.Sprint(o.PaidOrders),
			fmt.Sprint(o.FailedPayments), fmt.Sprint(o.Shipped), fmt.Sprint(o.Cancellations), fmt.Sprint(o.Refunds), fmt.Sprint(o.Revenue)})
	}
	cats := slices.Collect(maps.Keys(views))
	cats = slices.DeleteFunc(cats, func(c string) bool { return views[c] == 0 })
	slices.SortFunc(cats, func(a, b string) int {
		if views[a] != views[b] {
			return int(views[b] - views[a])
		}
		return strings.Compare(a, b)
	})
	for _, c := range cats {
		out["product_views_by_category"] = append(out["product_views_by_category"], []string{c, fmt.Sprint(views[c])})
	}
	type dayCat struct{ dt, category string }
	revenue := map[dayCat]*generator.Window{}
	for _, w := range truth.Windows.OneMinute {
		if w.Category == generator.AllCategories || w.Orders == 0 {
			continue
		}
		k := dayCat{w.Start.UTC().Format(time.DateOnly), w.Category}
		r := revenue[k]
		if r == nil {
			r = &generator.Window{}
			revenue[k] = r
		}
		r.Orders += w.Orders
		r.Units += w.Units
		r.OrderValue += w.OrderValue
	}
	days := slices.SortedFunc(maps.Keys(revenue), func(a, b dayCat) int { return strings.Compare(a.dt+"/"+a.category, b.dt+"/"+b.category) })
	for _, k := range days {
		r := revenue[k]
		out["daily_revenue_by_category"] = append(out["daily_revenue_by_category"],
			[]string{k.dt, k.category, fmt.Sprint(r.Orders), fmt.Sprint(r.Units), fmt.Sprint(r.OrderValue)})
	}
	ratings := slices.Clone(truth.Support.Ratings)
	slices.SortFunc(ratings, func(a, b generator.SupportRating) int { return a.Hour.Compare(b.Hour) })
	for _, r := range ratings {
		if r.Scope != generator.SupportScopeAll {
			continue
		}
		h := hourOf(r.Hour)
		for i, n := range r.Dist {
			if n > 0 {
				out["hourly_ratings"] = append(out["hourly_ratings"], []string{h.dt, h.hour, fmt.Sprint(i + 1), fmt.Sprint(n)})
			}
		}
	}
	return out
}

// funnelRow is one day of the funnel query.
type funnelRow struct {
	dt                            string
	viewed, carted, ordered, paid int64
}

// funnelOf computes the funnel query's answer in Go from the events
// written: per day, the users with a product view, and of those the users
// with an add to cart, and so on.
func funnelOf(written []event.Event) []funnelRow {
	type dayUser struct{ dt, user string }
	steps := map[dayUser]*[4]bool{}
	for _, e := range written {
		step, user := -1, ""
		switch e := e.(type) {
		case *event.ProductView:
			step, user = 0, e.UserID
		case *event.AddToCart:
			step, user = 1, e.UserID
		case *event.OrderCreated:
			step, user = 2, e.UserID
		case *event.PaymentAuthorized:
			step, user = 3, e.UserID
		}
		if step < 0 || user == "" {
			continue
		}
		k := dayUser{e.Meta().OccurredAt.UTC().Format(time.DateOnly), user}
		if steps[k] == nil {
			steps[k] = new([4]bool)
		}
		steps[k][step] = true
	}
	days := map[string]*funnelRow{}
	for k, s := range steps {
		d := days[k.dt]
		if d == nil {
			d = &funnelRow{dt: k.dt}
			days[k.dt] = d
		}
		if !s[0] {
			continue
		}
		d.viewed++
		if !s[1] {
			continue
		}
		d.carted++
		if !s[2] {
			continue
		}
		d.ordered++
		if s[3] {
			d.paid++
		}
	}
	var out []funnelRow
	for _, dt := range slices.Sorted(maps.Keys(days)) {
		out = append(out, *days[dt])
	}
	return out
}

func ratio(n, d int64) any {
	if d == 0 {
		return nil
	}
	return float64(n) / float64(d)
}

// checkFunnel compares the funnel query's answer with the one computed in
// Go: counts and ratios exactly (both divide the same two integers).
func checkFunnel(t *testing.T, when string, r *lakesql.Result, want []funnelRow) {
	t.Helper()
	if len(r.Rows) != len(want) {
		t.Fatalf("%s: funnel: %d days, want %d: %v", when, len(r.Rows), len(want), r.Rows)
	}
	for i, w := range want {
		if w.paid == 0 || w.paid >= w.ordered || w.carted >= w.viewed {
			t.Fatalf("%s: funnel of %s is degenerate: %+v", when, w.dt, w)
		}
		exp := []any{w.dt, w.viewed, w.carted, w.ordered, w.paid,
			ratio(w.carted, w.viewed), ratio(w.ordered, w.carted), ratio(w.paid, w.ordered), ratio(w.paid, w.viewed)}
		got := make([]any, len(r.Rows[i]))
		for j, v := range r.Rows[i] {
			if b, ok := v.(*big.Int); ok {
				v = b.Int64()
			}
			got[j] = v
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: funnel %s:\ngot  %v\nwant %v", when, w.dt, got, exp)
		}
	}
}

// ruleRow is one day and rule of the fraud_alerts_by_rule query.
type ruleRow struct {
	dt, rule                   string
	alerts, declined, reviewed int64
	score, ruleScore           float64 // sums
}

// fraudByRule computes the fraud_alerts_by_rule query's answer in Go from
// the fraud alerts written.
func fraudByRule(written []event.Event) []ruleRow {
	rows := map[[2]string]*ruleRow{}
	for _, e := range written {
		a, ok := e.(*event.FraudAlert)
		if !ok {
			continue
		}
		dt := a.OccurredAt.UTC().Format(time.DateOnly)
		for _, fr := range a.Reasons {
			k := [2]string{dt, fr.Rule}
			r := rows[k]
			if r == nil {
				r = &ruleRow{dt: dt, rule: fr.Rule}
				rows[k] = r
			}
			r.alerts++
			switch a.Decision {
			case "decline":
				r.declined++
			case "review":
				r.reviewed++
			}
			r.score += a.Score
			r.ruleScore += fr.Score
		}
	}
	var out []ruleRow
	for _, k := range slices.SortedFunc(maps.Keys(rows), func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) }) {
		out = append(out, *rows[k])
	}
	return out
}

// checkFraudByRule compares the fraud_alerts_by_rule answer with the one
// computed in Go: counts exactly, averages to 1e-9 (the engines sum in
// their own order).
func checkFraudByRule(t *testing.T, when string, r *lakesql.Result, want []ruleRow) {
	t.Helper()
	if len(want) < 4 || len(r.Rows) != len(want) {
		t.Fatalf("%s: fraud_alerts_by_rule: %d rows, want %d (at least 4): %v", when, len(r.Rows), len(want), r.Rows)
	}
	days := map[string]bool{}
	for i, w := range want {
		days[w.dt] = true
		row := r.Rows[i]
		counts := []int64{}
		for _, v := range row[2:5] {
			switch v := v.(type) {
			case *big.Int:
				counts = append(counts, v.Int64())
			case int64:
				counts = append(counts, v)
			default:
				t.Fatalf("%s: count %v is a %T", when, v, v)
			}
		}
		avg, _ := row[5].(float64)
		avgRule, _ := row[6].(float64)
		n := float64(w.alerts)
		if row[0] != w.dt || row[1] != w.rule || !slices.Equal(counts, []int64{w.alerts, w.declined, w.reviewed}) ||
			math.Abs(avg-w.score/n) > 1e-9 || math.Abs(avgRule-w.ruleScore/n) > 1e-9 {
			t.Errorf("%s: fraud_alerts_by_rule row %d: got %v, want %s %s %d %d %d %v %v", when, i, row,
				w.dt, w.rule, w.alerts, w.declined, w.reviewed, w.score/n, w.ruleScore/n)
		}
	}
	if len(days) < 2 {
		t.Errorf("%s: fraud alerts on %d days, want two", when, len(days))
	}
}

// addItemlessOrders adds to the lake orders of a producer shape that sends
// no items, one with a total and one without, on the first and the last
// day, and adds them to the truth's windows as the generator would count
// them: once under unknown with their total, and once overall.
func addItemlessOrders(t *testing.T, dir string, truth *generator.Truth) {
	t.Helper()
	var recs []lake.Record
	for i, at := range []time.Time{truth.FirstEvent.Add(time.Minute), truth.LastEvent.Add(-time.Minute)} {
		for j, total := range []string{`,"total_amount":42.5`, ``} {
			doc := fmt.Sprintf(`{"order_id":"o-itemless-%d-%d","user_id":"u-itemless","status":"created","timestamp":%q%s}`,
				i, j, at.Format(time.RFC3339), total)
			src := event.Source{Topic: event.TopicTransactions, Partition: 0, Offset: 1_000_000 + int64(len(recs))}
			e, err := event.Decode([]byte(doc), src)
			if err != nil {
				t.Fatal(err)
			}
			o := e.(*event.OrderCreated)
			if len(o.Items) != 0 {
				t.Fatalf("%s has items", doc)
			}
			recs = append(recs, lake.Record{Event: e, Topic: src.Topic, Partition: src.Partition, Offset: src.Offset, Timestamp: at})
			var cents int64
			if o.TotalAmount != nil {
				cents = o.TotalAmount.Cents()
			}
			start := o.OccurredAt.Truncate(time.Minute)
			truth.Windows.OneMinute = append(truth.Windows.OneMinute,
				generator.Window{Start: start, Category: generator.UnknownCategory, Orders: 1, OrderValue: cents},
				generator.Window{Start: start, Category: generator.AllCategories, Orders: 1, OrderValue: cents})
		}
	}
	if _, err := lake.NewWriter(lake.NewDirObjects(dir)).Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// TestExampleQueries runs every example query over a generated lake of
// small files, and again after compacting it, and compares each answer
// with the generator's truth.
func TestExampleQueries(t *testing.T) {
	t.Parallel()
	dir, truth, written := genLake(t)
	addItemlessOrders(t, dir, truth)
	want := expected(truth)
	funnel, alerts := funnelOf(written), fraudByRule(written)
	first, last := truth.FirstEvent.UTC().Format(time.DateOnly), truth.LastEvent.UTC().Format(time.DateOnly)
	if first == last {
		t.Fatalf("the traffic spans one day (%s); the test wants two", first)
	}
	check := func(when string) {
		db := open(t, dir)
		for _, q := range lake.Queries() {
			r, err := db.Query(context.Background(), q.SQL, first, last)
			if err != nil {
				t.Fatalf("%s: %s: %v", when, q.Name, err)
			}
			if len(r.Rows) == 0 {
				t.Fatalf("%s: %s: no rows", when, q.Name)
			}
			got := rows(r)
			switch q.Name {
			case "stock_movements":
				// The truth counts inventory events by type, not by
				// warehouse: compare the sums over warehouses.
				byType := map[string]int64{}
				for _, row := range r.Rows {
					byType[row[1].(string)] += row[2].(int64)
				}
				for _, typ := range []string{"stock_adjusted", "restocked", "shipment_received", "stock_counted"} {
					if byType[typ] != truth.ByType[typ] {
						t.Errorf("%s: %s: %s %d, truth %d", when, q.Name, typ, byType[typ], truth.ByType[typ])
					}
				}
				continue
			case "funnel":
				checkFunnel(t, when, r, funnel)
				continue
			case "fraud_alerts_by_rule":
				checkFraudByRule(t, when, r, alerts)
				continue
			}
			w, ok := want[q.Name]
			if !ok {
				t.Fatalf("no expected answer for %s", q.Name)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s: %s:\ngot  %v\ntruth %v", when, q.Name, got, w)
			}
		}
		// One day only: the parameters select partitions.
		r, err := db.Query(context.Background(), lake.Queries()[0].SQL, last, last)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range r.Rows {
			if row[0] != last {
				t.Fatalf("%s: a row of %v for dt %s", when, row[0], last)
			}
		}
	}
	check("small files")

	// Compact every partition (the folder as the store) and ask again.
	c := lake.NewCompactor(lake.NewDirObjects(dir))
	compacted := 0
	for _, tb := range lake.Tables() {
		for _, day := range []string{first, last} {
			rs, err := c.CompactDate(context.Background(), tb.Name, day, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Compacted {
					compacted++
				}
			}
		}
	}
	if compacted < 6 {
		t.Fatalf("only %d partitions compacted", compacted)
	}
	check("compacted")
}

// TestEmptyTables: a table without files answers with no rows and its
// columns, the partition keys included.
func TestEmptyTables(t *testing.T) {
	t.Parallel()
	db, err := lakesql.Open(context.Background(), lakesql.Files{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range lake.Tables() {
		r, err := db.Query(context.Background(), "SELECT * FROM "+tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := tb.Columns()
		if len(r.Rows) != 0 || len(r.Columns) != len(cols)+2 || r.Columns[len(r.Columns)-1] != lake.PartitionHour {
			t.Errorf("%s: %d rows, columns %v", tb.Name, len(r.Rows), r.Columns)
		}
	}
}

// TestFormats writes one answer in every format and reads it back.
func TestFormats(t *testing.T) {
	t.Parallel()
	dir, truth, _ := genLake(t)
	db := open(t, dir)
	r, err := db.Query(context.Background(), `SELECT event_type, count(*) AS n, max(occurred_at) AS last_at,
		sum(total_amount) AS amount, NULL AS nothing, list(DISTINCT currency ORDER BY currency) FILTER (WHERE currency IS NOT NULL) AS currencies
		FROM transactions GROUP BY event_type ORDER BY event_type`)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) < 4 {
		t.Fatalf("%d rows", len(r.Rows))
	}

	var csvOut bytes.Buffer
	if err := lakesql.Write(&csvOut, r, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], r.Columns) || len(recs) != len(r.Rows)+1 {
		t.Fatalf("csv header %v, %d records", recs[0], len(recs))
	}

	var jsonOut bytes.Buffer
	if err := lakesql.Write(&jsonOut, r, "json"); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	dec := json.NewDecoder(&jsonOut)
	dec.UseNumber()
	if err := dec.Decode(&objs); err != nil {
		t.Fatalf("json: %v", err)
	}
	if len(objs) != len(r.Rows) {
		t.Fatalf("json: %d objects", len(objs))
	}

	var table bytes.Buffer
	if err := lakesql.Write(&table, r, "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n")
	if len(lines) != len(r.Rows)+3 || !strings.HasPrefix(lines[0], "event_type") || lines[len(lines)-1] != fmt.Sprintf("(%d rows)", len(r.Rows)) {
		t.Fatalf("table:\n%s", table.String())
	}

	for i, row := range r.Rows {
		typ := row[0].(string)
		n := truth.ByType[typ]
		if recs[i+1][0] != typ || recs[i+1][1] != fmt.Sprint(n) || objs[i]["event_type"] != typ || objs[i]["n"] != json.Number(fmt.Sprint(n)) {
			t.Errorf("row %d: csv %v json %v, truth %s %d", i, recs[i+1], objs[i], typ, n)
		}
		if !strings.Contains(lines[i+2], typ) || !strings.Contains(lines[i+2], "NULL") {
			t.Errorf("table line %q", lines[i+2])
		}
		if recs[i+1][4] != "" || objs[i]["nothing"] != nil {
			t.Errorf("NULL as csv %q, json %v", recs[i+1][4], objs[i]["nothing"])
		}
		if _, err := time.Parse(time.RFC3339Nano, objs[i]["last_at"].(string)); err != nil {
			t.Errorf("json timestamp: %v", err)
		}
		if typ == "payment_authorized" {
			if _, ok := objs[i]["amount"].(json.Number); !ok {
				t.Errorf("json amount %v is not a number", objs[i]["amount"])
			}
			if c, ok := objs[i]["currencies"].([]any); !ok || len(c) == 0 {
				t.Errorf("json currencies %v", objs[i]["currencies"])
			}
		}
	}
	if err := lakesql.Write(&table, r, "xml"); err == nil {
		t.Error("an unknown format is accepted")
	}
}

// TestFunctionsWithoutDuckDB: no function's binary links DuckDB (cgo).
func TestFunctionsWithoutDuckDB(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "github.com/shopstream/shopstream/functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/shopstream/shopstream/shared/lake") {
		t.Fatalf("the functions' dependencies do not include shared/lake: %v", deps)
	}
	for _, d := range deps {
		if strings.Contains(d, "duckdb") || strings.HasSuffix(d, "/lakesql") {
			t.Errorf("a function depends on %s", d)
		}
	}
}
