// Package kafkabatch runs one Lambda invocation of a Kafka (Amazon MSK or
// self-managed) event source mapping: it decodes every record of the
// events.KafkaEvent payload into a typed event, dead-letters the records that
// are not valid events, hands the valid ones to a Handler in partition order,
// and answers with the partial batch response (or error) that makes the event
// source mapping redeliver exactly what failed.
//
// A function's main wires it as:
//
//	p, err := kafkabatch.NewProcessor("inventory", h,
//		kafkabatch.WithDeadLetterSink(kafkabatch.NewKafkaSink(client, "")),
//		kafkabatch.WithLogger(logger))
//	...
//	lambda.Start(p.Process)
package kafkabatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/shopstream/shopstream/shared/event"
)

// Processor processes Kafka event source mapping batches for one function.
// It is safe for concurrent use if its Handler and sink are.
type Processor struct {
	function string
	handler  Handler
	sink     DeadLetterSink
	decoder  *event.Decoder
	partial  bool
	reuse    bool
	spaces   sync.Pool // *space, with reuse on
	logger   *slog.Logger
	metrics  *emfWriter
	now      func() time.Time
}

// Option configures a Processor.
type Option func(*Processor)

// WithDeadLetterSink sets where records that are not valid events, and
// events the Handler rejects, are sent. Required: NewProcessor fails without
// one.
func WithDeadLetterSink(s DeadLetterSink) Option { return func(p *Processor) { p.sink = s } }

// WithDecoder sets the decoder of record values. Default: a new
// event.Decoder, which reads the canonical shape and every producer shape.
func WithDecoder(d *event.Decoder) Option { return func(p *Processor) { p.decoder = d } }

// WithPartialBatchResponse says whether Process reports failed records in a
// partial batch response. Default: on.
//
// On, Process lists for each partition with a failure its lowest failed
// offset, and the event source mapping redelivers from there. This needs
// ReportBatchItemFailures in the mapping's FunctionResponseTypes: without it,
// Lambda ignores the response and counts the batch as a success, and the
// failed records are lost.
//
// Off, any failed record makes Process return an error, so that the event
// source mapping retries the whole batch.
func WithPartialBatchResponse(on bool) Option { return func(p *Processor) { p.partial = on } }

// WithRecordReuse says whether the memory of one batch's records and events
// serves the next batch. Default: off.
//
// On, the Handler and the dead-letter sink must keep nothing of a batch
// after they return: no Message, no key, value or header bytes of a Record
// (a dead letter's RecordKey, RecordValue and header values are those
// bytes), and no event, nor any string of one (events are decoded into an
// event.Arena that is Reset after the batch). Batches then cost the garbage
// collector next to nothing per record.
func WithRecordReuse(on bool) Option { return func(p *Processor) { p.reuse = on } }

// WithLogger sets the logger of the one line Process logs per batch. Default:
// a logger that discards everything.
func WithLogger(l *slog.Logger) Option { return func(p *Processor) { p.logger = l } }

