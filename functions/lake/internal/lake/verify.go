package lake

import (
	"fmt"
	"maps"
	"slices"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
)

// Produced counts the records the other functions of a run produced to the
// derived topics the lake archives (alerts and dead letters), by topic.
type Produced map[string]int64

// derivedTables is where the lake keeps the records of each derived topic.
var derivedTables = map[string]string{
	event.TopicFraudAlerts:     lakefmt.TableAlerts,
	event.TopicInventoryAlerts: lakefmt.TableAlerts,
	event.TopicSupportAlerts:   lakefmt.TableAlerts,
	event.TopicDeadLetters:     lakefmt.TableDeadLetters,
}

// DerivedTopics lists the topics of derived events the lake archives.
func DerivedTopics() []string {
	return []string{event.TopicFraudAlerts, event.TopicInventoryAlerts, event.TopicSupportAlerts, event.TopicDeadLetters}
}

// Compare compares what a lake holds with the generator's truth of the
// traffic it archived, and with what the other functions produced, and
// returns the differences:
//   - rows per input table equal the truth's counts by event type;
//   - rows per hour of user_events, and of transactions other than metrics,
//     equal the truth's one-minute windows of that hour (the "_all" rows,
//     which count each event once); metrics equal the truth's total;
//   - the function's own dead letters by reason equal the truth's bad
//     records by reason;
//   - no row repeats another of the same table and Kafka record;
//   - each derived topic in produced has one row per record: alerts and the
//     dead letters of other functions, which the truth does not hold;
//   - when the support function produced alerts, they are one per support
//     case of the truth that is high priority (it may raise one twice:
//     distinct event ids count).
//
// A nil produced skips the last two, for a lake of the generator's traffic
// only.
func Compare(c *lakefmt.Counts, truth *generator.Truth, produced Produced) []string {
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
	for _, topic := range DerivedTopics() {
		want, ok := produced[topic]
		if !ok {
			continue
		}
		if got := c.TopicRows[lakefmt.TableTopic{Table: derivedTables[topic], Topic: topic}]; got != want {
			diffs = append(diffs, fmt.Sprintf("table %s: %d rows of topic %s, which holds %d records", derivedTables[topic], got, topic, want))
		}
	}
	if produced[event.TopicSupportAlerts] > 0 {
		var high int
		for _, sc := range truth.Support.Cases {
			if sc.Priority == "high" {
				high++
			}
		}
		if got := c.Alerts(string(event.TypeSupportAlert)); got != high {
			diffs = append(diffs, fmt.Sprintf("support alerts: %d, truth %d high-priority support cases", got, high))
		}
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
