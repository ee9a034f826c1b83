package esm

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runner is one Run of a Mapping. Its loop goroutine owns the partitions:
// what was polled and not yet batched, and which partitions a batch holds.
// The poll goroutine hands it fetches, the batch goroutines their progress,
// and the group callbacks the partitions assigned and revoked.
type runner struct {
	m   *Mapping
	ctx context.Context
	cl  *kgo.Client

	fetchCh  chan fetchMsg
	workerCh chan workerMsg
	assignCh chan assignMsg
	revokeCh chan *revokeMsg
	loopDone chan struct{} // closed when the loop has stopped every batch
	pollDone chan struct{}

	// pollMu orders fetches with revocations: a fetch polled before a
	// revocation can hold records of the revoked partitions, which are
	// dropped (they are fetched again from the committed offset by whoever
	// owns the partition next).
	pollMu  sync.Mutex
	gen     atomic.Uint64 // revocations so far
	revoked []revocation  // guarded by pollMu

	// Owned by the loop goroutine.
	parts    map[string]*partition
	order    []string // partition keys, sorted
	rr       int      // where the next batch starts in order
	workers  map[uint64]*worker
	nextID   uint64
	revoking []*revokeMsg
}

// partition is the loop's state of one assigned partition.
type partition struct {
	key       string
	topic     string
	partition int32
	buf       []*rec // polled, not in a batch, in offset order
	bufBytes  int    // JSON bytes of buf
	busy      bool   // a batch holds records of the partition
	paused    bool   // fetching is paused: buf is full
	next      int64  // offset after the last record polled; -1 before the first
}

type worker struct {
	cancel context.CancelFunc
	held   map[string]bool
}

type revocation struct {
	gen  uint64
	keys map[string]bool
}

type fetchMsg struct{ parts []fetched }

type fetched struct {
	topic     string
	partition int32
	hwm       int64
	recs      []*kgo.Record
}

// workerMsg is a batch's report: partitions it no longer holds, or that it
// is done, with the records it did not resolve when it was abandoned.
type workerMsg struct {
	id       uint64
	release  []string
	done     bool
	leftover []*rec
}

type assignMsg struct {
	tps map[string][]int32
	ack chan struct{}
}

type revokeMsg struct {
	tps     map[string][]int32
	ack     chan struct{}
	waiting map[uint64]bool // batches that must stop first
}

func newRunner(m *Mapping, ctx context.Context) *runner {
	return &runner{
		m:        m,
		ctx:      ctx,
		fetchCh:  make(chan fetchMsg),
		workerCh: make(chan workerMsg),
		assignCh: make(chan assignMsg),
		revokeCh: make(chan *revokeMsg),
		loopDone: make(chan struct{}),
		pollDone: make(chan struct{}),
		parts:    make(map[string]*partition),
		workers:  make(map[uint64]*worker),
	}
}

// poll hands every fetch to the loop until the client closes.
func (r *runner) poll() {
	defer close(r.pollDone)
	for {
		g0 := r.gen.Load()
		fs := r.cl.PollFetches(r.ctx)
		if r.ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) {
				r.m.noteError("fetch "+partitionKey(topic, partition), err)
				r.m.logger.Warn("fetch failed", slog.String("partition", partitionKey(topic, partition)), slog.String("err", err.Error()))
			}
		})
		r.pollMu.Lock()
		stale := make(map[string]bool)
		for _, rv := range r.revoked {
			if rv.gen > g0 {
				for k := range rv.keys {
					stale[k] = true
				}
			}
		}
		var msg fetchMsg
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 || stale[partitionKey(p.Topic, p.Partition)] {
				return
			}
			msg.parts = append(msg.parts, fetched{topic: p.Topic, partition: p.Partition, hwm: p.HighWatermark, recs: p.Records})
		})
		if len(msg.parts) > 0 {
			select {
			case r.fetchCh <- msg:
			case <-r.loopDone:
				r.pollMu.Unlock()
				return
			}
		}
		// Later polls start after every revocation so far.
		r.revoked = r.revoked[:0]
		r.pollMu.Unlock()
	}
}

// onAssigned is the group's OnPartitionsAssigned.
func (r *runner) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	msg := assignMsg{tps: assigned, ack: make(chan struct{})}
	select {
	case r.assignCh <- msg:
	case <-r.loopDone:
		return
	}
	select {
	case <-msg.ack:
	case <-r.loopDone:
	}
}

// onRevoked is the group's OnPartitionsRevoked and OnPartitionsLost: it
// returns once no batch holds a revoked partition any more, so that their
// next owner does not process records concurrently with this one.
func (r *runner) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if len(revoked) == 0 {
		return
	}
	keys := make(map[string]bool)
	for t, ps := range revoked {
		for _, p := range ps {
			keys[partitionKey(t, p)] = true
		}
	}
	r.pollMu.Lock()
	r.revoked = append(r.revoked, revocation{gen: r.gen.Add(1), keys: keys})
	r.pollMu.Unlock()

	msg := &revokeMsg{tps: revoked, ack: make(chan struct{}), waiting: make(map[uint64]bool)}
	select {
	case r.revokeCh <- msg:
	case <-r.loopDone:
		return
	}
	select {
	case <-msg.ack:
	case <-r.loopDone:
	}
}