// NewProcessor returns a Processor for function (an identifier such as
// "inventory"; it names the function in dead letters and logs) that hands
// valid events to h. It fails when function is not an identifier, h is nil
// or no dead-letter sink is set, so that a misconfigured function fails at
// start-up rather than on every batch.
func NewProcessor(function string, h Handler, opts ...Option) (*Processor, error) {
	p := &Processor{function: function, handler: h, partial: true, now: time.Now}
	for _, o := range opts {
		o(p)
	}
	switch {
	case !event.IsID(function):
		return nil, fmt.Errorf("kafkabatch: function name %q is not an identifier", function)
	case h == nil:
		return nil, errors.New("kafkabatch: nil Handler")
	case p.sink == nil:
		return nil, errors.New("kafkabatch: no dead-letter sink: use WithDeadLetterSink")
	}
	if p.decoder == nil {
		p.decoder = event.NewDecoder()
	}
	if p.logger == nil {
		p.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return p, nil
}

// Stats counts what happened to the records of one batch.
type Stats struct {
	// Records is the number of records in the payload.
	Records int
	// Valid is the number of records that decoded into valid events and
	// were handed to the Handler.
	Valid int
	// DeadLettered counts the records stored by the dead-letter sink, by
	// reason: decode failures, and rejections by the Handler.
	DeadLettered map[event.Reason]int
	// Failed is the number of records that failed transiently: marked with
	// Batch.Fail, or whose dead letter could not be stored.
	Failed int
	// Retried is the number of records the event source mapping will
	// deliver again: every record at or after a failed partition's lowest
	// failed offset, or every record when Process returns an error.
	Retried int
	// Duration is how long Process took.
	Duration time.Duration
}

// Process processes one batch. It is the function's Lambda handler:
// lambda.Start(p.Process).
//
// Every record ends in exactly one of three ways:
//   - its value is a valid event, and the Handler succeeds with it;
//   - it is dead-lettered: its value is not a valid event (bad base64, not
//     JSON, wrong shape, invalid field: the event.Reason says which), or the
//     Handler rejects it. It is never retried: a retry would fail the same way
//     and block its partition;
//   - it failed transiently, and the event source mapping delivers it again:
//     the Handler marked it with Batch.Fail, or its dead letter could not be
//     stored (the record is not lost: it is retried and dead-lettered then).
//
// With partial batch response on (the default), the Response lists, for each
// partition with a failed record, the lowest failed offset: the event source
// mapping checkpoints there and redelivers that record and every later one of
// the partition. With it off, Process returns an error when any record failed.
//
// When the Handler returns an error, Process returns it (wrapped) and sends
// no dead letters: the whole batch is retried, dead-lettering included.
// Returning an error rather than listing the first offset of every partition
// keeps the failure visible as a Lambda error (metrics, alarms, bisection
// with BisectBatchOnFunctionError), and is correct whether or not the event
// source mapping reads partial batch responses. Process also returns an error
// wrapping ErrMalformedPayload for a payload with a record it cannot identify.
func (p *Processor) Process(ctx context.Context, ev events.KafkaEvent) (Response, error) {
	resp, _, err := p.ProcessWithStats(ctx, ev)
	return resp, err
}

// ProcessWithStats is Process, and also returns the batch's Stats.
func (p *Processor) ProcessWithStats(ctx context.Context, ev events.KafkaEvent) (resp Response, st Stats, err error) {
	start := time.Now()
	var sinkErr error
	defer func() {
		st.Duration = time.Since(start)
		p.log(ctx, &st, err, sinkErr)
	}()

	var (
		sp   *space
		recs []Message
	)
	if p.reuse {
		sp, _ = p.spaces.Get().(*space)
		if sp == nil {
			sp = new(space)
		}
		defer func() {
			clear(recs) // drop the events, and what the next batch must not see
			for i := range sp.arenas {
				sp.arenas[i].Reset()
			}
			p.spaces.Put(sp)
		}()
	}
	recs, err = records(&ev, sp)
	if err != nil {
		return Response{}, st, err
	}
	st.Records = len(recs)

	// Decode; route invalid records to the dead letters.
	var (
		letters    []*event.DeadLetter
		letterRecs []*Record
	)
	deadLetter := func(r *Record, reason event.Reason, cause error) {
		letters = append(letters, newDeadLetter(p.function, r, reason, cause, p.now))
		letterRecs = append(letterRecs, r)
	}
	p.decode(recs, sp)
	valid := make([]*Message, 0, len(recs))
	for i := range recs {
		m := &recs[i]
		if m.invalid != nil {
			deadLetter(&m.Record, knownReason(event.ReasonOf(m.invalid), event.ReasonInvalidValue), m.invalid)
			continue
		}
		valid = append(valid, m)
	}
	st.Valid = len(valid)

	// Handle the valid events.
	var failed []Outcome
	if len(valid) > 0 {
		b := NewBatch(valid)
		herr := p.handler.Handle(ctx, b)
		if herr == nil {
			herr = b.misuse()
		}
		if herr != nil {
			st.Retried = st.Records
			return Response{}, st, fmt.Errorf("%s: handle batch of %d events: %w", p.function, len(valid), herr)
		}
		for _, o := range b.Rejected() {
			deadLetter(&o.Message.Record, knownReason(event.ReasonOf(o.Err), event.ReasonRejected), o.Err)
		}
		failed = b.Failed()
	}

	// Store the dead letters; if that fails, their records are retried.
	if len(letters) > 0 {
		if sinkErr = p.sink.Send(ctx, letters); sinkErr != nil {
			for i, r := range letterRecs {
				failed = append(failed, Outcome{Message: &Message{Record: *r}, Err: fmt.Errorf("dead letter %s: %w", letters[i].EventID, sinkErr)})
			}
		} else {
			st.DeadLettered = make(map[event.Reason]int)
			for _, dl := range letters {
				st.DeadLettered[dl.Reason]++
			}
		}
	}

	st.Failed = len(failed)
	if len(failed) == 0 {
		return Response{}, st, nil
	}
	slices.SortFunc(failed, func(a, b Outcome) int { return compareRecords(&a.Message.Record, &b.Message.Record) })
	if !p.partial {
		st.Retried = st.Records
		return Response{}, st, fmt.Errorf("%s: %d of %d records failed, retrying the whole batch (partial batch response is off): %w",
			p.function, len(failed), st.Records, cause(failed, sinkErr))
	}
	// The lowest failed offset of each partition: failed is sorted, so it
	// is the first failure of each partition.
	lowest := make(map[string]int64)
	for _, o := range failed {
		r := &o.Message.Record
		id := r.TopicPartition()
		if _, ok := lowest[id]; ok {
			continue
		}
		lowest[id] = r.Offset
		resp.BatchItemFailures = append(resp.BatchItemFailures, BatchItemFailure{ItemIdentifier: ItemIdentifier{Partition: id, Offset: r.Offset}})
	}
	for i := range recs {
		r := &recs[i].Record
		if off, ok := lowest[r.TopicPartition()]; ok && r.Offset >= off {
			st.Retried++
		}
	}
	return resp, st, nil
}

// minDecodeChunk is the fewest records one goroutine decodes: below it,
// starting goroutines costs more than it saves.
const minDecodeChunk = 512

// decode decodes the key, value and headers of every record, and the event
// of every value that is base64, on all the cores the function has: a
// Decoder is safe for concurrent use, and each record has its own part of
// the batch's buffer. Each value is decoded into an event while its bytes
// are fresh in the cache. With sp (record reuse on), the events are made
// in sp's arenas, one per goroutine.
func (p *Processor) decode(msgs []Message, sp *space) {
	work := func(msgs []Message, a *event.Arena) {
		var seen byte
		for i := range msgs {
			m := &msgs[i]
			if i%prefetchBlock == 0 {
				// The next block's records; at the start, this one's too.
				lo := i + prefetchBlock
				if i == 0 {
					lo = 0
				}
				seen += touchRecords(msgs[min(lo, len(msgs)):min(i+2*prefetchBlock, len(msgs))])
			}
			m.load()
			if m.invalid != nil {
				continue
			}
			var (
				e   event.Event
				err error
			)
			if a != nil {
				e, err = p.decoder.DecodeIn(a, m.Value, m.Source())
			} else {
				e, err = p.decoder.Decode(m.Value, m.Source())
			}
			if err != nil {
				m.invalid = err
			} else {
				m.Event = e
			}
		}
		touched.Add(uint32(seen))
	}
	workers := max(min(runtime.GOMAXPROCS(0), len(msgs)/minDecodeChunk), 1)
	arena := func(int) *event.Arena { return nil }
	if sp != nil {
		if len(sp.arenas) < workers {
			sp.arenas = append(sp.arenas, make([]event.Arena, workers-len(sp.arenas))...)
		}
		arena = func(i int) *event.Arena { return &sp.arenas[i] }
	}
	if workers == 1 {
		work(msgs, arena(0))
		return
	}
	var wg sync.WaitGroup
	i := 0
	for chunk := range slices.Chunk(msgs, (len(msgs)+workers-1)/workers) {
		a := arena(i)
		i++
		wg.Go(func() { work(chunk, a) })
	}
	wg.Wait()
}

// prefetchBlock is how many records' keys and values decode has the memory
// system fetch at once, a block ahead of the record it decodes.
const prefetchBlock = 16

// touched keeps what touchRecords read, so that the reads are made.
var touched atomic.Uint32

// touchRecords reads a byte of each cache line of the keys and values of
// msgs that are still to decode. Loads that miss the caches all at once
// overlap, and one wait brings a block of records in, where decoding them
// in turn would wait on each record's first line or two: the records of a
// payload are scattered in memory.
func touchRecords(msgs []Message) (x byte) {
	for i := range msgs {
		if kr := msgs[i].src; kr != nil {
			x += touch(kr.Value) + touch(kr.Key)
		}
	}
	return x
}

// touchMax bounds what touch reads of a string: the hardware prefetcher
// streams the rest of a long one as it is read in order.
const touchMax = 2048

// touch reads a byte of each cache line of the first touchMax bytes of s.
func touch(s string) (x byte) {
	s = s[:min(len(s), touchMax)]
	for i := 0; i < len(s); i += 64 {
		x += s[i]
	}
	if len(s) > 0 {
		x += s[len(s)-1]
	}
	return x
}

// knownReason returns r if it is one of event.Reasons, else def.
func knownReason(r, def event.Reason) event.Reason {
	if slices.Contains(event.Reasons(), r) {
		return r
	}
	return def
}

// cause returns the error that explains failed records.
func cause(failed []Outcome, sinkErr error) error {
	if sinkErr != nil {
		return fmt.Errorf("send dead letters: %w", sinkErr)
	}
	for _, o := range failed {
		if o.Err != nil {
			return o.Err
		}
	}
	return errors.New("the handler gave no error")
}

// LogAttrs returns the attributes of a batch's log line: function,
// aws_request_id (from the Lambda context), records, valid, dead_lettered,
// dead_letter_reasons, failed, retried and duration_ms.
func (st *Stats) LogAttrs(ctx context.Context, function string) []slog.Attr {
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs, slog.String("function", function))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("aws_request_id", lc.AwsRequestID))
	}
	dead := 0
	reasons := make([]any, 0, 2*len(st.DeadLettered))
	for _, r := range event.Reasons() {
		if n := st.DeadLettered[r]; n > 0 {
			dead += n
			reasons = append(reasons, slog.Int(string(r), n))
		}
	}
	return append(attrs,
		slog.Int("records", st.Records),
		slog.Int("valid", st.Valid),
		slog.Int("dead_lettered", dead),
		slog.Group("dead_letter_reasons", reasons...),
		slog.Int("failed", st.Failed),
		slog.Int("retried", st.Retried),
		slog.Float64("duration_ms", float64(st.Duration.Microseconds())/1000),
	)
}

// log writes the batch's one log line. It never logs record values.
func (p *Processor) log(ctx context.Context, st *Stats, err, sinkErr error) {
	if p.metrics != nil {
		p.metrics.write(p.function, st, p.now())
	}
	level := slog.LevelInfo
	switch {
	case err != nil:
		level = slog.LevelError
	case st.Failed > 0:
		level = slog.LevelWarn
	}
	if !p.logger.Enabled(ctx, level) {
		return
	}
	attrs := st.LogAttrs(ctx, p.function)
	if sinkErr != nil {
		attrs = append(attrs, slog.String("dead_letter_error", sinkErr.Error()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	p.logger.LogAttrs(ctx, level, "batch processed", attrs...)
}
