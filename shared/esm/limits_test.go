package esm

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// payloadRecorder wraps an Invoker and keeps the size of every payload.
type payloadRecorder struct {
	inv   Invoker
	mu    sync.Mutex
	sizes []int
}

func (p *payloadRecorder) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	p.mu.Lock()
	p.sizes = append(p.sizes, len(payload))
	p.mu.Unlock()
	return p.inv.Invoke(ctx, payload)
}

// TestBatchSize: with a window longer than the test, every batch closes at
// BatchSize records, and none holds more.
func TestBatchSize(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 2, "orders")
	produce(t, cl, append(records("orders", 0, 0, 150), records("orders", 1, 0, 150)...)...)
	f := &function{t: t}
	cfg := baseConfig(c, "orders")
	cfg.BatchSize, cfg.MaxBatchingWindow = 100, MaxMaxBatchingWindow
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m)
	calls := f.invocations()
	for i, call := range calls {
		if len(call) != 100 {
			t.Errorf("batch %d has %d records, want BatchSize 100", i, len(call))
		}
	}
	if len(calls) != 3 || len(f.count()) != 300 {
		t.Errorf("%d batches delivered %d records, want 3 batches of all 300", len(calls), len(f.count()))
	}
}

// TestBatchingWindow: with fewer records than BatchSize, the function is
// invoked once the window has passed, not before.
func TestBatchingWindow(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "page_views")
	const window = 300 * time.Millisecond
	var (
		mu      sync.Mutex
		invoked []time.Time
	)
	f := &function{t: t, respond: func(int, []got) (kafkabatch.Response, error) {
		mu.Lock()
		invoked = append(invoked, time.Now())
		mu.Unlock()
		return kafkabatch.Response{}, nil
	}}
	cfg := baseConfig(c, "page_views")
	cfg.BatchSize, cfg.MaxBatchingWindow = 1000, window
	m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	waitFor(t, "the partition to be assigned", func() bool { return len(m.Stats().Partitions) == 1 })
	start := time.Now()
	produce(t, cl, records("page_views", 0, 0, 3)...)
	drain(t, m)
	mu.Lock()
	defer mu.Unlock()
	if len(invoked) == 0 {
		t.Fatal("never invoked")
	}
	if d := invoked[0].Sub(start); d < window {
		t.Errorf("invoked %v after the records were produced, before the %v window closed", d, window)
	} else if d > window+10*time.Second {
		t.Errorf("invoked %v after the records were produced, long after the %v window", d, window)
	}
	if n := len(f.count()); n != 3 {
		t.Errorf("%d records delivered, want 3", n)
	}
}

// TestPayloadLimit sends records of 1 MiB: no payload grows past 6 MB, so a
// batch holds at most 4 of them.
func TestPayloadLimit(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "media")
	var recs []*kgo.Record
	for i := range 10 {
		v := make([]byte, 1<<20)
		_, _ = rand.Read(v)
		recs = append(recs, &kgo.Record{Topic: "media", Key: []byte{byte(i)}, Value: v})
	}
	produce(t, cl, recs...)
	f := &function{t: t}
	rec := &payloadRecorder{inv: NewHandlerInvoker(f.Handle, WithFunctionTimeout(time.Minute))}
	cfg := baseConfig(c, "media")
	cfg.MaxBatchingWindow = time.Second
	m, _ := newMapping(t, cfg, rec)
	drain(t, m)

	for i, call := range f.invocations() {
		if len(call) > 4 {
			t.Errorf("invocation %d carried %d records of 1 MiB", i, len(call))
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, size := range rec.sizes {
		if size > MaxPayloadBytes {
			t.Errorf("payload %d is %d bytes, more than %d", i, size, MaxPayloadBytes)
		}
	}
	counts := f.count()
	if len(counts) != 10 {
		t.Errorf("%d records delivered, want 10", len(counts))
	}
	for co, n := range counts {
		if n != 1 {
			t.Errorf("%s delivered %d times", co, n)
		}
	}
}

// TestOversizedRecord: a record too large for any payload goes to the
// destination without an invocation, and the partition goes on.
func TestOversizedRecord(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "catalog")
	recs := records("catalog", 0, 0, 3)
	recs[1].Value = make([]byte, 6000)
	produce(t, cl, recs...)
	f := &function{t: t}
	dir := t.TempDir()
	cfg := baseConfig(c, "catalog")
	cfg.OnFailure = NewDirDestination(dir)
	m, err := New(cfg, NewHandlerInvoker(f.Handle), testOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	m.maxPayload = 4096 // a 6 MB record, scaled down
	run(t, m)
	drain(t, m)

	failures := readDir(t, dir)
	if len(failures) != 1 {
		t.Fatalf("%d failures, want 1", len(failures))
	}
	fl := failures[0]
	if failed := failedRecords(t, failures); len(failed) != 1 || failed[0].Offset != 1 {
		t.Errorf("destination holds %v, want record 1", failed)
	}
	if fl.RequestContext.Condition != MaximumPayloadSizeExceeded || fl.RequestContext.ApproximateInvokeCount != 0 || fl.ResponseContext != nil {
		t.Errorf("failure %+v %+v", fl.RequestContext, fl.ResponseContext)
	}
	counts := f.count()
	if counts[coord{"catalog", 0, 0}] != 1 || counts[coord{"catalog", 0, 2}] != 1 || counts[coord{"catalog", 0, 1}] != 0 {
		t.Errorf("deliveries %v", counts)
	}
}
