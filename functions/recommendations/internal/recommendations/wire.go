package recommendations

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
	// Kafka produces dead letters.
	Kafka  *kgo.Client
	Policy Policy
	// MaxSessionProducts and MaxOrderProducts cap the pairs; 0 for the
	// defaults.
	MaxSessionProducts, MaxOrderProducts int
	Logger                               *slog.Logger
	// Metrics receives one EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor wires the function: DynamoDB store, dead letters to the
// dead-letter topic.
func NewProcessor(d Deps) (*kafkabatch.Processor, error) {
	h := New(NewDynamoDB(d.DynamoDB, d.Tables), WithPolicy(d.Policy), WithCaps(d.MaxSessionProducts, d.MaxOrderProducts),
		WithLogger(d.Logger), WithMetrics(d.Metrics))
	return kafkabatch.NewProcessor(Name, kafkabatch.Chain(h, kafkabatch.Recoverer()),
		kafkabatch.WithDeadLetterSink(kafkabatch.NewKafkaSink(d.Kafka, "")),
		kafkabatch.WithLogger(d.Logger))
}
