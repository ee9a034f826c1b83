// Package lake is the logic of the lake function: it archives every event
// of its batches to the S3 Parquet lake (shared/lake), and the records that
// are not valid events to the lake's dead_letters table.
package lake

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
)

// Name is the function's name in dead letters, logs and object keys of its
// own dead letters.
const Name = "lake"

// Handler writes the valid events of a batch to the lake.
type Handler struct {
	w *lakefmt.Writer
}

var _ kafkabatch.Handler = (*Handler)(nil)

// NewHandler returns a Handler writing through w.
func NewHandler(w *lakefmt.Writer) *Handler { return &Handler{w: w} }

// Handle implements kafkabatch.Handler. Any failure to store fails the
// whole batch: the event source mapping then redelivers it from its first
// offset, and the objects of the failed attempt are overwritten.
func (h *Handler) Handle(ctx context.Context, b *kafkabatch.Batch) error {
	msgs := b.Messages()
	recs := make([]lakefmt.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = lakefmt.Record{Event: m.Event, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp}
	}
	if _, err := h.w.Write(ctx, recs); err != nil {
		return fmt.Errorf("write %d events to the lake: %w", len(recs), err)
	}
	return nil
}

// DeadLetters stores the function's own dead letters in the lake's
// dead_letters table, rather than on the dead-letter topic the lake itself
// consumes (which would archive them a second time).
type DeadLetters struct {
	w *lakefmt.Writer
}

var _ kafkabatch.DeadLetterSink = (*DeadLetters)(nil)

// NewDeadLetters returns a sink writing through w.
func NewDeadLetters(w *lakefmt.Writer) *DeadLetters { return &DeadLetters{w: w} }

// Send implements kafkabatch.DeadLetterSink. Letters of a redelivered batch
// overwrite the objects written for them before.
func (s *DeadLetters) Send(ctx context.Context, letters []*event.DeadLetter) error {
	if _, err := s.w.WriteDeadLetters(ctx, Name, letters); err != nil {
		return fmt.Errorf("write %d dead letters to the lake: %w", len(letters), err)
	}
	return nil
}

// NewProcessor returns the function's batch processor, whose Process
// method is the Lambda handler: every valid event to its table, every other
// record to dead_letters. Partial batch responses are off: a failure retries
// the whole batch from its first offset, which is what keeps the objects'
// offset keys free of duplicates (see lake.Writer.Write).
func NewProcessor(store lakefmt.Store, logger *slog.Logger, opts ...lakefmt.Option) (*kafkabatch.Processor, error) {
	w := lakefmt.NewWriter(store, opts...)
	return kafkabatch.NewProcessor(Name, kafkabatch.Chain(NewHandler(w), kafkabatch.Recoverer()),
		kafkabatch.WithDeadLetterSink(NewDeadLetters(w)),
		kafkabatch.WithPartialBatchResponse(false),
		kafkabatch.WithLogger(logger))
}
