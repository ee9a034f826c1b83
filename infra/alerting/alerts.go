// Package alerting is the SNS topic fraud and stock alerts are published to.
package alerting

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Alerts is the alert topic.
type Alerts struct {
	constructs.Construct
	Topic awssns.Topic
}

// New builds the topic: encrypted with the AWS-managed SNS key, TLS only.
func New(scope constructs.Construct, id string) *Alerts {
	c := constructs.NewConstruct(scope, &id)
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("shopstream alerts"),
		MasterKey:   awskms.Alias_FromAliasName(c, jsii.String("SnsKey"), jsii.String("alias/aws/sns")),
		EnforceSSL:  jsii.Bool(true),
	})
	return &Alerts{Construct: c, Topic: topic}
}
