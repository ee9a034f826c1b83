package esm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// TestPartitionOrder runs batches of several partitions concurrently and
// checks that each partition's records arrive once each, in offset order,
// with never two batches of one partition in flight.
func TestPartitionOrder(t *testing.T) {
	t.Parallel()
	const partitions, perPartition = 4, 150
	c, cl := newKafka(t, partitions, "orders")
	var (
		inFlight   sync.Map // partition key -> *atomic.Int32
		overlapped atomic.Bool
		maxBatch   atomic.Int32
	)
	f := &function{t: t, respond: func(_ int, recs []got) (kafkabatch.Response, error) {
		keys := make(map[string]bool)
		for _, r := range recs {
			keys[partitionKey(r.Topic, r.Partition)] = true
		}
		for k := range keys {
			n, _ := inFlight.LoadOrStore(k, new(atomic.Int32))
			if n.(*atomic.Int32).Add(1) > 1 {
				overlapped.Store(true)
			}
		}
		if int32(len(recs)) > maxBatch.Load() {
			maxBatch.Store(int32(len(recs)))
		}
		time.Sleep(2 * time.Millisecond) // let batches overlap
		for k := range keys {
			n, _ := inFlight.Load(k)
			n.(*atomic.Int32).Add(-1)
		}
		return kafkabatch.Response{}, nil
	}}
	cfg := baseConfig(c, "orders")
	cfg.BatchSize = 25
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle), WithMaxConcurrency(3))
	for p := range int32(partitions) {
		for i := 0; i < perPartition; i += 30 {
			produce(t, cl, records("orders", p, i, 30)...)
		}
	}
	drain(t, m)

	if overlapped.Load() {
		t.Error("two batches of one partition were in flight at once")
	}
	if maxBatch.Load() > 25 {
		t.Errorf("a batch had %d records, more than BatchSize 25", maxBatch.Load())
	}
	last := make(map[string]int64)
	for _, call := range f.invocations() {
		for _, r := range call {
			k := partitionKey(r.Topic, r.Partition)
			if prev, ok := last[k]; ok && r.Offset != prev+1 {
				t.Fatalf("%s: offset %d after %d", k, r.Offset, prev)
			} else if !ok && r.Offset != 0 {
				t.Fatalf("%s starts at %d", k, r.Offset)
			}
			last[k] = r.Offset
			if want := fmt.Sprintf("orders/%d/%d", r.Partition, r.Offset); r.Value != want {
				t.Fatalf("%s: value %q, want %q", r.coord, r.Value, want)
			}
		}
	}
	for p := range int32(partitions) {
		if last[partitionKey("orders", p)] != perPartition-1 {
			t.Errorf("partition %d: last offset %d, want %d", p, last[partitionKey("orders", p)], perPartition-1)
		}
	}
	st := m.Stats()
	if st.Records != partitions*perPartition || st.Succeeded != st.Records || st.Retries != 0 {
		t.Errorf("stats %+v", st)
	}
	for p, off := range committed(t, c, m.ConsumerGroupID()) {
		if off != perPartition {
			t.Errorf("%s committed at %d, want %d", p, off, perPartition)
		}
	}
}

// TestNoCommitBeforeSuccess stops a mapping while the function holds its
// first batch: nothing is committed, and the next mapping of the group gets
// the same records again.
func TestNoCommitBeforeSuccess(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "carts")
	produce(t, cl, records("carts", 0, 0, 10)...)
	entered := make(chan []got, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stuck := &function{t: t, respond: func(n int, recs []got) (kafkabatch.Response, error) {
		if n == 0 {
			entered <- recs
		}
		<-release // the mapping stops while the function runs
		return kafkabatch.Response{}, nil
	}}
	cfg := baseConfig(c, "carts")
	// The function never returns; the invoker returns when the mapping stops.
	m1, stop := newMapping(t, cfg, NewHandlerInvoker(stuck.Handle, WithFunctionTimeout(time.Hour)))
	var first []got
	select {
	case first = <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the function was never invoked")
	}
	stop()
	if off := committed(t, c, m1.ConsumerGroupID())["carts-0"]; off != 0 {
		t.Errorf("committed %d while the batch was in flight, want the starting position 0", off)
	}
	if st := m1.Stats(); st.Succeeded != 0 || st.FunctionErrors != 0 || st.InFlight != 0 {
		t.Errorf("stats after stop: %+v", st)
	}

	f := &function{t: t}
	m2, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m2)
	calls := f.invocations()
	if len(calls) == 0 || len(first) == 0 || !slices.Equal(calls[0][:len(first)], first) {
		t.Errorf("the restarted mapping did not deliver the abandoned batch again first:\nabandoned %v\nthen %v", first, calls)
	}
	if n := f.count(); len(n) != 10 {
		t.Errorf("the restarted mapping delivered %d distinct records, want 10", len(n))
	}
	if off := committed(t, c, m2.ConsumerGroupID())["carts-0"]; off != 10 {
		t.Errorf("committed %d, want 10", off)
	}
}

