package support

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/snstest"
)

func snsTestAlerts(n int) []*Alert {
	var out []*Alert
	at := time.Date(2024, 10, 25, 14, 48, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		out = append(out, &Alert{EventID: fmt.Sprintf("alert-%02d", i), EventType: AlertType, SchemaVersion: 1, OccurredAt: at,
			CaseID: fmt.Sprintf("case-%02d", i), OrderID: "order-1", UserID: "user-1", Priority: PriorityHigh,
			Reasons: []string{"low_rating"}, LowestRating: 1})
	}
	return out
}

func TestSNSMessages(t *testing.T) {
	alerts := snsTestAlerts(2)
	msgs, err := SNSMessages(alerts)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages of 2 alerts", len(msgs))
	}
	for i, m := range msgs {
		a := alerts[i]
		if m.ID != a.EventID || m.Group != a.CaseID || m.Subject != "shopstream support alert: high priority case "+a.CaseID {
			t.Errorf("message %d: id %q group %q subject %q", i, m.ID, m.Group, m.Subject)
		}
		if want := map[string]string{"event_type": AlertType, "priority": PriorityHigh}; !reflect.DeepEqual(m.Attributes, want) {
			t.Errorf("message %d attributes %v, want %v", i, m.Attributes, want)
		}
		var back Alert
		if err := json.Unmarshal(m.Body, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&back, a) {
			t.Errorf("message %d body %s decodes to %+v, want %+v", i, m.Body, back, *a)
		}
	}
}

// TestSNSPublish publishes alerts through moto's SNS API (shared/snstest):
// more than one request's worth, to a subscriber that filters on priority.
func TestSNSPublish(t *testing.T) {
	t.Parallel()
	client := snstest.Client(t)
	topic := snstest.Topic(t, client, false)
	high := snstest.Subscribe(t, client, topic, `{"priority":["high"]}`)
	alerts := snsTestAlerts(12)
	if err := NewSNS(client, topic).Publish(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range high.Wait(t, len(alerts)) {
		var a Alert
		if err := json.Unmarshal([]byte(n.Message), &a); err != nil {
			t.Fatalf("notification %q: %v", n.Message, err)
		}
		got[a.EventID] = true
	}
	for _, a := range alerts {
		if !got[a.EventID] {
			t.Errorf("alert %s not delivered", a.EventID)
		}
	}
}
