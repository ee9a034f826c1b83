package analytics

import (
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Deps is what the deployed function is made of.
type Deps struct {
	Pool *pgxpool.Pool
	// Group names the consumer group whose watermarks the function keeps
	// (the event source mapping's); default Name.
	Group string
	// Kafka produces dead letters.
	Kafka *kgo.Client
	// Lateness is the lateness bound; 0 means DefaultLateness.
	Lateness time.Duration
	Logger   *slog.Logger
	// Metrics receives one EMF line per batch; nil for none.
	Metrics io.Writer
}

// NewProcessor wires the function: PostgreSQL store, dead letters to the
// dead-letter topic.
func NewProcessor(d Deps) (*kafkabatch.Processor, error) {
	group := d.Group
	if group == "" {
		group = Name
	}
	lateness := d.Lateness
	if lateness <= 0 {
		lateness = DefaultLateness
	}
	h := New(NewPostgres(d.Pool, group), WithLateness(lateness), WithLogger(d.Logger), WithMetrics(d.Metrics))
	return kafkabatch.NewProcessor(Name, kafkabatch.Chain(h, kafkabatch.Recoverer()),
		kafkabatch.WithDeadLetterSink(kafkabatch.NewKafkaSink(d.Kafka, "")),
		kafkabatch.WithLogger(d.Logger))
}