// poisonFunction fails every invocation carrying one of the poison records.
func poisonFunction(t *testing.T, poison ...coord) *function {
	return &function{t: t, respond: func(_ int, recs []got) (kafkabatch.Response, error) {
		for _, p := range poison {
			if contains(recs, p) {
				return kafkabatch.Response{}, fmt.Errorf("cannot process %s", p)
			}
		}
		return kafkabatch.Response{}, nil
	}}
}

// TestRetryBound fails every batch with a poison record: the batch is sent
// 1 + RetryAttempts times, then goes to the destination, and the partition
// goes on.
func TestRetryBound(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "payments")
	produce(t, cl, records("payments", 0, 0, 10)...)
	poison := coord{"payments", 0, 3}
	f := poisonFunction(t, poison)
	dir := t.TempDir()
	cfg := baseConfig(c, "payments")
	cfg.BatchSize, cfg.RetryAttempts, cfg.OnFailure = 5, new(2), NewDirDestination(dir)
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m)

	failures := readDir(t, dir)
	failed := failedRecords(t, failures)
	counts := f.count()
	if !slices.ContainsFunc(failed, func(g got) bool { return g.coord == poison }) {
		t.Fatalf("the poison record is not in the destination: %v", failed)
	}
	inDest := make(map[coord]bool)
	for _, g := range failed {
		inDest[g.coord] = true
		if counts[g.coord] != 3 {
			t.Errorf("%s went to the destination after %d invocations, want 3", g.coord, counts[g.coord])
		}
		if want := fmt.Sprintf("payments/0/%d", g.Offset); g.Value != want {
			t.Errorf("%s in the destination has value %q, want %q", g.coord, g.Value, want)
		}
	}
	for i := range int64(10) {
		co := coord{"payments", 0, i}
		if !inDest[co] && counts[co] != 1 {
			t.Errorf("%s delivered %d times, want once", co, counts[co])
		}
	}
	for _, fl := range failures {
		rc := fl.RequestContext
		if rc.Condition != RetryAttemptsExhausted || rc.ApproximateInvokeCount != 3 || rc.FunctionARN != "arn:aws:lambda:us-east-1:000000000000:function:fn" || rc.RequestID == "" {
			t.Errorf("request context %+v", rc)
		}
		if fl.ResponseContext == nil || fl.ResponseContext.FunctionError != "Unhandled" || fl.Version != "1.0" {
			t.Errorf("response context %+v, version %q", fl.ResponseContext, fl.Version)
		}
		if fl.KafkaBatchInfo.EventSourceARN != testARN || fl.KafkaBatchInfo.BootstrapServers == "" {
			t.Errorf("batch info %+v", fl.KafkaBatchInfo)
		}
	}
	st := m.Stats()
	if st.SentToDestination != int64(len(failed)) || st.Succeeded != 10-int64(len(failed)) || st.FunctionErrors != 3 || st.Retries != 2 {
		t.Errorf("stats %+v", st)
	}
	if off := committed(t, c, m.ConsumerGroupID())["payments-0"]; off != 10 {
		t.Errorf("committed %d, want 10", off)
	}
}

// TestInfiniteRetriesWithDestination: with the default infinite retries and
// an OnFailure destination, Lambda bounds retries at 10.
func TestInfiniteRetriesWithDestination(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "refunds")
	produce(t, cl, records("refunds", 0, 0, 3)...)
	poison := coord{"refunds", 0, 1}
	f := poisonFunction(t, poison)
	dir := t.TempDir()
	cfg := baseConfig(c, "refunds")
	cfg.BatchSize, cfg.OnFailure = 1, NewDirDestination(dir)
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m)
	if n := f.count()[poison]; n != 1+DestinationRetryAttempts {
		t.Errorf("the poison record was sent %d times, want %d", n, 1+DestinationRetryAttempts)
	}
	if failed := failedRecords(t, readDir(t, dir)); len(failed) != 1 || failed[0].coord != poison {
		t.Errorf("destination holds %v, want the poison record only", failed)
	}
}

