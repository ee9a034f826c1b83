package support

import (
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Deps is what the deployed function is made of.
type Deps struct {
	DynamoDB *dynamodb.Client
	Tables   Tables
	// Kafka produces alerts (support_alerts) and dead letters.
	Kafka *kgo.Client
	// Alerts are further publishers of high-priority alerts (SNS in AWS).
	Alerts []Publisher
	Logger *slog.Logger
	// Metrics receives one EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor wires the function: DynamoDB store, alerts to the
// support_alerts topic (and d.Alerts), dead letters to the dead-letter
// topic.
func NewProcessor(d Deps) (*kafkabatch.Processor, error) {
	pubs := append(Publishers{NewKafkaPublisher(d.Kafka, "")}, d.Alerts...)
	h := New(NewDynamoDB(d.DynamoDB, d.Tables), pubs, WithLogger(d.Logger), WithMetrics(d.Metrics))
	return kafkabatch.NewProcessor(Name, kafkabatch.Chain(h, kafkabatch.Recoverer()),
		kafkabatch.WithDeadLetterSink(kafkabatch.NewKafkaSink(d.Kafka, "")),
		kafkabatch.WithLogger(d.Logger))
}
