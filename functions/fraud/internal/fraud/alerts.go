package fraud

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/event"
)

// KafkaAlerts produces alerts as canonical JSON to a topic, keyed by user,
// and waits for every acknowledgement. Kafka appends: an alert raised again
// after a failure is written again with the same event id, and readers drop
// it by that id.
type KafkaAlerts struct {
	client *kgo.Client
	topic  string
}

var _ AlertSink = (*KafkaAlerts)(nil)

// NewKafkaAlerts returns a sink producing with client to topic; an empty
// topic means event.TopicFraudAlerts. The caller owns client.
func NewKafkaAlerts(client *kgo.Client, topic string) *KafkaAlerts {
	if topic == "" {
		topic = event.TopicFraudAlerts
	}
	return &KafkaAlerts{client: client, topic: topic}
}

// Send implements AlertSink.
func (k *KafkaAlerts) Send(ctx context.Context, alerts []*event.FraudAlert) error {
	if len(alerts) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(alerts))
	for i, a := range alerts {
		v, err := event.AppendJSON(nil, a)
		if err != nil {
			return fmt.Errorf("encode alert %s: %w", a.EventID, err)
		}
		recs[i] = &kgo.Record{Topic: k.topic, Key: []byte(a.UserID), Value: v}
	}
	if err := k.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce %d alerts to %s: %w", len(alerts), k.topic, err)
	}
	return nil
}

// Publisher publishes one alert to people (in AWS, an SNS topic). Publish
// must be safe for concurrent use; an alert published again has the same
// EventID, which a FIFO topic uses to drop the duplicate.
type Publisher interface {
	Publish(ctx context.Context, alert *event.FraudAlert) error
}

// PublisherSink adapts a Publisher to an AlertSink.
type PublisherSink struct{ Publisher Publisher }

// Send implements AlertSink.
func (p PublisherSink) Send(ctx context.Context, alerts []*event.FraudAlert) error {
	for _, a := range alerts {
		if err := p.Publisher.Publish(ctx, a); err != nil {
			return fmt.Errorf("publish alert %s: %w", a.EventID, err)
		}
	}
	return nil
}

// Alerts sends to every sink in turn; the first error stops it.
type Alerts []AlertSink

var _ AlertSink = Alerts(nil)

// Send implements AlertSink.
func (s Alerts) Send(ctx context.Context, alerts []*event.FraudAlert) error {
	for _, sink := range s {
		if err := sink.Send(ctx, alerts); err != nil {
			return err
		}
	}
	return nil
}
