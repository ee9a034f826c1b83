package fraud

import (
	"context"
	"fmt"
	"math"

	"github.com/shopstream/shopstream/shared/generator"
)

// maxDiffs bounds the differences Compare lists one by one.
const maxDiffs = 50

// MinLabelled is the fewest labelled fraud orders on which Compare holds
// detection quality to its floors: on fewer, one order moves recall by
// several points, and the figures are reported only.
const MinLabelled = 50

// Compare checks the decisions and alerts in d against the truth: one
// decision per order the generator created (and none other), each recorded
// with the rules' version and consistent with its reasons and the
// thresholds, an alert for every flagged decision and none for anything
// else; and detection quality on the labelled fraud at least minPrecision
// and minRecall when the run has at least MinLabelled labelled orders. It returns the differences and the quality measured.
func Compare(ctx context.Context, d *DynamoDB, c *Config, truth *generator.Truth, minPrecision, minRecall float64) ([]string, *Quality) {
	var diffs []string
	more := 0
	add := func(format string, args ...any) {
		if len(diffs) < maxDiffs {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	ds, err := d.AllDecisions(ctx)
	if err != nil {
		return []string{fmt.Sprintf("read decisions: %v", err)}, nil
	}
	alerts, err := d.AllAlerts(ctx)
	if err != nil {
		return []string{fmt.Sprintf("read alerts: %v", err)}, nil
	}
	byID := make(map[string]*Decision, len(ds))
	for _, x := range ds {
		byID[x.OrderID] = x
	}
	orders := make(map[string]bool, len(truth.OrderStates))
	for _, o := range truth.OrderStates {
		orders[o.OrderID] = true
		if byID[o.OrderID] == nil {
			add("order %s has no decision", o.OrderID)
		}
	}
	alertIDs := map[string]bool{}
	for _, a := range alerts {
		alertIDs[a.EventID] = true
		x := byID[a.OrderID]
		if x == nil || rank[x.Decision] < rank[a.Decision] || a.Decision == DecisionApprove {
			add("alert %s (%s of order %s) does not match the order's decision", a.EventID, a.Decision, a.OrderID)
		}
	}
	for _, x := range ds {
		if !orders[x.OrderID] {
			add("decision for order %s, which the generator never created", x.OrderID)
		}
		if x.RuleVersion != c.Version {
			add("decision %s has rule version %q, want %q", x.OrderID, x.RuleVersion, c.Version)
		}
		var sum float64
		for _, r := range x.Reasons {
			sum += r.Score
		}
		if want := math.Round(min(100, sum)*100) / 100; want != x.Score || c.Decide(x.Score) != x.Decision {
			add("decision %s is %s at %v, its reasons sum to %v", x.OrderID, x.Decision, x.Score, want)
		}
		if x.Decision != DecisionApprove && !alertIDs[x.Alert().EventID] {
			add("order %s is %s without an alert", x.OrderID, x.Decision)
		}
	}
	q := Measure(ds, truth)
	if q.Labelled >= MinLabelled && (q.Precision() < minPrecision || q.Recall() < minRecall) {
		add("precision %.4f and recall %.4f on %d labelled orders, want at least %.2f and %.2f",
			q.Precision(), q.Recall(), q.Labelled, minPrecision, minRecall)
	}
	if more > 0 {
		diffs = append(diffs, fmt.Sprintf("and %d more differences", more))
	}
	return diffs, q
}
