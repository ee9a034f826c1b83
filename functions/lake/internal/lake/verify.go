package lake

import (
	"fmt"
	"maps"
	"slices"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
)

// Compare compares what a lake holds with the generator's truth of the
// traffic it archived, and returns the differences:
//   - rows per input table equal the truth's counts by event type;
//   - rows per hour of user_events, and of transactions other than metrics,
//     equal the truth's one-minute windows of that hour (the "_all" rows,
//     which count each event once); metrics equal the truth's total;
//   - the function's own dead letters by reason equal the truth's bad
//     records by reason;
//   - no row repeats another of the same table and Kafka record.
//
// Alerts, and dead letters of other functions, are derived by the other
// functions and are not in the truth.
func Compare(c *lakefmt.Counts, truth *generator.Truth) []string {
	var diffs []string
	perTable := map[string]int64{}
	for typ, n := range truth.ByType {
		perTable[lakefmt.TableOf(event.Type(typ))] += n
	}
	for _, table := range []string{lakefmt.TableUserEvents, lakefmt.TableTransactions, lakefmt.TableInventory, lakefmt.TableFeedback} {
		if got, want := c.Table(table), perTable[table]; got != want {
			diffs = append(diffs, fmt.Sprintf("table %s: %d rows, truth %d", table, got, want))
		}
	}

	want := map[lakefmt.TablePartition]int64{}
	for _, w := range truth.Windows.OneMinute {
		if w.Category != generator.AllCategories {
			continue
		}
		p := lakefmt.PartitionOf(w.Start)
		want[lakefmt.TablePartition{Table: lakefmt.TableUserEvents, Partition: p}] +=
			w.PageViews + w.ProductViews + w.Clicks + w.Searches + w.AddToCart + w.RemoveFromCart
		want[lakefmt.TablePartition{Table: lakefmt.TableTransactions, Partition: p}] +=
			w.Orders + w.PaidOrders + w.FailedPayments + w.Shipped + w.Cancellations + w.Refunds
	}
	got := map[lakefmt.TablePartition]int64{}
	var metrics int64
	for tp, types := range c.TypeRows {
		for typ, n := range types {
			switch {
			case typ == string(event.TypeMetric):
				metrics += n
			case tp.Table == lakefmt.TableUserEvents || tp.Table == lakefmt.TableTransactions:
				got[tp] += n
			}
		}
	}
	keys := slices.Collect(maps.Keys(want))
	for tp := range got {
		if _, ok := want[tp]; !ok {
			keys = append(keys, tp)
		}
	}
	slices.SortFunc(keys, func(a, b lakefmt.TablePartition) int {
		return cmpString(a.Table+"/"+a.Partition.Path(), b.Table+"/"+b.Partition.Path())
	})
	for _, tp := range keys {
		if got[tp] != want[tp] {
			what := "events"
			if tp.Table == lakefmt.TableTransactions {
				what = "order events"
			}
			diffs = append(diffs, fmt.Sprintf("%s %s: %d %s, truth windows %d", tp.Table, tp.Partition.Path(), got[tp], what, want[tp]))
		}
	}
	if want := truth.ByType[string(event.TypeMetric)]; metrics != want {
		diffs = append(diffs, fmt.Sprintf("metrics: %d rows, truth %d", metrics, want))
	}

	for _, r := range event.Reasons() {
		if got, want := c.DeadLetters[Name][string(r)], truth.BadByReason[string(r)]; got != want {
			diffs = append(diffs, fmt.Sprintf("dead letters %s: %d rows, truth %d", r, got, want))
		}
	}
	if c.Duplicates > 0 {
		diffs = append(diffs, fmt.Sprintf("%d rows repeat another row of the same Kafka record", c.Duplicates))
	}
	return diffs
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
