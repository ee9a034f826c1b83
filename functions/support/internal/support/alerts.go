package support

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/event"
)

// AlertType is the event type of an Alert.
const AlertType = "support_alert"

// Alert says that a support case became high priority. Its EventID is the
// case's AlertID: a replayed alert has the same id, and receivers drop
// duplicates by it.
type Alert struct {
	EventID       string    `json:"event_id"`
	EventType     string    `json:"event_type"`
	SchemaVersion int       `json:"schema_version"`
	OccurredAt    time.Time `json:"occurred_at"`
	CaseID        string    `json:"case_id"`
	OrderID       string    `json:"order_id,omitempty"`
	UserID        string    `json:"user_id"`
	Priority      string    `json:"priority"`
	Reasons       []string  `json:"reasons"`
	LowestRating  int       `json:"lowest_rating,omitempty"`
}

// NewAlert returns the alert of c.
func NewAlert(c *Case) *Alert {
	return &Alert{EventID: c.AlertID, EventType: AlertType, SchemaVersion: event.SchemaVersion, OccurredAt: c.UpdatedAt,
		CaseID: c.ID, OrderID: c.OrderID, UserID: c.UserID, Priority: c.Priority, Reasons: c.Reasons, LowestRating: c.LowestRating}
}

// Publisher delivers alerts to the people who act on them: the
// support_alerts topic here, an SNS topic in AWS. Publish must deliver
// every alert or return an error. An alert can be published more than once,
// always with the same EventID. Publish must be safe for concurrent use.
type Publisher interface {
	Publish(ctx context.Context, alerts []*Alert) error
}

// KafkaPublisher produces alerts as JSON to a topic, keyed by case id, and
// waits for every acknowledgement.
type KafkaPublisher struct {
	client *kgo.Client
	topic  string
}

var _ Publisher = (*KafkaPublisher)(nil)

// NewKafkaPublisher returns a publisher producing with client to topic; an
// empty topic means event.TopicSupportAlerts. The caller owns client.
func NewKafkaPublisher(client *kgo.Client, topic string) *KafkaPublisher {
	if topic == "" {
		topic = event.TopicSupportAlerts
	}
	return &KafkaPublisher{client: client, topic: topic}
}

// Publish implements Publisher.
func (k *KafkaPublisher) Publish(ctx context.Context, alerts []*Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(alerts))
	for i, a := range alerts {
		v, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert %s: %w", a.EventID, err)
		}
		recs[i] = &kgo.Record{Topic: k.topic, Key: []byte(a.CaseID), Value: v}
	}
	if err := k.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce %d alerts to %s: %w", len(alerts), k.topic, err)
	}
	return nil
}

// Publishers publishes to each in turn; the first error stops it.
type Publishers []Publisher

var _ Publisher = Publishers(nil)

// Publish implements Publisher.
func (ps Publishers) Publish(ctx context.Context, alerts []*Alert) error {
	for _, p := range ps {
		if err := p.Publish(ctx, alerts); err != nil {
			return err
		}
	}
	return nil
}
