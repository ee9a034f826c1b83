package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
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
// Apply stores a batch of partitions parts, folded (g) on the watermarks
// basis, in one transaction: it locks the watermarks of parts and the rows
// of g's users, completes the fold, locks the rows it adds to, reads them,
// merges the fold into them, writes them and the new watermarks, and
// commits; it returns the fold. When the stored watermarks of parts are not
// basis, it stores nothing and returns a *StaleMarksError with them, for
// the batch to be folded again on them. When Apply fails otherwise nothing
// of the batch is stored, or all of it is (a commit whose answer was
// lost): either way, folding and applying the batch again is exact, since
// records at or below a watermark are skipped. Implementations must be safe
// for concurrent use.
type Store interface {
	Apply(ctx context.Context, parts []Partition, basis map[Partition]Mark, g *Folding) (*Delta, error)
}

// StaleMarksError says that a batch was folded on other watermarks than
// the stored ones, Marks.
type StaleMarksError struct {
	Marks map[Partition]Mark
}

func (e *StaleMarksError) Error() string {
	return "the batch was folded on other watermarks than the stored ones"
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

	// marks are the watermarks of the last batches committed, by
	// partition: the next batch is folded on them before its transaction
	// reads the stored ones, which are the same unless another invocation
	// moved them.
	mu    sync.Mutex
	marks map[Partition]Mark

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
	h := &Handler{store: store, lateness: DefaultLateness, attempts: 3, backoff: 50 * time.Millisecond, now: time.Now,
		marks: map[Partition]Mark{}}
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
	// The batch is folded on the watermarks this handler committed last,
	// before its transaction locks the stored ones: they are the same
	// unless another invocation moved them, and then it is folded again on
	// those (at most a few times: that takes a consumer that competes for
	// the partitions).
	basis := h.lastMarks(parts)
	g := NewFolding(msgs, basis, h.lateness)
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
		for refolds := 0; ; refolds++ {
			d, err = h.store.Apply(ctx, parts, basis, g)
			var stale *StaleMarksError
			if !errors.As(err, &stale) || refolds == maxRefolds {
				break
			}
			basis = stale.Marks
			h.remember(parts, basis)
			g = NewFolding(msgs, basis, h.lateness)
		}
		if err == nil {
			break
		}
		h.logger.WarnContext(ctx, "batch transaction failed", "attempt", attempt, "err", err)
	}
	if err != nil {
		return fmt.Errorf("apply batch of %d events: %w", len(msgs), err)
	}
	h.remember(parts, d.Marks)
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
		"LateEvents": len(d.Late), "WindowRows": len(d.Windows), "SessionUsers": len(d.Sessions),
	}
	b, _ := json.Marshal(line)
	_, _ = h.metrics.Write(append(b, '\n'))
}

// maxRefolds bounds how many times one attempt folds a batch again on
// watermarks another invocation moved.
const maxRefolds = 3

// lastMarks returns the watermarks of parts this handler committed last.
func (h *Handler) lastMarks(parts []Partition) map[Partition]Mark {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[Partition]Mark, len(parts))
	for _, p := range parts {
		if m, ok := h.marks[p]; ok {
			out[p] = m
		}
	}
	return out
}

// remember notes the watermarks of parts a committed batch left.
func (h *Handler) remember(parts []Partition, marks map[Partition]Mark) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range parts {
		if m, ok := marks[p]; ok {
			h.marks[p] = m
		}
	}
}

// sameMarks says whether a and b hold the same watermarks for parts (a
// partition absent from one has none: offset -1, no event time).
func sameMarks(parts []Partition, a, b map[Partition]Mark) bool {
	get := func(m map[Partition]Mark, p Partition) Mark {
		if mk, ok := m[p]; ok {
			return mk
		}
		return Mark{Offset: -1}
	}
	for _, p := range parts {
		if get(a, p) != get(b, p) {
			return false
		}
	}
	return true
}
