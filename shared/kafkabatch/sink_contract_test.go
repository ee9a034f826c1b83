package kafkabatch

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// sinkHarness is a DeadLetterSink under test and a way to read back what it
// stored.
type sinkHarness struct {
	sink DeadLetterSink
	// read returns every letter stored so far, waiting until there are at
	// least want of them (or failing the test).
	read func(t *testing.T, want int) []*event.DeadLetter
}

// testSinkContract is the suite every DeadLetterSink implementation passes.
func testSinkContract(t *testing.T, newHarness func(t *testing.T) sinkHarness) {
	t.Run("empty send stores nothing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		if err := h.sink.Send(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if err := h.sink.Send(context.Background(), []*event.DeadLetter{}); err != nil {
			t.Fatal(err)
		}
		// A marker letter: it must be the only one read back.
		marker := contractLetters("marker", 1)
		if err := h.sink.Send(context.Background(), marker); err != nil {
			t.Fatal(err)
		}
		if got := h.read(t, 1); len(got) != 1 {
			t.Fatalf("read %d letters, want 1", len(got))
		}
	})

	t.Run("letters round trip", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		letters := contractLetters("roundtrip", 5)
		if err := h.sink.Send(context.Background(), letters); err != nil {
			t.Fatal(err)
		}
		got := h.read(t, len(letters))
		if len(got) != len(letters) {
			t.Fatalf("read %d letters, want %d", len(got), len(letters))
		}
		byID := make(map[string]*event.DeadLetter)
		for _, dl := range got {
			byID[dl.EventID] = dl
		}
		for _, want := range letters {
			requireSameLetter(t, byID[want.EventID], want)
		}
	})

	t.Run("replay is idempotent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		letters := contractLetters("replay", 3)
		for range 2 {
			if err := h.sink.Send(context.Background(), letters); err != nil {
				t.Fatal(err)
			}
		}
		// The sink may keep one copy or two; every copy is the same letter.
		got := h.read(t, len(letters))
		seen := make(map[string]bool)
		for _, dl := range got {
			var want *event.DeadLetter
			for _, l := range letters {
				if l.EventID == dl.EventID {
					want = l
				}
			}
			if want == nil {
				t.Fatalf("unexpected letter %s", dl.EventID)
			}
			requireSameLetter(t, dl, want)
			seen[dl.EventID] = true
		}
		if len(seen) != len(letters) {
			t.Errorf("read %d distinct letters, want %d", len(seen), len(letters))
		}
	})

	t.Run("concurrent sends", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const senders, each = 8, 4
		var wg sync.WaitGroup
		errs := make(chan error, senders)
		for i := range senders {
			wg.Go(func() {
				errs <- h.sink.Send(context.Background(), contractLetters(fmt.Sprint("c", i), each))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := h.read(t, senders*each)
		ids := make(map[string]bool)
		for _, dl := range got {
			ids[dl.EventID] = true
		}
		if len(got) != senders*each || len(ids) != senders*each {
			t.Errorf("read %d letters, %d distinct; want %d", len(got), len(ids), senders*each)
		}
	})
}

// contractLetters returns n valid dead letters for records of topic prefix.
func contractLetters(prefix string, n int) []*event.DeadLetter {
	out := make([]*event.DeadLetter, n)
	reasons := event.Reasons()
	for i := range out {
		r := &Record{
			Topic: "src-" + prefix, Partition: int32(i % 3), Offset: int64(1000 + i),
			Timestamp: testTime, TimestampType: "CREATE_TIME",
			Key:     []byte(fmt.Sprintf("key-%d", i)),
			Value:   []byte{'{', 0x00, 0xff, byte(i), '"', '<', '>'},
			Headers: []event.RecordHeader{{Key: "h1", Value: []byte{0x80, 1}}, {Key: "h2", Value: []byte("v")}},
		}
		if i == 0 {
			r.Key = nil // a record without a key
		}
		out[i] = newDeadLetter("contract", r, reasons[i%len(reasons)], fmt.Errorf("bad record %d\n\tdetail <&>", i), time.Now)
	}
	return out
}

func requireSameLetter(t *testing.T, got, want *event.DeadLetter) {
	t.Helper()
	if got == nil {
		t.Fatalf("letter %s not stored", want.EventID)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("stored letter %s does not validate: %v", got.EventID, err)
	}
	g, w := *got, *want
	g.Origin, w.Origin = event.Origin{}, event.Origin{}
	// nil and empty byte slices are the same bytes
	if bytes.Equal(g.RecordKey, w.RecordKey) {
		g.RecordKey = w.RecordKey
	}
	if bytes.Equal(g.RecordValue, w.RecordValue) {
		g.RecordValue = w.RecordValue
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("stored letter differs:\n got %+v\nwant %+v", g, w)
	}
}
