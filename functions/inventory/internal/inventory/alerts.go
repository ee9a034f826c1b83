package inventory

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/event"
)

// KafkaAlerts produces alerts as canonical JSON to a topic, keyed by product,
// and waits for every acknowledgement. Kafka appends: a replayed alert is
// written again with the same event id, and readers drop duplicates by it.
type KafkaAlerts struct {
	client *kgo.Client
	topic  string
}

var _ AlertSink = (*KafkaAlerts)(nil)

// NewKafkaAlerts returns a sink producing with client to topic; an empty
// topic means event.TopicInventoryAlerts. The caller owns client.
func NewKafkaAlerts(client *kgo.Client, topic string) *KafkaAlerts {
	if topic == "" {
		topic = event.TopicInventoryAlerts
	}
	return &KafkaAlerts{client: client, topic: topic}
}

// Send implements AlertSink.
func (k *KafkaAlerts) Send(ctx context.Context, alerts []*event.InventoryAlert) error {
	if len(alerts) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(alerts))
	for i, a := range alerts {
		v, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert %s: %w", a.EventID, err)
		}
		recs[i] = &kgo.Record{Topic: k.topic, Key: []byte(a.ProductID), Value: v}
	}
	if err := k.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce %d alerts to %s: %w", len(alerts), k.topic, err)
	}
	return nil
}

// Alerts sends to every sink in turn; the first error stops it.
type Alerts []AlertSink

var _ AlertSink = Alerts(nil)

// Send implements AlertSink.
func (s Alerts) Send(ctx context.Context, alerts []*event.InventoryAlert) error {
	for _, sink := range s {
		if err := sink.Send(ctx, alerts); err != nil {
			return err
		}
	}
	return nil
}
