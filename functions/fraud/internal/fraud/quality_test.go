package fraud_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/generator"
)

// TestDetectionQuality runs 100,000 transactions records of the generator's
// default traffic (default fraud rate) through the handler, in batches of
// 1,000 live records, with the in-memory store, and holds precision and
// recall on the labelled fraud (flagged = review or decline) to 0.90 and
// 0.95. It logs recall per pattern.
func TestDetectionQuality(t *testing.T) {
	t.Parallel()
	l, truth := newLog(t, generator.Config{}, 100_000)
	store := fraud.NewMemory()
	p, _ := newProcessor(t, store, newMemAlerts())
	run(t, p, l.LiveBatches(1000))
	ds, _ := store.AllDecisions(context.Background())
	q := fraud.Measure(ds, truth)
	t.Log("\n" + q.Table())
	if q.Decided != int(truth.Orders) {
		t.Errorf("%d decisions, want one per order: %d", q.Decided, truth.Orders)
	}
	if len(truth.Fraud) < 300 {
		t.Fatalf("only %d labelled fraud orders: the run is too small to measure", len(truth.Fraud))
	}
	if q.Precision() < 0.90 {
		t.Errorf("precision %.4f, want >= 0.90", q.Precision())
	}
	if q.Recall() < 0.95 {
		t.Errorf("recall %.4f, want >= 0.95", q.Recall())
	}
	if testing.Verbose() {
		var fp []string
		for _, d := range ds {
			if d.Decision != fraud.DecisionApprove && !q.IsFraud(d.OrderID) {
				var rs []string
				for _, r := range d.Reasons {
					rs = append(rs, fmt.Sprintf("%s:%v(%s)", r.Rule, r.Score, r.Detail))
				}
				fp = append(fp, d.OrderID+" "+d.UserID+" "+strings.Join(rs, "; "))
			}
		}
		slices.Sort(fp)
		for _, s := range fp {
			t.Log("false positive:", s)
		}
		byID := map[string]*fraud.Decision{}
		for _, d := range ds {
			byID[d.OrderID] = d
		}
		for _, id := range q.Missed {
			d := byID[strings.Fields(id)[0]]
			var rs []string
			if d != nil {
				for _, r := range d.Reasons {
					rs = append(rs, fmt.Sprintf("%s:%v(%s)", r.Rule, r.Score, r.Detail))
				}
			}
			t.Log("missed:", id, strings.Join(rs, "; "))
		}
	}
}