// TestInfiniteRetriesBlock: with the defaults (infinite retries, no
// destination), a poison record blocks its partition.
func TestInfiniteRetriesBlock(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "shipments")
	produce(t, cl, records("shipments", 0, 0, 5)...)
	poison := coord{"shipments", 0, 2}
	f := poisonFunction(t, poison)
	cfg := baseConfig(c, "shipments")
	cfg.BatchSize = 1
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	waitFor(t, "20 retries of the poison record", func() bool { return f.count()[poison] >= 21 })
	counts := f.count()
	if counts[coord{"shipments", 0, 3}] != 0 || counts[coord{"shipments", 0, 4}] != 0 {
		t.Errorf("records after the poison record were delivered: %v", counts)
	}
	if off := committed(t, c, m.ConsumerGroupID())["shipments-0"]; off != 2 {
		t.Errorf("committed %d, want 2, the poison record's offset", off)
	}
	if st := m.Stats(); st.Discarded != 0 || st.SentToDestination != 0 || st.InFlight != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestRecordAge gives up on records older than MaxRecordAge: before their
// first invocation, and between retries.
func TestRecordAge(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "views")
	clock := &fakeClock{t: time.Now()}
	old := records("views", 0, 0, 3)
	for _, r := range old {
		r.Timestamp = clock.Now().Add(-2 * time.Hour)
	}
	fresh := records("views", 0, 3, 2)
	for _, r := range fresh {
		r.Timestamp = clock.Now()
	}
	produce(t, cl, append(old, fresh...)...)
	failing := coord{"views", 0, 4}
	sent := 0
	f := &function{t: t, respond: func(n int, recs []got) (kafkabatch.Response, error) {
		if !contains(recs, failing) {
			return kafkabatch.Response{}, nil
		}
		if sent++; sent == 3 {
			clock.Advance(2 * time.Hour) // the record ages while it is retried
		}
		return kafkabatch.Response{}, errors.New("downstream unavailable")
	}}
	dir := t.TempDir()
	cfg := baseConfig(c, "views")
	cfg.BatchSize, cfg.MaxRecordAge, cfg.RetryAttempts, cfg.OnFailure = 1, time.Hour, new(MaxRetryAttempts), NewDirDestination(dir)
	m, err := New(cfg, NewHandlerInvoker(f.Handle), testOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	m.now = clock.Now
	run(t, m)
	drain(t, m)

	counts := f.count()
	for _, r := range old {
		if n := counts[coord{"views", 0, r.Offset}]; n != 0 {
			t.Errorf("record %d, older than MaxRecordAge, was sent %d times", r.Offset, n)
		}
	}
	var aged, retried []*Failure
	for _, fl := range readDir(t, dir) {
		if fl.RequestContext.Condition != RecordAgeExceeded {
			t.Errorf("condition %s, want %s", fl.RequestContext.Condition, RecordAgeExceeded)
		}
		if fl.RequestContext.ApproximateInvokeCount == 0 {
			aged = append(aged, fl)
		} else {
			retried = append(retried, fl)
		}
	}
	var neverSent []coord
	for _, g := range failedRecords(t, aged) {
		neverSent = append(neverSent, g.coord)
	}
	if want := []coord{{"views", 0, 0}, {"views", 0, 1}, {"views", 0, 2}}; !slices.Equal(neverSent, want) {
		t.Errorf("aged out before any invocation: %v, want %v", neverSent, want)
	}
	for _, fl := range aged {
		if fl.ResponseContext != nil {
			t.Errorf("records never sent have a response context: %+v", fl.ResponseContext)
		}
	}
	if len(retried) != 1 {
		t.Fatalf("%d failures of records that aged while retried, want 1", len(retried))
	}
	if got := failedRecords(t, retried); len(got) != 1 || got[0].coord != failing {
		t.Errorf("aged while retried: %v, want %s", got, failing)
	}
	if rc := retried[0].RequestContext; rc.ApproximateInvokeCount != counts[failing] || counts[failing] != 3 {
		t.Errorf("approximateInvokeCount %d; the record was sent %d times, want 3", rc.ApproximateInvokeCount, counts[failing])
	}
	if retried[0].ResponseContext == nil || retried[0].ResponseContext.FunctionError != "Unhandled" {
		t.Errorf("response context %+v", retried[0].ResponseContext)
	}
	if counts[coord{"views", 0, 3}] != 1 {
		t.Errorf("the fresh record 3 was sent %d times, want once", counts[coord{"views", 0, 3}])
	}
}

