package fraud

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// Decision is the function's verdict on one order: the sum of the rules'
// contributions (each rule counts once, at its highest), the decision that
// score maps onto, the rules that could not be evaluated for lack of data,
// and the highest decision an alert was raised for.
type Decision struct {
	OrderID     string
	UserID      string
	At          int64 // event time of the order, ms
	Card        event.Sensitive
	Score       float64
	Decision    string
	Reasons     []event.FraudReason
	RuleVersion string
	Unevaluated []string
	Alerted     string
	// Version counts the writes of the item: a decision to write carries
	// the stored version plus one, and is written only over that version.
	Version int64
}

// Clone returns a deep copy of d.
func (d *Decision) Clone() *Decision {
	c := *d
	c.Reasons = slices.Clone(d.Reasons)
	c.Unevaluated = slices.Clone(d.Unevaluated)
	return &c
}

var rank = map[string]int{"": 0, DecisionApprove: 0, DecisionReview: 1, DecisionDecline: 2}

// merge adds r to d: a rule counts once, at its highest score. It reports
// whether d changed.
func (d *Decision) merge(r event.FraudReason) bool {
	for i := range d.Reasons {
		if d.Reasons[i].Rule == r.Rule {
			if r.Score > d.Reasons[i].Score {
				d.Reasons[i] = r
				return true
			}
			return false
		}
	}
	d.Reasons = append(d.Reasons, r)
	slices.SortFunc(d.Reasons, func(a, b event.FraudReason) int {
		if a.Rule < b.Rule {
			return -1
		}
		if a.Rule > b.Rule {
			return 1
		}
		return 0
	})
	return true
}

// settle computes the score and the decision from the reasons.
func (d *Decision) settle(c *Config) {
	var s float64
	for _, r := range d.Reasons {
		s += r.Score
	}
	d.Score = math.Round(min(100, max(0, s))*100) / 100
	d.Decision = c.Decide(d.Score)
}

// needsAlert reports whether d is flagged higher than any alert raised.
func (d *Decision) needsAlert() bool {
	return d.Decision != DecisionApprove && rank[d.Decision] > rank[d.Alerted]
}

// Alert returns the alert for d's current decision. Its event id depends on
// the order and the decision only, so raising it again is harmless.
func (d *Decision) Alert() *event.FraudAlert {
	sum := sha256.Sum256([]byte("fraud-alert\x00" + d.OrderID + "\x00" + d.Decision))
	return &event.FraudAlert{
		Envelope: event.Envelope{EventID: "fa-" + hex.EncodeToString(sum[:16]), EventType: event.TypeFraudAlert,
			SchemaVersion: event.SchemaVersion, OccurredAt: time.UnixMilli(d.At).UTC()},
		OrderID: d.OrderID, UserID: d.UserID, Score: d.Score, Decision: d.Decision,
		Reasons: slices.Clone(d.Reasons), RuleVersion: d.RuleVersion, CardFingerprint: d.Card,
	}
}

// Equal reports whether two decisions hold the same verdict (Version aside).
func (d *Decision) Equal(o *Decision) bool {
	return d.OrderID == o.OrderID && d.UserID == o.UserID && d.At == o.At && d.Card == o.Card &&
		d.Score == o.Score && d.Decision == o.Decision && slices.Equal(d.Reasons, o.Reasons) &&
		d.RuleVersion == o.RuleVersion && slices.Equal(d.Unevaluated, o.Unevaluated) && d.Alerted == o.Alerted
}
