package fraud_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/functions/fraud/internal/fraud"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// finalState is what a run leaves in DynamoDB.
type finalState struct {
	decisions map[string]*fraud.Decision
	alerts    map[string]string // alert id -> canonical JSON
	profiles  map[string]string // key -> state JSON
	sends     int
}

func runOnDynamo(t *testing.T, batches []func(p func(events.KafkaEvent))) finalState {
	t.Helper()
	ctx := context.Background()
	d := newDynamo(t)
	counted := newMemAlerts()
	p, _ := newProcessor(t, d, fraud.Alerts{d, counted})
	process := func(ev events.KafkaEvent) {
		resp, err := p.Process(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("batch: %v %+v", err, resp)
		}
	}
	for _, b := range batches {
		b(process)
	}
	var st finalState
	ds, err := d.AllDecisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.decisions = map[string]*fraud.Decision{}
	for _, x := range ds {
		st.decisions[x.OrderID] = x
	}
	as, err := d.AllAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.alerts = map[string]string{}
	for _, a := range as {
		b, _ := event.AppendJSON(nil, a)
		st.alerts[a.EventID] = string(b)
	}
	prof, err := d.AllProfiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.profiles = map[string]string{}
	for k, v := range prof {
		_, state, _ := strings.Cut(v, " ") // the version counts writes, not content
		st.profiles[k] = state
	}
	st.sends = counted.sends
	return st
}

// TestExactlyOnce processes 12,000 transactions records against DynamoDB
// Local once, and again on fresh tables delivering every batch twice and
// one batch first as two halves (as bisection does) and then whole: the
// decisions, the alerts (stored, and sent) and the profiles are the same.
func TestExactlyOnce(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t, generator.Config{Seed: 7}, 12_000)
	live := l.LiveBatches(2000)
	once := make([]func(func(events.KafkaEvent)), len(live))
	twice := make([]func(func(events.KafkaEvent)), len(live))
	for i, ev := range live {
		once[i] = func(p func(events.KafkaEvent)) { p(ev) }
		if i == 3 {
			a, b := halves(ev)
			twice[i] = func(p func(events.KafkaEvent)) { p(a); p(b); p(ev); p(b) }
			continue
		}
		twice[i] = func(p func(events.KafkaEvent)) { p(ev); p(ev) }
	}
	var single, replayed finalState
	t.Run("group", func(t *testing.T) {
		t.Run("once", func(t *testing.T) { t.Parallel(); single = runOnDynamo(t, once) })
		t.Run("replayed", func(t *testing.T) { t.Parallel(); replayed = runOnDynamo(t, twice) })
	})
	if t.Failed() {
		return
	}
	flagged := 0
	for id, d := range single.decisions {
		r := replayed.decisions[id]
		if r == nil || !r.Equal(d) {
			t.Errorf("decision %s: once %+v, replayed %+v", id, d, r)
		}
		if d.Decision != fraud.DecisionApprove {
			flagged++
		}
	}
	if len(replayed.decisions) != len(single.decisions) || len(single.decisions) < 5000 || flagged < 20 {
		t.Errorf("%d decisions once (%d flagged), %d replayed", len(single.decisions), flagged, len(replayed.decisions))
	}
	if !maps.Equal(single.alerts, replayed.alerts) || len(single.alerts) < 20 {
		t.Errorf("alerts differ: %d once, %d replayed: %v", len(single.alerts), len(replayed.alerts),
			diffKeys(single.alerts, replayed.alerts))
	}
	if single.sends != replayed.sends {
		t.Errorf("%d alerts sent once, %d replayed", single.sends, replayed.sends)
	}
	if !maps.Equal(single.profiles, replayed.profiles) || len(single.profiles) < 1000 {
		t.Errorf("profiles differ: %d once, %d replayed: %v", len(single.profiles), len(replayed.profiles),
			diffKeys(single.profiles, replayed.profiles))
	}
}

func diffKeys(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}
