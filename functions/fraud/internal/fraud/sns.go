package fraud

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/snsalert"
)

// SNS publishes alerts to an SNS topic: the alert as canonical JSON, with
// its decision as a message attribute for subscription filters. On a FIFO
// topic (ARN ending in ".fifo") the alert's event id is the deduplication
// id and its user the message group, so an alert published again is
// dropped.
type SNS struct {
	pub *snsalert.Publisher
}

var _ Publisher = (*SNS)(nil)

// NewSNS returns a publisher to topicARN.
func NewSNS(client *sns.Client, topicARN string) *SNS {
	return &SNS{pub: snsalert.New(client, topicARN)}
}

// Publish implements Publisher.
func (p *SNS) Publish(ctx context.Context, a *event.FraudAlert) error {
	m, err := snsMessage(a)
	if err != nil {
		return err
	}
	return p.pub.Publish(ctx, m)
}

// snsMessage is the SNS message of a.
func snsMessage(a *event.FraudAlert) (snsalert.Message, error) {
	body, err := event.AppendJSON(nil, a)
	if err != nil {
		return snsalert.Message{}, fmt.Errorf("encode alert %s: %w", a.EventID, err)
	}
	return snsalert.Message{ID: a.EventID, Group: a.UserID, Subject: "shopstream fraud alert: " + a.Decision, Body: body,
		Attributes: map[string]string{"decision": a.Decision}}, nil
}
