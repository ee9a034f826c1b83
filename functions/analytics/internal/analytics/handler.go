package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name in dead letters, logs and metrics.
const Name = "analytics"

// DefaultLateness is how far behind its partition's latest event time an
// event may be and still count in its window.
const DefaultLateness = time.Hour

// Store applies folded batches.
//
// Apply runs one transaction: it locks the watermarks of parts (the
// partitions of the batch) and the users of users, reads the watermarks and
// the stored sessions within SessionGap of each user's range, calls plan
// with the watermarks, merges plan's session events into the stored
// sessions, writes plan's delta and its new watermarks, and commits. It
// returns the delta it committed. When Apply fails nothing of the batch is
// stored, or all of it is (a commit whose answer was lost): either way,
// calling it again with the same batch is exact, since records at or below
// a watermark are skipped. Implementations must be safe for concurrent use.
type Store interface {
	Apply(ctx context.Context, parts []Partition, users []UserRange, plan func(map[Partition]Mark) *Delta) (*Delta, error)
}

// Handler folds batches of user activity and order events into windowed
// aggregates, top products, search terms and sessions.
type Handler struct {
	store    Store
	lateness time.Duration
	attempts int
	backoff  time.Duration
	logger   *slog.Logger
	metrics  io.Writer
	now      func() time.Time

	stats Counters64
}

// Counters64 are a Handler's running totals, for tests and benchmarks.
type Counters64 struct {
	Records, Applied, Skipped, Late, Rejected, Attempts, Retries atomic.Int64
}

// Option configures a Handler.
type Option func(*Handler)

// WithLateness sets the lateness bound. Default DefaultLateness.
func WithLateness(d time.Duration) Option { return func(h *Handler) { h.lateness = d } }

// WithAttempts sets how many times a batch's transaction is tried before
// Handle gives up and the event source mapping retries. Default 3.
func WithAttempts(n int) Option { return func(h *Handler) { h.attempts = max(1, n) } }

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.logger = l } }

// WithMetrics sets where one CloudWatch EMF line per batch is written.
// Default: nowhere.
func WithMetrics(w io.Writer) Option { return func(h *Handler) { h.metrics = w } }

// New returns a Handler writing to store.
func New(store Store, opts ...Option) *Handler {
	h := &Handler{store: store, lateness: DefaultLateness, attempts: 3, backoff: 50 * time.Millisecond, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	return h
}

// Stats returns the handler's running totals.
func (h *Handler) Stats() *Counters64 { return &h.stats }

var _ kafkabatch.Handler = (*Handler)(nil)

// Handle implements kafkabatch.Handler: one transaction per batch, tried
// again on any error (a dropped connection, a deadlock, a lost commit
// answer: the watermarks make a retry exact). When every attempt fails,
// the whole batch is returned for the event source mapping to retry.
func (h *Handler) Handle(ctx context.Context, b *kafkabatch.Batch) error {
	msgs := b.Messages()
	parts := Partitions(msgs)
	users := UserRanges(msgs)
	plan := func(marks map[Partition]Mark) *Delta { return Fold(msgs, marks, h.lateness) }
	var (
		d   *Delta
		err error
	)
	for attempt := 1; attempt <= h.attempts; attempt++ {
		h.stats.Attempts.Add(1)
		if attempt > 1 {
			h.stats.Retries.Add(1)
			select {
			case <-ctx.Done():
				return fmt.Errorf("apply batch of %d events: %w (after %v)", len(msgs), ctx.Err(), err)
			case <-time.After(h.backoff * time.Duration(attempt-1)):
			}
		}
		if d, err = h.store.Apply(ctx, parts, users, plan); err == nil {
			break
		}
		h.logger.WarnContext(ctx, "batch transaction failed", "attempt", attempt, "err", err)
	}
	if err != nil {
		return fmt.Errorf("apply batch of %d events: %w", len(msgs), err)
	}
	for _, r := range d.Rejected {
		b.Reject(msgs[r.Index], r.Err)
	}
	h.stats.Records.Add(int64(len(msgs)))
	h.stats.Applied.Add(int64(d.Applied))
	h.stats.Skipped.Add(int64(d.Skipped))
	h.stats.Late.Add(int64(len(d.Late)))
	h.stats.Rejected.Add(int64(len(d.Rejected)))
	h.emit(len(msgs), d)
	return nil
}

// emit writes the batch's metrics as one CloudWatch EMF line.
func (h *Handler) emit(records int, d *Delta) {
	if h.metrics == nil {
		return
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": h.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "shopstream",
				"Dimensions": [][]string{{"function"}},
				"Metrics": []map[string]string{
					{"Name": "Records", "Unit": "Count"}, {"Name": "Applied", "Unit": "Count"},
					{"Name": "Skipped", "Unit": "Count"}, {"Name": "LateEvents", "Unit": "Count"},
					{"Name": "WindowRows", "Unit": "Count"}, {"Name": "SessionUsers", "Unit": "Count"},
				},
			}},
		},
		"function": Name, "Records": records, "Applied": d.Applied, "Skipped": d.Skipped,
		"LateEvents": len(d.Late), "WindowRows": len(d.Windows), "SessionUsers": len(d.Points),
	}
	b, _ := json.Marshal(line)
	_, _ = h.metrics.Write(append(b, '\n'))
}
