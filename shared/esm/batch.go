package esm

import (
	"context"
	"errors"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// batch runs one batch to its end: it invokes the function with it, retries
// it, splits it, gives up on records, and commits each partition as far as
// its records are resolved (processed, or handed to OnFailure).
type batch struct {
	r   *runner
	m   *Mapping
	ctx context.Context
	id  uint64

	queue []*attempt // what is left to resolve, in order
	parts map[string]*progress
	order []string // partition keys, in the batch's order
}

// attempt is a run of records sent to the function together: the whole
// batch, a half of a split one, or what a partial batch response left.
type attempt struct {
	recs      []*rec
	retries   int              // retries counted against RetryAttempts
	invokes   int              // invocations that carried the records
	requestID string           // of the last invocation
	response  *ResponseContext // of the last invocation
	failures  int              // consecutive failures, for the backoff
}

// progress tracks one partition's records in the batch.
type progress struct {
	topic     string
	partition int32
	recs      []*rec
	index     map[int64]int // offset to position in recs
	done      []bool
	next      int // position of the first record not resolved
	released  bool
}

func newBatch(r *runner, ctx context.Context, id uint64, recs []*rec) *batch {
	b := &batch{r: r, m: r.m, ctx: ctx, id: id, parts: make(map[string]*progress)}
	for _, x := range recs {
		p := b.parts[x.key]
		if p == nil {
			p = &progress{topic: x.r.Topic, partition: x.r.Partition, index: make(map[int64]int)}
			b.parts[x.key] = p
			b.order = append(b.order, x.key)
		}
		p.index[x.r.Offset] = len(p.recs)
		p.recs = append(p.recs, x)
		p.done = append(p.done, false)
	}
	b.queue = []*attempt{{recs: recs}}
	return b
}

// outcome is how an invocation ended.
type outcome int

const (
	succeeded   outcome = iota
	partial             // a valid partial batch response listed failures
	failed              // a function error, or an invalid partial batch response
	unreachable         // the invocation could not be made
	abandoned           // the mapping is stopping, or lost a partition
)

// run resolves the batch, and returns the records it did not resolve
// because it was abandoned.
func (b *batch) run() (leftover []*rec) {
	s := b.m.s
	for len(b.queue) > 0 {
		if b.ctx.Err() != nil || !b.checkpoint() {
			return b.unresolved()
		}
		a := b.queue[0]

		if z := newSizer(b.m.prefix); len(a.recs) == 1 && z.with(a.recs[0]) > b.m.maxPayload {
			if !b.giveUp(a, a.recs, MaximumPayloadSizeExceeded) {
				return b.unresolved()
			}
			b.pop()
			continue
		}
		if s.maxAge > 0 {
			var old, fresh []*rec
			now := b.m.now()
			for _, x := range a.recs {
				if t := x.r.Timestamp; !t.IsZero() && now.Sub(t) > s.maxAge {
					old = append(old, x)
				} else {
					fresh = append(fresh, x)
				}
			}
			if len(old) > 0 {
				if !b.giveUp(a, old, RecordAgeExceeded) {
					return b.unresolved()
				}
				a.recs = fresh
				if len(fresh) == 0 {
					b.pop()
					continue
				}
			}
		}

		out, lowest := b.invoke(a)
		switch out {
		case abandoned:
			return b.unresolved()
		case succeeded:
			b.resolve(a.recs, true)
			b.pop()
		case partial:
			var ok, rest []*rec
			for _, x := range a.recs {
				if low, f := lowest[x.key]; f && x.r.Offset >= low {
					rest = append(rest, x)
				} else {
					ok = append(ok, x)
				}
			}
			b.resolve(ok, true)
			a.recs = rest
			if !b.checkpoint() {
				return b.unresolved()
			}
			if !b.retry(a) {
				return b.unresolved()
			}
		case failed:
			if s.BisectBatchOnError && len(a.recs) > 1 {
				half := len(a.recs) / 2
				h1, h2 := *a, *a
				h1.recs, h2.recs = a.recs[:half:half], a.recs[half:]
				b.queue = append([]*attempt{&h1, &h2}, b.queue[1:]...)
				b.m.count(func(st *Stats) { st.Bisects++ })
				b.m.logger.Debug("batch split", slog.Uint64("batch", b.id), slog.Int("records", len(a.recs)))
			} else if !b.retry(a) {
				return b.unresolved()
			}
		case unreachable:
			a.failures++
			if !sleep(b.ctx, b.m.backoff(a.failures)) {
				return b.unresolved()
			}
		}
	}
	if !b.checkpoint() {
		return b.unresolved()
	}
	return nil
}

// retry counts a retry of a, and pauses before it; when a has used its
// retries, it gives up on a's records instead. It reports false when the
// batch was abandoned.
func (b *batch) retry(a *attempt) bool {
	a.retries++
	a.failures++
	if r := b.m.s.retries; r != Infinite && a.retries > r {
		if !b.giveUp(a, a.recs, RetryAttemptsExhausted) {
			return false
		}
		b.pop()
		return true
	}
	return sleep(b.ctx, b.m.backoff(a.failures))
}

// pop drops the first attempt of the queue.
func (b *batch) pop() { b.queue = b.queue[1:] }

// invoke sends a's records to the function once. With a partial outcome, it
// returns the lowest failed offset of each partition the response listed.
func (b *batch) invoke(a *attempt) (outcome, map[string]int64) {
	payload := buildPayload(b.m.prefix, a.recs)
	id := newRequestID()
	retry := a.invokes > 0
	b.m.count(func(st *Stats) {
		st.Invocations++
		st.Bytes += int64(len(payload))
		if retry {
			st.Retries++
		}
	})
	resp, err := b.m.invoker.Invoke(ContextWithRequestID(b.ctx, id), payload)
	if b.ctx.Err() != nil {
		return abandoned, nil
	}
	log := b.m.logger.With(slog.Uint64("batch", b.id), slog.String("aws_request_id", id), slog.Int("records", len(a.recs)),
		slog.Int("payload_bytes", len(payload)), slog.Int("retries", a.retries))
	var fe *FunctionError
	if errors.As(err, &fe) {
		a.invokes++
		a.requestID, a.response = id, &ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"}
		b.m.count(func(st *Stats) { st.FunctionErrors++ })
		b.m.noteError("function error", fe)
		log.Warn("function failed the batch", slog.String("error_type", fe.Type), slog.String("err", fe.Message))
		return failed, nil
	}
	if err != nil {
		b.m.count(func(st *Stats) { st.InvocationErrors++ })
		b.m.noteError("invoke", err)
		log.Warn("could not invoke the function", slog.String("err", err.Error()))
		return unreachable, nil
	}
	a.invokes++
	a.requestID, a.response = id, &ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}
	if !b.m.s.ReportBatchItemFailures {
		log.Debug("batch succeeded")
		return succeeded, nil
	}
	offsets := make(map[string]map[int64]struct{})
	for _, x := range a.recs {
		if offsets[x.key] == nil {
			offsets[x.key] = make(map[int64]struct{})
		}
		offsets[x.key][x.r.Offset] = struct{}{}
	}
	lowest, err := parseResponse(resp, offsets)
	if err != nil {
		b.m.count(func(st *Stats) { st.InvalidResponses++ })
		b.m.noteError("partial batch response", err)
		log.Warn("the whole batch failed", slog.String("err", err.Error()))
		return failed, nil
	}
	if len(lowest) == 0 {
		log.Debug("batch succeeded")
		return succeeded, nil
	}
	b.m.count(func(st *Stats) { st.PartialFailures++ })
	log.Info("batch partly failed", slog.Any("lowest_failed_offsets", lowest))
	return partial, lowest
}

