// Package lake is the logic of the lake function: it archives every event
// of its batches to the S3 Parquet lake (shared/lake), and the records that
// are not valid events to the lake's dead_letters table.
package lake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
)

// Name is the function's name in dead letters, logs and object keys of its
// own dead letters.
const Name = "lake"

// Handler writes the valid events of a batch to the lake.
type Handler struct {
	w    *lakefmt.Writer
	recs sync.Pool // *[]lakefmt.Record, for the next batch
}

var _ kafkabatch.Handler = (*Handler)(nil)

// NewHandler returns a Handler writing through w.
func NewHandler(w *lakefmt.Writer) *Handler { return &Handler{w: w} }

// Handle implements kafkabatch.Handler. Any failure to store fails the
// whole batch: the event source mapping then redelivers it from its first
// offset, and the objects of the failed attempt are overwritten.
func (h *Handler) Handle(ctx context.Context, b *kafkabatch.Batch) error {
	msgs := b.Messages()
	var recs []lakefmt.Record
	if p, ok := h.recs.Get().(*[]lakefmt.Record); ok && cap(*p) >= len(msgs) {
		recs = (*p)[:len(msgs)]
	} else {
		recs = make([]lakefmt.Record, len(msgs))
	}
	for i, m := range msgs {
		recs[i] = lakefmt.Record{Event: m.Event, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp}
	}
	_, err := h.w.Write(ctx, recs)
	clear(recs) // the Writer keeps nothing of them: drop the batch's events
	recs = recs[:0]
	h.recs.Put(&recs)
	if err != nil {
		return fmt.Errorf("write %d events to the lake: %w", len(msgs), err)
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

// Processor is the function's batch processor: its Process method is the
// Lambda handler. It processes the records of each Kafka topic-partition of
// a batch as a batch of their own (the lake's objects are per
// topic-partition anyway), several at once, so that one partition's
// decoding overlaps another's encoding and upload.
type Processor struct {
	inner   *kafkabatch.Processor
	workers int
	logger  *slog.Logger
	now     func() time.Time
}

// NewProcessor returns the function's batch processor: every valid event
// to its table, every other record to dead_letters. Partial batch responses
// are off: a failure retries the whole batch from its first offset, which
// is what keeps the objects' offset keys free of duplicates (see
// lake.Writer.Write). The memory of a batch's records and events serves the
// next batch (kafkabatch.WithRecordReuse): the Writer keeps nothing of a
// batch once it has written it.
func NewProcessor(store lakefmt.Store, logger *slog.Logger, opts ...lakefmt.Option) (*Processor, error) {
	w := lakefmt.NewWriter(store, opts...)
	// The partitions' own lines go at debug level; Process logs the batch's.
	inner, err := kafkabatch.NewProcessor(Name, kafkabatch.Chain(NewHandler(w), kafkabatch.Recoverer()),
		kafkabatch.WithDeadLetterSink(NewDeadLetters(w)),
		kafkabatch.WithPartialBatchResponse(false),
		kafkabatch.WithRecordReuse(true),
		kafkabatch.WithLogger(slog.New(debugOnly{logger.Handler()})))
	if err != nil {
		return nil, err
	}
	return &Processor{inner: inner, workers: max(runtime.GOMAXPROCS(0), 2), logger: logger, now: time.Now}, nil
}

// Process processes one batch: each topic-partition's records through the
// kafkabatch processor, up to GOMAXPROCS (at least two) partitions at once.
// It succeeds when every partition does; else it returns an error and the
// event source mapping retries the whole batch. It logs one line per batch.
func (p *Processor) Process(ctx context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
	start := p.now()
	parts := make([]events.KafkaEvent, 0, len(ev.Records))
	for key, recs := range ev.Records {
		if len(recs) > 0 {
			sub := ev
			sub.Records = map[string][]events.KafkaRecord{key: recs}
			parts = append(parts, sub)
		}
	}
	// The largest first, so that the batch does not wait on one started last.
	slices.SortFunc(parts, func(a, b events.KafkaEvent) int { return size(b) - size(a) })

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stats := make([]kafkabatch.Stats, len(parts))
	errs := make([]error, len(parts))
	sem := make(chan struct{}, p.workers)
	var wg sync.WaitGroup
	for i, part := range parts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = context.Cause(ctx)
				return
			}
			var resp kafkabatch.Response
			resp, stats[i], errs[i] = p.inner.ProcessWithStats(ctx, part)
			if errs[i] == nil && len(resp.BatchItemFailures) > 0 {
				errs[i] = fmt.Errorf("%d partial batch failures with partial batch responses off", len(resp.BatchItemFailures))
			}
			if errs[i] != nil {
				cancel(errs[i]) // the batch is retried whole: stop the others
			}
		})
	}
	wg.Wait()
	var st kafkabatch.Stats
	for _, s := range stats {
		st.Records += s.Records
		st.Valid += s.Valid
		st.Failed += s.Failed
		for r, n := range s.DeadLettered {
			if st.DeadLettered == nil {
				st.DeadLettered = map[event.Reason]int{}
			}
			st.DeadLettered[r] += n
		}
	}
	err := firstError(errs)
	if err != nil {
		st.Records = 0
		for _, recs := range ev.Records {
			st.Records += len(recs)
		}
		st.Retried = st.Records
	}
	st.Duration = p.now().Sub(start)
	p.log(ctx, len(parts), &st, err)
	if err != nil {
		return kafkabatch.Response{}, err
	}
	return kafkabatch.Response{}, nil
}

// size is the number of records of a one-partition event.
func size(ev events.KafkaEvent) int {
	for _, recs := range ev.Records {
		return len(recs)
	}
	return 0
}

// firstError returns the error of the first partition that failed other
// than by being stopped, or the first error.
func firstError(errs []error) error {
	var stopped error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled) && stopped == nil:
			stopped = err
		case !errors.Is(err, context.Canceled):
			return err
		}
	}
	return stopped
}

// log writes the batch's one line.
func (p *Processor) log(ctx context.Context, partitions int, st *kafkabatch.Stats, err error) {
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
	}
	if !p.logger.Enabled(ctx, level) {
		return
	}
	attrs := append(st.LogAttrs(ctx, Name), slog.Int("partitions", partitions))
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	p.logger.LogAttrs(ctx, level, "batch processed", attrs...)
}

// debugOnly passes on the records of its handler at debug level.
type debugOnly struct{ slog.Handler }

func (h debugOnly) Enabled(ctx context.Context, _ slog.Level) bool {
	return h.Handler.Enabled(ctx, slog.LevelDebug)
}

func (h debugOnly) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return h.Handler.Handle(ctx, r)
}

func (h debugOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return debugOnly{h.Handler.WithAttrs(attrs)}
}

func (h debugOnly) WithGroup(name string) slog.Handler { return debugOnly{h.Handler.WithGroup(name)} }