// TestBisectIsolatesPoison splits failing batches until the poison record
// is alone: only it goes to the destination.
func TestBisectIsolatesPoison(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "orders")
	produce(t, cl, records("orders", 0, 0, 16)...)
	poison := coord{"orders", 0, 5}
	f := poisonFunction(t, poison)
	dir := t.TempDir()
	cfg := baseConfig(c, "orders")
	cfg.BatchSize, cfg.BisectBatchOnError, cfg.RetryAttempts, cfg.OnFailure = 16, true, new(1), NewDirDestination(dir)
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m)

	failures := readDir(t, dir)
	if failed := failedRecords(t, failures); len(failed) != 1 || failed[0].coord != poison {
		t.Fatalf("destination holds %v, want the poison record alone", failed)
	}
	counts := f.count()
	if rc := failures[0].RequestContext; rc.Condition != RetryAttemptsExhausted || rc.ApproximateInvokeCount != counts[poison] {
		t.Errorf("request context %+v; the poison record was sent %d times", rc, counts[poison])
	}
	// Alone, it was sent once and retried once.
	calls := f.invocations()
	alone := 0
	for _, call := range calls {
		if len(call) == 1 && call[0].coord == poison {
			alone++
		}
	}
	if alone != 2 {
		t.Errorf("the poison record was sent alone %d times, want 2 (RetryAttempts 1)", alone)
	}
	for i := range int64(16) {
		if co := (coord{"orders", 0, i}); co != poison && counts[co] == 0 {
			t.Errorf("%s was never delivered", co)
		}
	}
	st := m.Stats()
	if st.Bisects == 0 || st.Succeeded != 15 || st.SentToDestination != 1 {
		t.Errorf("stats %+v", st)
	}
	if off := committed(t, c, m.ConsumerGroupID())["orders-0"]; off != 16 {
		t.Errorf("committed %d, want 16", off)
	}
}

// TestPartialBatchResponse: a partition named in the response resumes at its
// lowest failed offset; the others are not delivered again.
func TestPartialBatchResponse(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 2, "stock")
	produce(t, cl, append(records("stock", 0, 0, 10), records("stock", 1, 0, 10)...)...)
	var mu sync.Mutex
	seen := make(map[coord]bool)
	failOnce := []coord{{"stock", 0, 7}, {"stock", 0, 4}}
	f := &function{t: t, respond: func(_ int, recs []got) (kafkabatch.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp kafkabatch.Response
		for _, fo := range failOnce {
			if contains(recs, fo) && !seen[fo] {
				seen[fo] = true
				resp.BatchItemFailures = append(resp.BatchItemFailures, kafkabatch.BatchItemFailure{
					ItemIdentifier: kafkabatch.ItemIdentifier{Partition: partitionKey(fo.Topic, fo.Partition), Offset: fo.Offset},
				})
			}
		}
		return resp, nil
	}}
	cfg := baseConfig(c, "stock")
	cfg.ReportBatchItemFailures = true
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m)

	calls := f.invocations()
	counts := f.count()
	for i := range int64(10) {
		if n := counts[coord{"stock", 1, i}]; n != 1 {
			t.Errorf("stock-1@%d delivered %d times, want once: its partition never failed", i, n)
		}
		if n := counts[coord{"stock", 0, i}]; i < 4 && n != 1 {
			t.Errorf("stock-0@%d delivered %d times, want once: it is before the lowest failure", i, n)
		}
	}
	// After a partial failure, the partition's next batch starts at the
	// lowest failed offset.
	seenFail := make(map[coord]bool)
	for i, call := range calls {
		var low int64 = -1
		for _, fo := range failOnce {
			if contains(call, fo) && !seenFail[fo] {
				seenFail[fo] = true
				if low < 0 || fo.Offset < low {
					low = fo.Offset
				}
			}
		}
		if low < 0 {
			continue
		}
		var next []got
		for _, later := range calls[i+1:] {
			for _, r := range later {
				if r.Partition == 0 {
					next = append(next, r)
				}
			}
			if len(next) > 0 {
				break
			}
		}
		if len(next) == 0 || next[0].Offset != low {
			t.Errorf("after a failure at stock-0@%d, the partition resumed with %v", low, next)
		}
	}
	st := m.Stats()
	if st.PartialFailures == 0 || st.Succeeded != 20 || st.Records != 20 {
		t.Errorf("stats %+v", st)
	}
	for p, off := range committed(t, c, m.ConsumerGroupID()) {
		if off != 10 {
			t.Errorf("%s committed at %d, want 10", p, off)
		}
	}
}