// giveUp hands recs, records of a, to OnFailure (or discards them without
// one) for cond. It reports false when the batch was abandoned before
// OnFailure took them.
func (b *batch) giveUp(a *attempt, recs []*rec, cond Condition) bool {
	f := newFailure(b.m.s, b.m.prefix, recs, cond, a, b.m.now())
	log := b.m.logger.With(slog.Uint64("batch", b.id), slog.String("condition", string(cond)), slog.Int("records", len(recs)),
		slog.Any("records_info", f.KafkaBatchInfo.RecordsInfo), slog.Int("invocations", a.invokes))
	if d := b.m.s.OnFailure; d != nil {
		for n := 1; ; n++ {
			err := d.Send(b.ctx, f)
			if err == nil {
				break
			}
			if b.ctx.Err() != nil {
				return false
			}
			b.m.noteError("send to the on-failure destination", err)
			log.Error("could not send records to the on-failure destination", slog.String("err", err.Error()))
			if !sleep(b.ctx, b.m.backoff(n)) {
				return false
			}
		}
		log.Warn("records sent to the on-failure destination")
		b.m.count(func(st *Stats) { st.SentToDestination += int64(len(recs)) })
	} else {
		log.Error("records discarded: no on-failure destination")
		b.m.count(func(st *Stats) { st.Discarded += int64(len(recs)) })
	}
	b.resolve(recs, false)
	return true
}

