package fraud_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/generator"
)

// TestVerify runs generated traffic into DynamoDB Local and checks that
// Compare finds the decisions and alerts in line with the truth, then that
// it reports a missing decision, a decision from other rules and a flagged
// order without its alert.
func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, truth := newLog(t, generator.Config{Seed: 11, LegacyShare: 0.1}, 6000)
	d := newDynamo(t)
	p, h := newProcessor(t, d, d)
	run(t, p, l.LiveBatches(3000))
	c := h.Config()
	diffs, q := fraud.Compare(ctx, d, c, truth, 0.85, 0.85)
	if len(diffs) != 0 || q.Decided != int(truth.Orders) || q.Decided < 1000 {
		t.Fatalf("%d decisions for %d orders: %v", q.Decided, truth.Orders, diffs)
	}
	t.Log(q.Summary())
	ds, _ := d.AllDecisions(ctx)
	var flagged, plain *fraud.Decision
	for _, x := range ds {
		if x.Decision != fraud.DecisionApprove && flagged == nil {
			flagged = x
		}
		if x.Decision == fraud.DecisionApprove && plain == nil {
			plain = x
		}
	}
	if flagged == nil || plain == nil {
		t.Fatal("the run flagged nothing, or everything")
	}
	// An approved order turned into a decline without an alert, under other rules.
	bad := plain.Clone()
	bad.Version++
	bad.RuleVersion, bad.Decision = "rules-0", fraud.DecisionDecline
	if errs := d.PutDecisions(ctx, []*fraud.Decision{bad}); len(errs) != 0 {
		t.Fatal(errs)
	}
	extra := plain.Clone()
	extra.OrderID, extra.Version = "o-never", 1
	if errs := d.PutDecisions(ctx, []*fraud.Decision{extra}); len(errs) != 0 {
		t.Fatal(errs)
	}
	diffs, _ = fraud.Compare(ctx, d, c, truth, 0.85, 0.85)
	all := strings.Join(diffs, "\n")
	for _, want := range []string{"rule version \"rules-0\"", "is decline at", plain.OrderID + " is decline without an alert", "o-never, which the generator never created"} {
		if !strings.Contains(all, want) {
			t.Errorf("differences lack %q:\n%s", want, all)
		}
	}
}
