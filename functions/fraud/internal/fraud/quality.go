package fraud

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shopstream/shopstream/shared/generator"
)

// Quality is detection quality against the generator's labelled fraud:
// an order is flagged when its decision is review or decline.
type Quality struct {
	Decided        int
	Flagged        int
	TruePositives  int
	FalsePositives int
	Labelled       int
	// ByPattern counts labelled orders and those flagged, per pattern.
	ByPattern map[string][2]int
	Missed    []string // labelled orders not flagged ("order pattern")
	labels    map[string]string
}

// Measure compares decisions with the truth's labels.
func Measure(ds []*Decision, truth *generator.Truth) *Quality {
	q := &Quality{ByPattern: map[string][2]int{}, labels: map[string]string{}, Labelled: len(truth.Fraud)}
	for _, l := range truth.Fraud {
		q.labels[l.OrderID] = l.Pattern
	}
	flagged := map[string]bool{}
	for _, d := range ds {
		q.Decided++
		if d.Decision == DecisionApprove {
			continue
		}
		q.Flagged++
		flagged[d.OrderID] = true
		if q.labels[d.OrderID] != "" {
			q.TruePositives++
		} else {
			q.FalsePositives++
		}
	}
	for _, l := range truth.Fraud {
		c := q.ByPattern[l.Pattern]
		c[0]++
		if flagged[l.OrderID] {
			c[1]++
		} else {
			q.Missed = append(q.Missed, l.OrderID+" "+l.UserID+" "+l.Pattern)
		}
		q.ByPattern[l.Pattern] = c
	}
	return q
}

// IsFraud reports whether the order is labelled.
func (q *Quality) IsFraud(order string) bool { return q.labels[order] != "" }

// Precision is the share of flagged orders that are labelled fraud.
func (q *Quality) Precision() float64 {
	if q.Flagged == 0 {
		return 0
	}
	return float64(q.TruePositives) / float64(q.Flagged)
}

// Recall is the share of labelled fraud that is flagged.
func (q *Quality) Recall() float64 {
	if q.Labelled == 0 {
		return 0
	}
	return float64(q.TruePositives) / float64(q.Labelled)
}

// Table formats the figures, recall per pattern included.
func (q *Quality) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "decisions %d, flagged %d, labelled fraud %d: precision %.4f, recall %.4f\n",
		q.Decided, q.Flagged, q.Labelled, q.Precision(), q.Recall())
	fmt.Fprintf(&b, "%-20s %8s %8s %8s\n", "pattern", "labelled", "flagged", "recall")
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for k := range q.ByPattern {
			if !yield(k) {
				return
			}
		}
	}) {
		c := q.ByPattern[p]
		fmt.Fprintf(&b, "%-20s %8d %8d %8.4f\n", p, c[0], c[1], float64(c[1])/float64(max(c[0], 1)))
	}
	return b.String()
}

// Summary is one line of the figures.
func (q *Quality) Summary() string {
	return fmt.Sprintf("%d decisions, %d flagged, %d labelled fraud: precision %.4f, recall %.4f",
		q.Decided, q.Flagged, q.Labelled, q.Precision(), q.Recall())
}
