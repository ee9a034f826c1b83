package kafkabatch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopstream/shopstream/shared/event"
)

func TestWriterSinkContract(t *testing.T) {
	t.Parallel()
	testSinkContract(t, func(t *testing.T) sinkHarness {
		var (
			mu  sync.Mutex
			buf bytes.Buffer
		)
		w := writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return buf.Write(p)
		})
		return sinkHarness{
			sink: NewWriterSink(w),
			read: func(t *testing.T, want int) []*event.DeadLetter {
				mu.Lock()
				defer mu.Unlock()
				return readLetterLines(t, buf.Bytes())
			},
		}
	})
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// readLetterLines decodes JSON lines of dead letters with the event decoder.
func readLetterLines(t *testing.T, b []byte) []*event.DeadLetter {
	t.Helper()
	var out []*event.DeadLetter
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		e, err := event.Decode(sc.Bytes(), event.Source{})
		if err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		dl, ok := e.(*event.DeadLetter)
		if !ok {
			t.Fatalf("line decodes to %T", e)
		}
		out = append(out, dl)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriterSinkErrors(t *testing.T) {
	t.Parallel()
	errDisk := errors.New("disk full")
	s := NewWriterSink(writerFunc(func([]byte) (int, error) { return 0, errDisk }))
	if err := s.Send(context.Background(), contractLetters("e", 2)); !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "write 2 dead letters") {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, contractLetters("e", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestNewDeadLetterIsDeterministic(t *testing.T) {
	t.Parallel()
	r := &Record{Topic: "transactions", Partition: 4, Offset: 99, Timestamp: testTime, Key: []byte("k"), Value: []byte("v")}
	a := NewDeadLetter("fraud", r, event.ReasonNotJSON, errors.New("x"))
	time.Sleep(2 * time.Millisecond)
	b := NewDeadLetter("fraud", r, event.ReasonNotJSON, errors.New("x"))
	if mustJSON(t, a) != mustJSON(t, b) {
		t.Errorf("letters differ:\n%s\n%s", mustJSON(t, a), mustJSON(t, b))
	}
	ids := map[string]bool{a.EventID: true}
	for _, other := range []struct {
		fn string
		r  Record
	}{
		{"inventory", *r},
		{"fraud", Record{Topic: "transaction", Partition: 4, Offset: 99}},
		{"fraud", Record{Topic: "transactions", Partition: 5, Offset: 99}},
		{"fraud", Record{Topic: "transactions", Partition: 4, Offset: 98}},
	} {
		id := NewDeadLetter(other.fn, &other.r, event.ReasonNotJSON, nil).EventID
		if ids[id] {
			t.Errorf("id %s repeats for %s %+v", id, other.fn, other.r)
		}
		ids[id] = true
	}
	if !event.IsID(a.EventID) {
		t.Errorf("id %q is not an identifier", a.EventID)
	}
}

func TestNewDeadLetterTimestamps(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	clock := func() time.Time { return now }
	tests := []struct {
		name      string
		ts        time.Time
		wantAt    time.Time
		wantKafka int64
	}{
		{"kafka time", testTime, testTime, testTime.UnixMilli()},
		{"no timestamp", time.Time{}, now, 0},
		{"epoch", time.UnixMilli(0), now, 0},
		{"far future", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), now, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dl := newDeadLetter("f", &Record{Topic: "t", Timestamp: tt.ts}, event.ReasonRejected, nil, clock)
			if !dl.OccurredAt.Equal(tt.wantAt) || dl.KafkaTimestamp != tt.wantKafka {
				t.Errorf("occurred_at %v kafka_timestamp %d, want %v %d", dl.OccurredAt, dl.KafkaTimestamp, tt.wantAt, tt.wantKafka)
			}
			if err := dl.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxErrorText) // 2 bytes a rune
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, "rejected"},
		{"blank", errors.New(" \n"), "rejected"},
		{"plain", errors.New("unknown product"), "unknown product"},
		{"multiline kept", errors.New("a\n\tb"), "a\n\tb"},
		{"controls replaced", errors.New("a\x00b\x1bc\x7fd\re"), "a b c d e"},
		{"invalid utf-8", errors.New("a\xffb"), "a\uFFFDb"},
		{"capped", errors.New(long), long[:MaxErrorText-4] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := errorText(event.ReasonRejected, tt.err)
			if got != tt.want {
				t.Errorf("errorText = %q, want %q", got, tt.want)
			}
			if len(got) > MaxErrorText || !utf8.ValidString(got) {
				t.Errorf("errorText is %d bytes or invalid UTF-8", len(got))
			}
			dl := newDeadLetter("f", &Record{Topic: "t", Timestamp: testTime}, event.ReasonRejected, tt.err, time.Now)
			if err := dl.Validate(); err != nil {
				t.Errorf("letter does not validate: %v", err)
			}
		})
	}
}