// loop batches, dispatches and tracks until the run's context ends.
func (r *runner) loop() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var tc <-chan time.Time
		if wait := r.dispatch(); wait >= 0 {
			timer.Reset(wait)
			tc = timer.C
		} else {
			timer.Stop()
		}
		select {
		case <-r.ctx.Done():
			r.shutdown()
			return
		case f := <-r.fetchCh:
			r.ingest(f)
		case w := <-r.workerCh:
			r.onWorker(w)
		case a := <-r.assignCh:
			r.assign(a)
		case v := <-r.revokeCh:
			r.revoke(v)
		case <-tc:
		}
	}
}

// shutdown abandons every batch and waits until they have stopped.
func (r *runner) shutdown() {
	for _, w := range r.workers {
		w.cancel()
	}
	for len(r.workers) > 0 {
		r.onWorker(<-r.workerCh)
	}
	for _, v := range r.revoking {
		close(v.ack)
	}
	r.revoking = nil
	close(r.loopDone)
}

// ingest buffers the records of a fetch.
func (r *runner) ingest(f fetchMsg) {
	now := time.Now()
	for _, fp := range f.parts {
		p := r.parts[partitionKey(fp.topic, fp.partition)]
		if p == nil {
			continue // not ours (any more)
		}
		for _, kr := range fp.recs {
			if p.next >= 0 && kr.Offset < p.next {
				continue // polled before
			}
			p.next = kr.Offset + 1
			x := &rec{r: kr, key: p.key, at: now, json: encodeRecord(nil, kr)}
			p.buf = append(p.buf, x)
			p.bufBytes += len(x.json)
		}
		r.m.mu.Lock()
		if ps := r.m.parts[p.key]; ps != nil {
			if ps.Committed < 0 && len(fp.recs) > 0 {
				ps.Committed = fp.recs[0].Offset // where consuming resumed
			}
			ps.HighWatermark = max(ps.HighWatermark, fp.hwm)
			ps.Buffered = len(p.buf)
		}
		r.m.mu.Unlock()
		r.throttle(p)
	}
}

// throttle pauses fetching a partition with a full buffer (a batch's worth
// of records, or of payload), and resumes it below that.
func (r *runner) throttle(p *partition) {
	full := len(p.buf) >= r.m.s.BatchSize || p.bufBytes >= r.m.maxPayload
	switch {
	case full && !p.paused:
		r.cl.PauseFetchPartitions(map[string][]int32{p.topic: {p.partition}})
		p.paused = true
	case !full && p.paused:
		r.cl.ResumeFetchPartitions(map[string][]int32{p.topic: {p.partition}})
		p.paused = false
	}
}

