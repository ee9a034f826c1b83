package lake

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/parquet-go/parquet-go"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
)

// supportAlerts returns a payload of the support_alerts topic: one alert
// per high-priority case of the truth, as the support function raises them,
// and the first of them a second time (a retried publish), and the alerts.
func supportAlerts(t *testing.T, truth *generator.Truth) (events.KafkaEvent, []*event.SupportAlert) {
	t.Helper()
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	var alerts []*event.SupportAlert
	for i, c := range truth.Support.Cases {
		if c.Priority != "high" {
			continue
		}
		a := event.New(event.TypeSupportAlert).(*event.SupportAlert)
		a.EventID, a.OccurredAt, a.UserID, a.OrderID = fmt.Sprintf("sa-%06d", i), c.OpenedAt.UTC(), c.UserID, c.OrderID
		a.CaseID, a.Priority, a.Reasons = "order-"+c.OrderID, c.Priority, c.Reasons
		if c.OrderID == "" {
			a.CaseID = fmt.Sprintf("feedback-%d", i)
		}
		if strings.Contains(strings.Join(c.Reasons, ","), "low_rating") {
			a.LowestRating = 1 + i%2
		}
		alerts = append(alerts, a)
	}
	if len(alerts) < 3 {
		t.Fatalf("the truth has %d high-priority support cases", len(alerts))
	}
	for i, a := range append(slices.Clone(alerts), alerts[0]) {
		if err := a.Validate(); err != nil {
			t.Fatalf("alert %s: %v", a.EventID, err)
		}
		v, err := event.AppendJSON(nil, a)
		if err != nil {
			t.Fatal(err)
		}
		tp := event.TopicSupportAlerts + "-0"
		ev.Records[tp] = append(ev.Records[tp], events.KafkaRecord{Topic: event.TopicSupportAlerts, Offset: int64(i),
			Timestamp: events.MilliSecondsEpochTime{Time: a.OccurredAt}, TimestampType: "CREATE_TIME",
			Key: base64.StdEncoding.EncodeToString([]byte(a.CaseID)), Value: base64.StdEncoding.EncodeToString(v)})
	}
	return ev, alerts
}

// TestSupportAlerts: the support function's alerts land in the alerts
// table with their typed columns, and Compare holds them to the truth's
// high-priority cases and to the records of their topic.
func TestSupportAlerts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := lakefmt.NewDirObjects(dir)
	recs, truth := generate(t, generator.Config{Seed: 4, Start: testStart, EventsPerSecond: 3, NoBad: true}, 12_000, 2)
	h := handler(t, store)
	ev, alerts := supportAlerts(t, truth)
	process(t, h, append(batches(recs, 2_000), ev))

	ctx := context.Background()
	counts, err := lakefmt.CountObjects(ctx, store, "")
	if err != nil {
		t.Fatal(err)
	}
	records := int64(len(alerts) + 1)
	produced := Produced{event.TopicSupportAlerts: records, event.TopicFraudAlerts: 0, event.TopicInventoryAlerts: 0, event.TopicDeadLetters: 0}
	if d := Compare(counts, truth, produced); len(d) > 0 {
		t.Fatalf("differences: %v", d)
	}
	if got := counts.Alerts(string(event.TypeSupportAlert)); got != len(alerts) {
		t.Fatalf("%d distinct support alerts, %d raised", got, len(alerts))
	}

	// Each check can fail.
	produced[event.TopicSupportAlerts] = records + 1
	if d := Compare(counts, truth, produced); len(d) != 1 || !strings.Contains(d[0], "rows of topic support_alerts") {
		t.Errorf("a record the lake lacks: %v", d)
	}
	produced[event.TopicSupportAlerts], produced[event.TopicFraudAlerts] = records, 2
	if d := Compare(counts, truth, produced); len(d) != 1 || !strings.Contains(d[0], "rows of topic fraud_alerts") {
		t.Errorf("fraud alerts the lake lacks: %v", d)
	}
	produced[event.TopicFraudAlerts] = 0
	fewer := *truth
	fewer.Support.Cases = slices.Clone(truth.Support.Cases)
	for i := range fewer.Support.Cases {
		if fewer.Support.Cases[i].Priority == "high" {
			fewer.Support.Cases[i].Priority = "medium"
			break
		}
	}
	if d := Compare(counts, &fewer, produced); len(d) != 1 || !strings.Contains(d[0], "support alerts") {
		t.Errorf("an alert the truth does not raise: %v", d)
	}

	// The rows, read back with parquet-go, hold the alerts' fields typed.
	views, err := lakefmt.Resolve(ctx, store, "", lakefmt.TableAlerts+"/")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]lakefmt.Alert{}
	for _, v := range views {
		for _, o := range v.Visible {
			body, err := store.Get(ctx, o.Key)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := parquet.Read[lakefmt.Alert](bytes.NewReader(body), int64(len(body)))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				byID[r.EventID] = r
			}
		}
	}
	for _, a := range alerts {
		r, ok := byID[a.EventID]
		var rating int32
		if r.LowestRating != nil {
			rating = *r.LowestRating
		}
		if !ok || r.EventType != "support_alert" || r.CaseID != a.CaseID || r.OrderID != a.OrderID || r.UserID != a.UserID ||
			r.Priority != "high" || !slices.Equal(r.CaseReasons, a.Reasons) || int(rating) != a.LowestRating ||
			(a.LowestRating == 0) != (r.LowestRating == nil) || r.Score != nil || len(r.Reasons) != 0 ||
			r.OccurredAt != a.OccurredAt.UnixMicro() || r.KafkaTopic != event.TopicSupportAlerts {
			t.Errorf("alert %+v\nrow %+v", a, r)
		}
	}
	if lakefmt.TableOf(event.TypeSupportAlert) != lakefmt.TableAlerts {
		t.Error("support alerts are not in the alerts table")
	}
}