// resolve marks recs as done with.
func (b *batch) resolve(recs []*rec, ok bool) {
	for _, x := range recs {
		p := b.parts[x.key]
		p.done[p.index[x.r.Offset]] = true
	}
	if ok {
		b.m.count(func(st *Stats) { st.Succeeded += int64(len(recs)) })
	}
}

// unresolved returns the records left in the queue, in order.
func (b *batch) unresolved() []*rec {
	var out []*rec
	for _, a := range b.queue {
		out = append(out, a.recs...)
	}
	return out
}

// checkpoint commits every partition up to its first unresolved record,
// and releases the partitions the batch has resolved. It reports false when
// the batch was abandoned.
func (b *batch) checkpoint() bool {
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	commits := make(map[string]int64)
	var release []string
	for _, k := range b.order {
		p := b.parts[k]
		from := p.next
		for p.next < len(p.recs) && p.done[p.next] {
			p.next++
		}
		if p.next > from {
			last := p.recs[p.next-1].r
			if offsets[p.topic] == nil {
				offsets[p.topic] = make(map[int32]kgo.EpochOffset)
			}
			offsets[p.topic][p.partition] = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
			commits[k] = last.Offset + 1
		}
		if p.next == len(p.recs) && !p.released {
			p.released = true
			release = append(release, k)
		}
	}
	if len(offsets) > 0 && !b.commit(offsets, commits) {
		return false
	}
	if len(release) > 0 {
		b.r.workerCh <- workerMsg{id: b.id, release: release}
	}
	return true
}

// commit commits offsets for the group, retrying a few times. A commit that
// keeps failing is logged and skipped: the records are processed, and a
// later commit of the partition covers them (or, if none comes, they are
// delivered again). It reports false when the batch was abandoned.
func (b *batch) commit(offsets map[string]map[int32]kgo.EpochOffset, next map[string]int64) bool {
	const tries = 5
	var err error
	for n := 1; n <= tries; n++ {
		err = nil
		b.r.cl.CommitOffsetsSync(b.ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, cerr error) {
			if cerr != nil {
				err = cerr
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil && err == nil {
						err = perr
					}
				}
			}
		})
		if b.ctx.Err() != nil {
			return false
		}
		if err == nil {
			b.m.mu.Lock()
			for k, off := range next {
				if ps := b.m.parts[k]; ps != nil {
					ps.Committed = max(ps.Committed, off)
				}
			}
			b.m.mu.Unlock()
			return true
		}
		if n < tries && !sleep(b.ctx, b.m.backoff(n)) {
			return false
		}
	}
	b.m.noteError("commit offsets", err)
	b.m.logger.Error("could not commit offsets", slog.Uint64("batch", b.id), slog.Any("offsets", next), slog.String("err", err.Error()))
	return true
}

// count updates the mapping's counters.
func (m *Mapping) count(fn func(*Stats)) {
	m.mu.Lock()
	fn(&m.st)
	m.mu.Unlock()
}