// eligible returns the partitions a new batch can take records from, in
// round-robin order.
func (r *runner) eligible() []*partition {
	var out []*partition
	for i := range r.order {
		p := r.parts[r.order[(r.rr+i)%len(r.order)]]
		if !p.busy && len(p.buf) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// dispatch starts batches while records and concurrency allow. It returns
// how long until the batching window of the waiting records closes, or -1
// when there is nothing to wait for.
func (r *runner) dispatch() time.Duration {
	s := r.m.s
	for len(r.workers) < r.m.concurrency {
		elig := r.eligible()
		if len(elig) == 0 {
			return -1
		}
		count, size := 0, len(r.m.prefix)+len(payloadSuffix)-1
		oldest := elig[0].buf[0].at
		for _, p := range elig {
			count += len(p.buf)
			size += 1 + len(p.key) + 5 + p.bufBytes + len(p.buf) - 1 // [,]"key":[records]
			if p.buf[0].at.Before(oldest) {
				oldest = p.buf[0].at
			}
		}
		if count < s.BatchSize && size <= r.m.maxPayload {
			if wait := time.Until(oldest.Add(s.MaxBatchingWindow)); wait > 0 {
				return wait
			}
		}
		r.start(r.take(elig))
		r.rr++
		if len(r.order) > 0 {
			r.rr %= len(r.order)
		}
	}
	return -1
}

// take removes the records of the next batch from the partitions' buffers:
// as many as BatchSize and the payload limit allow, a prefix of each
// partition's buffer, partitions in turn. A record too large for any
// payload is taken alone: the batch goes to OnFailure.
func (r *runner) take(elig []*partition) []*rec {
	z := newSizer(r.m.prefix)
	var recs []*rec
	for _, p := range elig {
		n := 0
		for n < len(p.buf) && len(recs) < r.m.s.BatchSize && z.with(p.buf[n]) <= r.m.maxPayload {
			z.add(p.buf[n])
			recs = append(recs, p.buf[n])
			n++
		}
		if n == 0 && len(recs) == 0 {
			recs, n = append(recs, p.buf[0]), 1 // too large alone
		}
		if n == 0 {
			continue
		}
		for _, x := range p.buf[:n] {
			p.bufBytes -= len(x.json)
		}
		p.buf = slices.Delete(p.buf, 0, n)
		p.busy = true
		r.throttle(p)
		if z.n == 0 || len(recs) == r.m.s.BatchSize {
			break
		}
	}
	return recs
}

// start runs a batch of recs in a goroutine of its own.
func (r *runner) start(recs []*rec) {
	r.nextID++
	id := r.nextID
	ctx, cancel := context.WithCancel(r.ctx)
	w := &worker{cancel: cancel, held: make(map[string]bool)}
	fresh := 0
	for _, x := range recs {
		w.held[x.key] = true
		if !x.taken {
			x.taken = true
			fresh++
		}
	}
	r.workers[id] = w
	r.m.mu.Lock()
	r.m.st.Batches++
	r.m.st.Records += int64(fresh)
	r.m.st.InFlight = len(r.workers)
	for k := range w.held {
		if ps := r.m.parts[k]; ps != nil {
			ps.InFlight = true
			ps.Buffered = len(r.parts[k].buf)
		}
	}
	r.m.mu.Unlock()
	b := newBatch(r, ctx, id, recs)
	go func() {
		leftover := b.run()
		cancel()
		r.workerCh <- workerMsg{id: id, done: true, leftover: leftover}
	}()
}

// onWorker applies a batch's report.
func (r *runner) onWorker(msg workerMsg) {
	w := r.workers[msg.id]
	if w == nil {
		return
	}
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	free := func(key string) {
		delete(w.held, key)
		if p := r.parts[key]; p != nil {
			p.busy = false
			if ps := r.m.parts[key]; ps != nil {
				ps.InFlight = false
			}
		}
	}
	for _, k := range msg.release {
		free(k)
	}
	if !msg.done {
		return
	}
	for k := range w.held {
		free(k)
	}
	delete(r.workers, msg.id)
	r.m.st.InFlight = len(r.workers)

	// Abandoned records of partitions still ours go back in front of their
	// buffers, in order.
	back := make(map[string][]*rec)
	for _, x := range msg.leftover {
		back[x.key] = append(back[x.key], x)
	}
	for k, xs := range back {
		p := r.parts[k]
		if p == nil {
			continue
		}
		for _, x := range xs {
			p.bufBytes += len(x.json)
		}
		p.buf = append(xs, p.buf...)
		if ps := r.m.parts[k]; ps != nil {
			ps.Buffered = len(p.buf)
		}
	}

	r.revoking = slices.DeleteFunc(r.revoking, func(v *revokeMsg) bool {
		delete(v.waiting, msg.id)
		if len(v.waiting) == 0 {
			close(v.ack)
			return true
		}
		return false
	})
}

// assign adds partitions assigned to the group member.
func (r *runner) assign(msg assignMsg) {
	r.m.mu.Lock()
	for t, ps := range msg.tps {
		for _, n := range ps {
			k := partitionKey(t, n)
			if r.parts[k] != nil {
				continue
			}
			r.parts[k] = &partition{key: k, topic: t, partition: n, next: -1}
			r.order = append(r.order, k)
			r.m.parts[k] = &PartitionStats{Topic: t, Partition: n, Committed: -1, HighWatermark: -1}
		}
	}
	r.m.mu.Unlock()
	slices.SortFunc(r.order, func(a, b string) int {
		pa, pb := r.parts[a], r.parts[b]
		return cmp.Or(cmp.Compare(pa.topic, pb.topic), cmp.Compare(pa.partition, pb.partition))
	})
	r.m.logger.Info("partitions assigned", slog.Any("partitions", msg.tps))
	close(msg.ack)
}

// revoke drops revoked partitions, and stops the batches that hold them.
func (r *runner) revoke(msg *revokeMsg) {
	r.m.mu.Lock()
	for t, ps := range msg.tps {
		for _, n := range ps {
			k := partitionKey(t, n)
			p := r.parts[k]
			if p == nil {
				continue
			}
			if p.paused {
				r.cl.ResumeFetchPartitions(map[string][]int32{t: {n}}) // pauses outlive assignments
			}
			delete(r.parts, k)
			delete(r.m.parts, k)
			r.order = slices.DeleteFunc(r.order, func(o string) bool { return o == k })
			for id, w := range r.workers {
				if w.held[k] {
					w.cancel()
					msg.waiting[id] = true
				}
			}
		}
	}
	r.m.mu.Unlock()
	if len(r.order) > 0 {
		r.rr %= len(r.order)
	} else {
		r.rr = 0
	}
	r.m.logger.Info("partitions revoked", slog.Any("partitions", msg.tps), slog.Int("batches_stopped", len(msg.waiting)))
	if len(msg.waiting) == 0 {
		close(msg.ack)
		return
	}
	r.revoking = append(r.revoking, msg)
}
