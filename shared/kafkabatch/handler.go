package kafkabatch

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// Handler applies the valid events of one invocation.
//
// Handle receives, in b.Messages(), every record of the invocation whose value
// decoded into a valid event, in partition order: sorted by topic, partition
// and offset, so the messages of one partition are contiguous and in offset
// order. Records that are not valid events never reach Handle: the Processor
// dead-letters them. Handle is not called when the invocation has no valid
// message.
//
// Handle reports on single messages through b:
//   - b.Fail(m, err) marks m as failed transiently: the event source mapping
//     redelivers m and every later record of its partition (the whole batch,
//     with partial batch response off). Those later records come back whether
//     they succeeded or not, so a handler that applies a partition in order
//     may skip them after a failure.
//   - b.Reject(m, err) dead-letters m: a valid event that the function's own
//     rules refuse and that would be refused again on retry.
//
// A message neither failed nor rejected has succeeded. Returning a non-nil
// error means the whole batch must be retried, whatever was marked.
//
// The batch is delivered at least once: after a failure, records that
// succeeded can be delivered again, so every effect of Handle must be
// idempotent (keyed on the event id or the record's offset). Handle may call
// b.Fail and b.Reject from several goroutines, but must not use b after it
// returns. Handle must not panic; wrap it with Recoverer if it might.
type Handler interface {
	Handle(ctx context.Context, b *Batch) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, b *Batch) error

// Handle calls f(ctx, b).
func (f HandlerFunc) Handle(ctx context.Context, b *Batch) error { return f(ctx, b) }

// Middleware wraps a Handler with behaviour of its own (tracing, metrics,
// recovery).
type Middleware func(Handler) Handler

// Chain wraps h with mws; the first middleware is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Recoverer turns a panic in the Handler into an error returned for the
// whole batch, so the batch is retried instead of crashing the process (the
// local emulator runs many functions in one process).
func Recoverer() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, b *Batch) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
				}
			}()
			return next.Handle(ctx, b)
		})
	}
}

// Batch holds the valid messages of one invocation and what the Handler said
// about each. Its methods are safe for concurrent use.
type Batch struct {
	msgs []*Message

	mu      sync.Mutex
	marks   []mark // nil until the first Fail or Reject
	foreign error  // set when the handler marks a message not in the batch
}

type markKind uint8

const (
	unmarked markKind = iota
	markRejected
	markFailed
)

type mark struct {
	kind markKind
	err  error
}

// Outcome is what the Handler said about one message.
type Outcome struct {
	Message *Message
	Err     error
}

// NewBatch returns a batch of msgs, in the order given. The Processor builds
// batches itself; NewBatch lets tests drive a Handler directly. A message
// belongs to one batch at a time.
func NewBatch(msgs []*Message) *Batch {
	for i, m := range msgs {
		m.idx = i
	}
	return &Batch{msgs: msgs}
}

// Messages returns the batch's messages in partition order. The caller must
// not modify the slice.
func (b *Batch) Messages() []*Message { return b.msgs }

// Len returns the number of messages in the batch.
func (b *Batch) Len() int { return len(b.msgs) }

// Fail marks m as failed transiently; err says why. The event source mapping
// delivers m, and every later record of its partition, again. Fail takes
// precedence over Reject: a message both failed and rejected is retried.
func (b *Batch) Fail(m *Message, err error) { b.mark(m, markFailed, err) }

// Reject dead-letters m, a valid event that the function's rules refuse;
// err says which rule. The dead letter's reason is the event.Reason err
// carries (event.ReasonOf), or event.ReasonRejected when it carries none.
func (b *Batch) Reject(m *Message, err error) { b.mark(m, markRejected, err) }

func (b *Batch) mark(m *Message, k markKind, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m == nil || m.idx < 0 || m.idx >= len(b.msgs) || b.msgs[m.idx] != m {
		if b.foreign == nil {
			b.foreign = fmt.Errorf("handler marked a message that is not in its batch")
		}
		return
	}
	if b.marks == nil {
		b.marks = make([]mark, len(b.msgs))
	}
	if b.marks[m.idx].kind <= k {
		b.marks[m.idx] = mark{kind: k, err: err}
	}
}

// Failed returns the messages marked with Fail, in partition order.
func (b *Batch) Failed() []Outcome { return b.outcomes(markFailed) }

// Rejected returns the messages marked with Reject and not with Fail, in
// partition order.
func (b *Batch) Rejected() []Outcome { return b.outcomes(markRejected) }

func (b *Batch) outcomes(k markKind) []Outcome {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Outcome
	for i, mk := range b.marks {
		if mk.kind == k {
			out = append(out, Outcome{Message: b.msgs[i], Err: mk.err})
		}
	}
	return out
}

// misuse returns the error recorded when the handler marked a foreign message.
func (b *Batch) misuse() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.foreign
}
