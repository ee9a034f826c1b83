package fraud

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/shopstream/shopstream/shared/event"
)

// SNS publishes alerts to an SNS topic: the alert as canonical JSON, with
// its decision as a message attribute for subscription filters. On a FIFO
// topic (ARN ending in ".fifo") the alert's event id is the deduplication
// id and its user the message group, so an alert published again is
// dropped.
type SNS struct {
	client   *sns.Client
	topicARN string
}

var _ Publisher = (*SNS)(nil)

// NewSNS returns a publisher to topicARN.
func NewSNS(client *sns.Client, topicARN string) *SNS {
	return &SNS{client: client, topicARN: topicARN}
}

// Publish implements Publisher.
func (p *SNS) Publish(ctx context.Context, a *event.FraudAlert) error {
	body, err := event.AppendJSON(nil, a)
	if err != nil {
		return fmt.Errorf("encode alert %s: %w", a.EventID, err)
	}
	in := &sns.PublishInput{
		TopicArn: aws.String(p.topicARN),
		Subject:  aws.String("shopstream fraud alert: " + a.Decision),
		Message:  aws.String(string(body)),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"decision": {DataType: aws.String("String"), StringValue: aws.String(a.Decision)},
		},
	}
	if strings.HasSuffix(p.topicARN, ".fifo") {
		in.MessageGroupId, in.MessageDeduplicationId = aws.String(a.UserID), aws.String(a.EventID)
	}
	if _, err := p.client.Publish(ctx, in); err != nil {
		return fmt.Errorf("publish alert %s to SNS: %w", a.EventID, err)
	}
	return nil
}
