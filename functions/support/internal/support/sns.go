package support

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/shopstream/shopstream/shared/snsalert"
)

// SNS publishes alerts to an SNS topic, the one people subscribe to in AWS:
// each alert as JSON, its priority as a message attribute for subscription
// filters, up to ten alerts per request. On a FIFO topic (ARN ending in
// ".fifo") the alert's id is the deduplication id and its case the message
// group, so an alert published again is dropped.
type SNS struct {
	pub *snsalert.Publisher
}

var _ Publisher = (*SNS)(nil)

// NewSNS returns a publisher to topicARN through client.
func NewSNS(client *sns.Client, topicARN string) *SNS {
	return &SNS{pub: snsalert.New(client, topicARN)}
}

// Publish implements Publisher.
func (s *SNS) Publish(ctx context.Context, alerts []*Alert) error {
	msgs, err := SNSMessages(alerts)
	if err != nil {
		return err
	}
	return s.pub.Publish(ctx, msgs...)
}

// SNSMessages returns the SNS messages of alerts, in order.
func SNSMessages(alerts []*Alert) ([]snsalert.Message, error) {
	out := make([]snsalert.Message, 0, len(alerts))
	for _, a := range alerts {
		body, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encode alert %s: %w", a.EventID, err)
		}
		out = append(out, snsalert.Message{
			ID: a.EventID, Group: a.CaseID, Subject: "shopstream support alert: " + a.Priority + " priority case " + a.CaseID,
			Body: body, Attributes: map[string]string{"event_type": a.EventType, "priority": a.Priority},
		})
	}
	return out, nil
}