// TestInvalidPartialResponse: a response naming a record that was not in
// the batch fails the whole batch.
func TestInvalidPartialResponse(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "feedback")
	produce(t, cl, records("feedback", 0, 0, 6)...)
	f := &function{t: t, respond: func(n int, recs []got) (kafkabatch.Response, error) {
		if n > 0 {
			return kafkabatch.Response{}, nil
		}
		return kafkabatch.Response{BatchItemFailures: []kafkabatch.BatchItemFailure{
			{ItemIdentifier: kafkabatch.ItemIdentifier{Partition: "feedback-7", Offset: recs[0].Offset}},
		}}, nil
	}}
	dir := t.TempDir()
	cfg := baseConfig(c, "feedback")
	cfg.ReportBatchItemFailures, cfg.RetryAttempts, cfg.OnFailure = true, new(0), NewDirDestination(dir)
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m)

	first := f.invocations()[0]
	failures := readDir(t, dir)
	failed := failedRecords(t, failures)
	if !slices.Equal(failed, first) {
		t.Errorf("destination holds %v, want the whole first batch %v", failed, first)
	}
	if len(failures) == 1 {
		if rc := failures[0].ResponseContext; rc == nil || rc.StatusCode != 200 || rc.FunctionError != "" {
			t.Errorf("response context %+v, want a 200 without function error", rc)
		}
	}
	st := m.Stats()
	if st.InvalidResponses != 1 || st.SentToDestination != int64(len(first)) || st.Succeeded != 6-int64(len(first)) {
		t.Errorf("stats %+v", st)
	}
}

// TestResponseIgnoredWithoutReportBatchItemFailures: without the setting,
// the mapping does not read the response.
func TestResponseIgnoredWithoutReportBatchItemFailures(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "clicks")
	produce(t, cl, records("clicks", 0, 0, 5)...)
	f := &function{t: t, respond: func(_ int, recs []got) (kafkabatch.Response, error) {
		return kafkabatch.Response{BatchItemFailures: []kafkabatch.BatchItemFailure{
			{ItemIdentifier: kafkabatch.ItemIdentifier{Partition: "clicks-0", Offset: recs[0].Offset}},
		}}, nil
	}}
	m, _ := newMapping(t, baseConfig(c, "clicks"), NewHandlerInvoker(f.Handle))
	drain(t, m)
	for co, n := range f.count() {
		if n != 1 {
			t.Errorf("%s delivered %d times, want once", co, n)
		}
	}
}

// TestUnreachableFunction: invocations that cannot be made are retried
// without using the retry attempts.
func TestUnreachableFunction(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "searches")
	produce(t, cl, records("searches", 0, 0, 4)...)
	f := &function{t: t}
	h := NewHandlerInvoker(f.Handle)
	var failures atomic.Int32
	inv := InvokerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		if failures.Add(1) <= 3 {
			return nil, errors.New("connection refused")
		}
		return h.Invoke(ctx, payload)
	})
	cfg := baseConfig(c, "searches")
	cfg.RetryAttempts = new(0)
	m, _ := newMapping(t, cfg, inv)
	drain(t, m)
	if n := len(f.count()); n != 4 {
		t.Errorf("%d records delivered, want 4", n)
	}
	if st := m.Stats(); st.InvocationErrors != 3 || st.Discarded != 0 || st.Succeeded != 4 || st.LastError == "" {
		t.Errorf("stats %+v", st)
	}
}
