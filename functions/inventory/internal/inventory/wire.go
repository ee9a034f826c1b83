package inventory

import (
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Deps is what the deployed function is made of.
type Deps struct {
	DynamoDB *dynamodb.Client
	Tables   Tables
	// Kafka produces alerts and dead letters.
	Kafka *kgo.Client
	// LowStock is the default low-stock threshold.
	LowStock int64
	Logger   *slog.Logger
	// Metrics receives one EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor wires the function: DynamoDB store, alerts to the alerts
// table and topic, dead letters to the dead-letter topic.
func NewProcessor(d Deps) (*kafkabatch.Processor, error) {
	store := NewDynamoDB(d.DynamoDB, d.Tables)
	h := New(store, Alerts{store, NewKafkaAlerts(d.Kafka, "")},
		WithPolicy(Policy{DefaultLowStock: d.LowStock, Horizon: 24 * time.Hour}),
		WithLogger(d.Logger), WithMetrics(d.Metrics))
	return kafkabatch.NewProcessor(Name, kafkabatch.Chain(h, kafkabatch.Recoverer()),
		kafkabatch.WithDeadLetterSink(kafkabatch.NewKafkaSink(d.Kafka, "")),
		kafkabatch.WithLogger(d.Logger))
}
