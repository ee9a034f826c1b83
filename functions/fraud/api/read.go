package api

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/event"
)

// AlertSummary is what a live view shows of the fraud alerts: how many
// orders were flagged, by decision and by rule, and the latest alerts.
type AlertSummary struct {
	// Total is the number of alerts stored; an order whose decision was
	// raised later (review, then decline) has one alert per decision.
	Total int `json:"total"`
	// Orders is the number of flagged orders.
	Orders int `json:"orders"`
	// ByDecision counts the flagged orders by their highest decision.
	ByDecision map[string]int `json:"by_decision"`
	// ByRule counts the flagged orders each rule contributed to (in their
	// highest alert), most first.
	ByRule []RuleCount `json:"by_rule"`
	// Latest are the most recent alerts by event time, newest first.
	Latest []AlertLine `json:"latest"`
}

// RuleCount is the number of flagged orders a rule contributed to.
type RuleCount struct {
	Rule   string `json:"rule"`
	Alerts int    `json:"alerts"`
}

// AlertLine is one alert as a live view lists it; no card fingerprint.
type AlertLine struct {
	AlertID    string    `json:"alert_id"`
	OrderID    string    `json:"order_id"`
	UserID     string    `json:"user_id"`
	Score      float64   `json:"score"`
	Decision   string    `json:"decision"`
	Rules      []string  `json:"rules"`
	OccurredAt time.Time `json:"occurred_at"`
}

// Alerts reads the alerts table (a scan: its cost grows with the table)
// and summarises it, with the latest n alerts.
func Alerts(ctx context.Context, client *dynamodb.Client, t Tables, n int) (AlertSummary, error) {
	alerts, err := fraud.NewDynamoDB(client, t, 0, nil).AllAlerts(ctx)
	if err != nil {
		return AlertSummary{}, err
	}
	return SummariseAlerts(alerts, n), nil
}

// decisionRank orders decisions by severity.
var decisionRank = map[string]int{fraud.DecisionApprove: 0, fraud.DecisionReview: 1, fraud.DecisionDecline: 2}

// SummariseAlerts summarises alerts, with the latest n.
func SummariseAlerts(alerts []*event.FraudAlert, n int) AlertSummary {
	s := AlertSummary{Total: len(alerts), ByDecision: map[string]int{}, ByRule: []RuleCount{}, Latest: []AlertLine{}}
	highest := map[string]*event.FraudAlert{}
	for _, a := range alerts {
		if h := highest[a.OrderID]; h == nil || decisionRank[a.Decision] > decisionRank[h.Decision] {
			highest[a.OrderID] = a
		}
	}
	s.Orders = len(highest)
	rules := map[string]int{}
	for _, a := range highest {
		s.ByDecision[a.Decision]++
		for _, r := range ruleNames(a) {
			rules[r]++
		}
	}
	for r, c := range rules {
		s.ByRule = append(s.ByRule, RuleCount{Rule: r, Alerts: c})
	}
	slices.SortFunc(s.ByRule, func(a, b RuleCount) int {
		return cmp.Or(cmp.Compare(b.Alerts, a.Alerts), cmp.Compare(a.Rule, b.Rule))
	})
	latest := slices.Clone(alerts)
	slices.SortFunc(latest, func(a, b *event.FraudAlert) int {
		return cmp.Or(b.OccurredAt.Compare(a.OccurredAt), cmp.Compare(b.EventID, a.EventID))
	})
	for _, a := range latest[:min(n, len(latest))] {
		s.Latest = append(s.Latest, AlertLine{AlertID: a.EventID, OrderID: a.OrderID, UserID: a.UserID, Score: a.Score,
			Decision: a.Decision, Rules: ruleNames(a), OccurredAt: a.OccurredAt.UTC()})
	}
	return s
}

// ruleNames lists the rules that scored in a, each once, in order.
func ruleNames(a *event.FraudAlert) []string {
	out := []string{}
	for _, r := range a.Reasons {
		if r.Score > 0 && !slices.Contains(out, r.Rule) {
			out = append(out, r.Rule)
		}
	}
	return out
}
