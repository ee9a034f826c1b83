package inventory

import (
	"fmt"
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
	// Rules are the low-stock thresholds and the catalogue; nil for
	// DefaultRules.
	Rules *Rules
	// Reservation is how an order stock cannot cover is reserved; "" is
	// ReserveBackorder.
	Reservation Reservation
	// Unknown is what records about products not in Rules' catalogue get;
	// "" is UnknownAccept.
	Unknown UnknownProducts
	Logger  *slog.Logger
	// Metrics receives one EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor wires the function: DynamoDB store, alerts to the alerts
// table and topic, dead letters to the dead-letter topic.
func NewProcessor(d Deps) (*kafkabatch.Processor, error) {
	opts, err := d.options()
	if err != nil {
		return nil, err
	}
	store := NewDynamoDB(d.DynamoDB, d.Tables)
	h := New(store, Alerts{store, NewKafkaAlerts(d.Kafka, "")}, opts...)
	return kafkabatch.NewProcessor(Name, kafkabatch.Chain(h, kafkabatch.Recoverer()),
		kafkabatch.WithDeadLetterSink(kafkabatch.NewKafkaSink(d.Kafka, "")),
		kafkabatch.WithLogger(d.Logger))
}

// options are the handler options d configures.
func (d Deps) options() ([]Option, error) {
	rules := d.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("stock rules %s: %w", rules.Version, err)
	}
	reservation, err := ParseReservation(string(d.Reservation))
	if err != nil {
		return nil, err
	}
	unknown, err := ParseUnknownProducts(string(d.Unknown))
	if err != nil {
		return nil, err
	}
	opts := []Option{
		WithPolicy(Policy{DefaultLowStock: rules.LowStock, LowStock: rules.thresholds(), Horizon: 24 * time.Hour, Reservation: reservation}),
		WithLogger(d.Logger), WithMetrics(d.Metrics),
	}
	if unknown == UnknownReject {
		if len(rules.Products) == 0 {
			return nil, fmt.Errorf("rejecting unknown products needs a catalogue: the stock rules %s list no products", rules.Version)
		}
		opts = append(opts, WithCatalog(rules.Known))
	}
	return opts, nil
}
