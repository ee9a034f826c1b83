package kafkabatch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestChainOrder(t *testing.T) {
	t.Parallel()
	var trace []string
	mw := func(name string) Middleware {
		return func(next Handler) Handler {
			return HandlerFunc(func(ctx context.Context, b *Batch) error {
				trace = append(trace, name+">")
				err := next.Handle(ctx, b)
				trace = append(trace, "<"+name)
				return err
			})
		}
	}
	h := Chain(HandlerFunc(func(context.Context, *Batch) error { trace = append(trace, "h"); return nil }), mw("a"), mw("b"))
	if err := h.Handle(context.Background(), NewBatch(nil)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(trace, " "); got != "a> b> h <b <a" {
		t.Errorf("trace = %s", got)
	}
}

func TestRecoverer(t *testing.T) {
	t.Parallel()
	h := Chain(HandlerFunc(func(context.Context, *Batch) error { panic("boom") }), Recoverer())
	err := h.Handle(context.Background(), NewBatch(nil))
	if err == nil || !strings.Contains(err.Error(), "handler panic: boom") {
		t.Fatalf("err = %v", err)
	}
	errPlain := errors.New("plain")
	if err := Chain(HandlerFunc(func(context.Context, *Batch) error { return errPlain }), Recoverer()).Handle(context.Background(), NewBatch(nil)); err != errPlain {
		t.Errorf("err = %v, want it passed through", err)
	}
	// Through a Processor, a panic retries the whole batch.
	p := newTestProcessor(t, h, WithDeadLetterSink(&memorySink{}))
	if _, err := p.Process(context.Background(), payload(1, rec{Topic: "t", Offset: 1, Value: validEvent(t, 0)})); err == nil {
		t.Error("Process after a panic returned no error")
	}
}

func TestBatchMarks(t *testing.T) {
	t.Parallel()
	msgs := make([]*Message, 6)
	for i := range msgs {
		msgs[i] = &Message{Record: Record{Topic: "t", Offset: int64(i)}}
	}
	b := NewBatch(msgs)
	if b.Len() != 6 || b.Messages()[3] != msgs[3] || b.Failed() != nil || b.Rejected() != nil {
		t.Fatal("fresh batch is not empty of marks")
	}
	errA, errB := errors.New("a"), errors.New("b")
	b.Reject(msgs[1], errA)
	b.Reject(msgs[2], errA)
	b.Fail(msgs[2], errB) // fail after reject: fail wins
	b.Fail(msgs[3], errB)
	b.Reject(msgs[3], errA) // reject after fail: fail still wins
	b.Fail(msgs[4], errA)
	b.Fail(msgs[4], errB) // the last error of the same kind is kept
	offsets := func(os []Outcome) (s []int64, errs []error) {
		for _, o := range os {
			s, errs = append(s, o.Message.Offset), append(errs, o.Err)
		}
		return s, errs
	}
	if got, errs := offsets(b.Failed()); len(got) != 3 || got[0] != 2 || got[1] != 3 || got[2] != 4 || errs[0] != errB || errs[2] != errB {
		t.Errorf("failed = %v %v", got, errs)
	}
	if got, errs := offsets(b.Rejected()); len(got) != 1 || got[0] != 1 || errs[0] != errA {
		t.Errorf("rejected = %v %v", got, errs)
	}
	if b.misuse() != nil {
		t.Errorf("misuse = %v", b.misuse())
	}
	b.Fail(&Message{Record: msgs[0].Record}, nil)
	b.Reject(nil, nil)
	if b.misuse() == nil {
		t.Error("marking a foreign message is not reported")
	}
	other := NewBatch([]*Message{{}})
	other.Fail(msgs[0], nil) // msgs[0] has index 0 but belongs to b
	if other.misuse() == nil || len(other.Failed()) != 0 {
		t.Error("marking another batch's message is not reported")
	}
}

func TestBatchConcurrentMarks(t *testing.T) {
	t.Parallel()
	msgs := make([]*Message, 1000)
	for i := range msgs {
		msgs[i] = &Message{Record: Record{Topic: "t", Offset: int64(i)}}
	}
	b := NewBatch(msgs)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(msgs); i += 8 {
				if i%2 == 0 {
					b.Fail(msgs[i], nil)
				} else {
					b.Reject(msgs[i], nil)
				}
			}
		})
	}
	wg.Wait()
	if len(b.Failed()) != 500 || len(b.Rejected()) != 500 {
		t.Errorf("failed %d rejected %d", len(b.Failed()), len(b.Rejected()))
	}
}
