package fraud

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

func TestSNSMessage(t *testing.T) {
	a := &event.FraudAlert{
		Envelope: event.Envelope{EventID: "alert-1", EventType: event.TypeFraudAlert, SchemaVersion: event.SchemaVersion,
			OccurredAt: time.Date(2024, 10, 25, 14, 48, 0, 0, time.UTC)},
		OrderID: "order-1", UserID: "user-1", Score: 0.92, Decision: "decline", RuleVersion: "v1",
	}
	m, err := snsMessage(a)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "alert-1" || m.Group != "user-1" || m.Subject != "shopstream fraud alert: decline" || m.Attributes["decision"] != "decline" {
		t.Errorf("message %+v", m)
	}
	var back map[string]any
	if err := json.Unmarshal(m.Body, &back); err != nil {
		t.Fatalf("body %s: %v", m.Body, err)
	}
	if back["event_id"] != "alert-1" || back["order_id"] != "order-1" || back["decision"] != "decline" {
		t.Errorf("body %s", m.Body)
	}
}
