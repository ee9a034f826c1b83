package kafkabatch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/shopstream/shopstream/shared/event"
)

func TestNewProcessorErrors(t *testing.T) {
	t.Parallel()
	sink := &memorySink{}
	h := &recordingHandler{}
	tests := []struct {
		name     string
		function string
		h        Handler
		opts     []Option
		want     string
	}{
		{"no sink", "fraud", h, nil, "WithDeadLetterSink"},
		{"nil handler", "fraud", nil, []Option{WithDeadLetterSink(sink)}, "nil Handler"},
		{"bad function name", "fraud fn", h, []Option{WithDeadLetterSink(sink)}, "not an identifier"},
		{"empty function name", "", h, []Option{WithDeadLetterSink(sink)}, "not an identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewProcessor(tt.function, tt.h, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || p != nil {
				t.Fatalf("NewProcessor = %v, %v; want an error containing %q", p, err, tt.want)
			}
		})
	}
}

// TestProcessOrder checks that the handler gets every valid record once, in
// topic, partition, offset order, whatever the payload's order.
func TestProcessOrder(t *testing.T) {
	t.Parallel()
	var rs []rec
	n := 0
	for _, topic := range []string{event.TopicTransactions, event.TopicUserEvents, event.TopicInventory} {
		for _, part := range []int32{10, 2, 0, 1} { // 10 sorts after 2 numerically, before it as text
			for off := int64(100); off < 108; off++ {
				rs = append(rs, rec{Topic: topic, Partition: part, Offset: off * 3, Value: validEvent(t, n)})
				n++
			}
		}
	}
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			h := &recordingHandler{}
			sink := &memorySink{}
			p := newTestProcessor(t, h, WithDeadLetterSink(sink))
			resp, st, err := p.ProcessWithStats(context.Background(), payload(seed, rs...))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) != 0 {
				t.Errorf("failures = %s, want none", failureList(resp))
			}
			want := make([]coord, len(rs))
			for i, r := range rs {
				want[i] = r.coord()
			}
			want = sortedCoords(want)
			if h.calls != 1 {
				t.Fatalf("handler called %d times, want 1", h.calls)
			}
			if fmt.Sprint(h.seen) != fmt.Sprint(want) {
				t.Errorf("handler order:\n got %v\nwant %v", h.seen, want)
			}
			if sink.calls != 0 {
				t.Errorf("sink called %d times, want 0", sink.calls)
			}
			if st.Records != len(rs) || st.Valid != len(rs) || st.Failed != 0 || st.Retried != 0 || len(st.DeadLettered) != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestProcessRecordFields(t *testing.T) {
	t.Parallel()
	h := &recordingHandler{}
	var got *Message
	hf := HandlerFunc(func(ctx context.Context, b *Batch) error {
		got = b.Messages()[0]
		return h.Handle(ctx, b)
	})
	p := newTestProcessor(t, hf, WithDeadLetterSink(&memorySink{}))
	hdrs := []event.RecordHeader{{Key: "z-first", Value: []byte{0xff, 0x80, 0, 1}}, {Key: "a-second", Value: []byte("x")}, {Key: "empty", Value: []byte{}}}
	value := validEvent(t, 0)
	if _, err := p.Process(context.Background(), payload(1, rec{Topic: "user_events", Partition: 3, Offset: 42, Key: []byte("user-0"), Value: value, Headers: hdrs})); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("handler not called")
	}
	r := got.Record
	if r.Topic != "user_events" || r.Partition != 3 || r.Offset != 42 || r.TopicPartition() != "user_events-3" {
		t.Errorf("coordinates = %s %d %d %s", r.Topic, r.Partition, r.Offset, r.TopicPartition())
	}
	if want := testTime.Add(42 * time.Millisecond); !r.Timestamp.Equal(want) || r.Timestamp.Location() != time.UTC || r.TimestampType != "CREATE_TIME" {
		t.Errorf("timestamp = %v %s, want %v CREATE_TIME", r.Timestamp, r.TimestampType, want)
	}
	if string(r.Key) != "user-0" || !bytes.Equal(r.Value, value) {
		t.Errorf("key, value = %q, %q", r.Key, r.Value)
	}
	if len(r.Headers) != len(hdrs) {
		t.Fatalf("headers = %v, want %v", r.Headers, hdrs)
	}
	for i := range hdrs {
		if r.Headers[i].Key != hdrs[i].Key || !bytes.Equal(r.Headers[i].Value, hdrs[i].Value) {
			t.Errorf("header %d = %v, want %v", i, r.Headers[i], hdrs[i])
		}
	}
	if got.Event.Meta().EventID != "evt-0" || got.Event.Meta().EventType != event.TypePageView {
		t.Errorf("event = %+v", got.Event.Meta())
	}
	if s := r.Source(); s != (event.Source{Topic: "user_events", Partition: 3, Offset: 42}) {
		t.Errorf("source = %+v", s)
	}
}

// invalidValues holds, per decode reason, a record value that the decoder
// refuses for that reason.
func invalidValues(t *testing.T) []struct {
	reason event.Reason
	value  []byte
	raw    string
} {
	canonical := func(mut func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(validEvent(t, 0), &m); err != nil { // a page_view
			t.Fatal(err)
		}
		mut(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []struct {
		reason event.Reason
		value  []byte
		raw    string
	}{
		{event.ReasonBadEncoding, nil, "not base64!"},
		{event.ReasonNotJSON, []byte(`{"event_type": "page_view",`), ""},
		{event.ReasonNotJSON, []byte(`[1,2,3]`), ""},
		{event.ReasonNotJSON, nil, ""}, // an empty value (a tombstone)
		{event.ReasonUnknownType, canonical(func(m map[string]any) { m["event_type"] = "teleport" }), ""},
		{event.ReasonUnsupportedVersion, canonical(func(m map[string]any) { m["schema_version"] = 2 }), ""},
		{event.ReasonMissingField, canonical(func(m map[string]any) { delete(m, "user_id") }), ""},
		{event.ReasonWrongType, canonical(func(m map[string]any) { m["user_id"] = 12345 }), ""},
		{event.ReasonInvalidValue, canonical(func(m map[string]any) { m["device"] = "toaster" }), ""},
		{event.ReasonOversized, canonical(func(m map[string]any) { m["page_url"] = "/" + strings.Repeat("a", event.MaxRecordBytes) }), ""},
	}
}

func TestProcessDeadLettersInvalidRecords(t *testing.T) {
	t.Parallel()
	for _, tt := range invalidValues(t) {
		t.Run(string(tt.reason), func(t *testing.T) {
			t.Parallel()
			h := &recordingHandler{}
			sink := &memorySink{}
			p := newTestProcessor(t, h, WithDeadLetterSink(sink))
			bad := rec{Topic: "transactions", Partition: 1, Offset: 11, Key: []byte("user-9"), Value: tt.value, RawValue: tt.raw,
				Headers: []event.RecordHeader{{Key: "trace", Value: []byte{1, 2, 0xfe}}}}
			ev := payload(7,
				rec{Topic: "transactions", Partition: 1, Offset: 10, Value: validEvent(t, 1)},
				bad,
				rec{Topic: "transactions", Partition: 1, Offset: 12, Value: validEvent(t, 5)},
			)
			resp, st, err := p.ProcessWithStats(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) != 0 {
				t.Errorf("failures = %s, want none: a bad record is never retried", failureList(resp))
			}
			if want := []coord{{"transactions", 1, 10}, {"transactions", 1, 12}}; fmt.Sprint(h.seen) != fmt.Sprint(want) {
				t.Errorf("handler saw %v, want %v", h.seen, want)
			}
			if len(sink.letters) != 1 {
				t.Fatalf("got %d dead letters, want 1", len(sink.letters))
			}
			dl := sink.letters[0]
			if err := dl.Validate(); err != nil {
				t.Errorf("dead letter does not validate: %v", err)
			}
			if dl.Reason != tt.reason {
				t.Errorf("reason = %s (%s), want %s", dl.Reason, dl.Error, tt.reason)
			}
			wantValue := tt.value
			if tt.raw != "" {
				wantValue = []byte(tt.raw)
			}
			if dl.Function != "testfn" || dl.Topic != "transactions" || dl.Partition != 1 || dl.Offset != 11 ||
				string(dl.RecordKey) != "user-9" || !bytes.Equal(dl.RecordValue, wantValue) ||
				len(dl.Headers) != 1 || dl.Headers[0].Key != "trace" || !bytes.Equal(dl.Headers[0].Value, []byte{1, 2, 0xfe}) {
				t.Errorf("dead letter does not keep the record: %+v", dl)
			}
			if want := testTime.Add(11 * time.Millisecond); dl.KafkaTimestamp != want.UnixMilli() || !dl.OccurredAt.Equal(want) {
				t.Errorf("timestamps = %d, %v; want %d", dl.KafkaTimestamp, dl.OccurredAt, want.UnixMilli())
			}
			if !strings.HasPrefix(dl.Error, string(tt.reason)) || len(dl.Error) > MaxErrorText {
				t.Errorf("error text = %q", dl.Error)
			}
			if dl.EventID != deadLetterID("testfn", "transactions", 1, 11) || dl.Key() != "user-9" {
				t.Errorf("event id, key = %s, %s", dl.EventID, dl.Key())
			}
			if st.Records != 3 || st.Valid != 2 || st.Failed != 0 || st.DeadLettered[tt.reason] != 1 || len(st.DeadLettered) != 1 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// TestProcessBadBase64Payload reads a payload from JSON text, as the Lambda
// runtime does, with a value that is not base64.
func TestProcessBadBase64Payload(t *testing.T) {
	t.Parallel()
	raw := `{"eventSource":"aws:kafka","eventSourceArn":"arn:aws:kafka:eu-west-1:123456789012:cluster/c/1",
	"records":{"user_events-0":[
	 {"topic":"user_events","partition":0,"offset":5,"timestamp":1729867680000,"timestampType":"CREATE_TIME",
	  "key":"dXNlci0x","value":"%%%not-base64%%%","headers":[{"h":[104,-1]}]},
	 {"topic":"user_events","partition":0,"offset":6,"timestamp":1729867680001,"timestampType":"CREATE_TIME",
	  "value":"` + base64.StdEncoding.EncodeToString(validEvent(t, 0)) + `","headers":[]}]}}`
	var ev events.KafkaEvent
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		t.Fatal(err)
	}
	h := &recordingHandler{}
	sink := &memorySink{}
	p := newTestProcessor(t, h, WithDeadLetterSink(sink))
	resp, err := p.Process(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Process = %s, %v", failureList(resp), err)
	}
	if fmt.Sprint(h.seen) != fmt.Sprint([]coord{{"user_events", 0, 6}}) {
		t.Errorf("handler saw %v", h.seen)
	}
	if len(sink.letters) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(sink.letters))
	}
	dl := sink.letters[0]
	if dl.Reason != event.ReasonBadEncoding || string(dl.RecordValue) != "%%%not-base64%%%" || string(dl.RecordKey) != "user-1" ||
		dl.KafkaTimestamp != 1729867680000 || dl.Headers[0].Key != "h" || !bytes.Equal(dl.Headers[0].Value, []byte{104, 0xff}) {
		t.Errorf("dead letter = %+v", dl)
	}
	if err := dl.Validate(); err != nil {
		t.Error(err)
	}
}

func TestProcessBadBase64Key(t *testing.T) {
	t.Parallel()
	ev := payload(1, rec{Topic: "user_events", Partition: 0, Offset: 1, Value: validEvent(t, 0)})
	ev.Records["user_events-0"][0].Key = "not*base64"
	sink := &memorySink{}
	h := &recordingHandler{}
	if _, err := newTestProcessor(t, h, WithDeadLetterSink(sink)).Process(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(h.seen) != 0 || len(sink.letters) != 1 || sink.letters[0].Reason != event.ReasonBadEncoding || string(sink.letters[0].RecordKey) != "not*base64" {
		t.Errorf("handler saw %v, letters %+v", h.seen, sink.letters)
	}
}

// failOffsets returns a fail rule for the given coordinates.
func failOffsets(cs ...coord) func(m *Message) (bool, error) {
	return func(m *Message) (bool, error) {
		for _, c := range cs {
			if coordOf(&m.Record) == c {
				return true, fmt.Errorf("transient failure at %d", c.Offset)
			}
		}
		return false, nil
	}
}

func TestProcessTransientFailures(t *testing.T) {
	t.Parallel()
	var rs []rec
	n := 0
	for _, topic := range []string{"a", "b"} {
		for part := int32(0); part < 3; part++ {
			for off := int64(0); off < 10; off++ {
				rs = append(rs, rec{Topic: topic, Partition: part, Offset: off, Value: validEvent(t, n)})
				n++
			}
		}
	}
	tests := []struct {
		name    string
		fail    []coord
		want    string
		retried int
	}{
		{"none", nil, "", 0},
		{"one", []coord{{"a", 1, 4}}, "a-1@4", 6},
		{"lowest per partition", []coord{{"a", 0, 7}, {"a", 0, 3}, {"a", 0, 9}, {"b", 2, 8}, {"b", 2, 1}}, "a-0@3 b-2@1", 7 + 9},
		{"first and last", []coord{{"b", 0, 9}, {"a", 2, 0}}, "a-2@0 b-0@9", 10 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &recordingHandler{fail: failOffsets(tt.fail...)}
			p := newTestProcessor(t, h, WithDeadLetterSink(&memorySink{}))
			resp, st, err := p.ProcessWithStats(context.Background(), payload(3, rs...))
			if err != nil {
				t.Fatal(err)
			}
			if got := failureList(resp); got != tt.want {
				t.Errorf("failures = %q, want %q", got, tt.want)
			}
			if st.Failed != len(tt.fail) || st.Retried != tt.retried || st.Valid != len(rs) {
				t.Errorf("stats = %+v, want failed %d retried %d", st, len(tt.fail), tt.retried)
			}
		})
	}
}

func TestProcessReject(t *testing.T) {
	t.Parallel()
	errUnknownProduct := errors.New("unknown product prod-7")
	tests := []struct {
		name       string
		reject     error
		fail       error
		wantReason event.Reason
		wantError  string
		wantFailed bool
	}{
		{"plain error", errUnknownProduct, nil, event.ReasonRejected, "unknown product prod-7", false},
		{"wrapped plain error", fmt.Errorf("reserve: %w", errUnknownProduct), nil, event.ReasonRejected, "reserve: unknown product prod-7", false},
		{"nil error", nil, nil, event.ReasonRejected, "rejected", false},
		{"error with a reason", fmt.Errorf("check: %w", &event.Error{Reason: event.ReasonInvalidValue, Field: "currency", Detail: "not accepted"}),
			nil, event.ReasonInvalidValue, "check: invalid_value: field currency: not accepted", false},
		{"error with an unknown reason", &event.Error{Reason: "made_up", Detail: "x"}, nil, event.ReasonRejected, "made_up: x", false},
		{"fail wins over reject", errUnknownProduct, errors.New("timeout"), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := coord{"transactions", 0, 21}
			reject := func(m *Message) (bool, error) { return coordOf(&m.Record) == target, tt.reject }
			var fail func(m *Message) (bool, error)
			if tt.fail != nil {
				fail = failOffsets(target)
			}
			h := &recordingHandler{reject: reject, fail: fail}
			sink := &memorySink{}
			p := newTestProcessor(t, h, WithDeadLetterSink(sink))
			resp, st, err := p.ProcessWithStats(context.Background(), payload(2,
				rec{Topic: "transactions", Partition: 0, Offset: 20, Value: validEvent(t, 1)},
				rec{Topic: "transactions", Partition: 0, Offset: 21, Key: []byte("user-1"), Value: validEvent(t, 5)},
				rec{Topic: "transactions", Partition: 0, Offset: 22, Value: validEvent(t, 9)},
			))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantFailed {
				if got := failureList(resp); got != "transactions-0@21" || len(sink.letters) != 0 || st.Failed != 1 {
					t.Errorf("failures %q, letters %d, stats %+v; want transactions-0@21 and no letter", got, len(sink.letters), st)
				}
				return
			}
			if len(resp.BatchItemFailures) != 0 {
				t.Errorf("failures = %s", failureList(resp))
			}
			if len(sink.letters) != 1 {
				t.Fatalf("letters = %d, want 1", len(sink.letters))
			}
			dl := sink.letters[0]
			if dl.Reason != tt.wantReason || dl.Error != tt.wantError || dl.Offset != 21 || string(dl.RecordKey) != "user-1" {
				t.Errorf("dead letter = reason %s error %q offset %d", dl.Reason, dl.Error, dl.Offset)
			}
			if err := dl.Validate(); err != nil {
				t.Error(err)
			}
			if st.DeadLettered[tt.wantReason] != 1 || st.Valid != 3 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestProcessHandlerError(t *testing.T) {
	t.Parallel()
	errDown := errors.New("dynamodb unavailable")
	h := &recordingHandler{failAll: errDown, fail: failOffsets(coord{"t", 0, 1}), reject: func(*Message) (bool, error) { return true, errors.New("no") }}
	sink := &memorySink{}
	p := newTestProcessor(t, h, WithDeadLetterSink(sink))
	resp, st, err := p.ProcessWithStats(context.Background(), payload(1,
		rec{Topic: "t", Partition: 0, Offset: 1, Value: validEvent(t, 0)},
		rec{Topic: "t", Partition: 0, Offset: 2, Value: []byte("garbage")},
		rec{Topic: "t", Partition: 1, Offset: 9, Value: validEvent(t, 2)},
	))
	if !errors.Is(err, errDown) || !strings.Contains(err.Error(), "testfn: handle batch of 2 events") {
		t.Fatalf("err = %v, want it to wrap %v", err, errDown)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures = %s, want none alongside an error", failureList(resp))
	}
	if sink.calls != 0 {
		t.Errorf("sink called %d times: no dead letter is sent when the whole batch is retried", sink.calls)
	}
	if st.Retried != 3 || st.Records != 3 || st.Valid != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestProcessHandlerMarksForeignMessage(t *testing.T) {
	t.Parallel()
	h := HandlerFunc(func(_ context.Context, b *Batch) error {
		b.Fail(&Message{Record: b.Messages()[0].Record}, errors.New("copy"))
		return nil
	})
	p := newTestProcessor(t, h, WithDeadLetterSink(&memorySink{}))
	_, err := p.Process(context.Background(), payload(1, rec{Topic: "t", Partition: 0, Offset: 1, Value: validEvent(t, 0)}))
	if err == nil || !strings.Contains(err.Error(), "not in its batch") {
		t.Fatalf("err = %v, want a misuse error", err)
	}
}

func TestProcessDeadLetterSinkFailure(t *testing.T) {
	t.Parallel()
	errSink := errors.New("broker down")
	tests := []struct {
		name    string
		partial bool
		fail    []coord
		want    string
		retried int
	}{
		{"partial", true, nil, "t-0@2 t-1@5", 3 + 3},
		{"partial with an earlier handler failure", true, []coord{{"t", 0, 1}}, "t-0@1 t-1@5", 4 + 3},
		{"partial with a later handler failure", true, []coord{{"t", 1, 6}}, "t-0@2 t-1@5", 3 + 3},
		{"whole batch", false, nil, "", 4 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := &memorySink{err: errSink}
			h := &recordingHandler{fail: failOffsets(tt.fail...),
				reject: func(m *Message) (bool, error) { return coordOf(&m.Record) == coord{"t", 1, 5}, errors.New("refused") }}
			p := newTestProcessor(t, h, WithDeadLetterSink(sink), WithPartialBatchResponse(tt.partial))
			resp, st, err := p.ProcessWithStats(context.Background(), payload(4,
				rec{Topic: "t", Partition: 0, Offset: 1, Value: validEvent(t, 0)},
				rec{Topic: "t", Partition: 0, Offset: 2, Value: []byte("{")}, // not JSON
				rec{Topic: "t", Partition: 0, Offset: 3, Value: validEvent(t, 1)},
				rec{Topic: "t", Partition: 0, Offset: 4, Value: []byte("[]")}, // not JSON
				rec{Topic: "t", Partition: 1, Offset: 5, Value: validEvent(t, 2)},
				rec{Topic: "t", Partition: 1, Offset: 6, Value: validEvent(t, 3)},
				rec{Topic: "t", Partition: 1, Offset: 7, Value: validEvent(t, 4)},
			))
			if sink.calls != 1 {
				t.Errorf("sink called %d times, want 1", sink.calls)
			}
			if tt.partial {
				if err != nil {
					t.Fatal(err)
				}
				if got := failureList(resp); got != tt.want {
					t.Errorf("failures = %q, want %q", got, tt.want)
				}
			} else if !errors.Is(err, errSink) || len(resp.BatchItemFailures) != 0 {
				t.Errorf("Process = %s, %v; want an error wrapping %v", failureList(resp), err, errSink)
			}
			if st.Failed != 3+len(tt.fail) || st.Retried != tt.retried || len(st.DeadLettered) != 0 {
				t.Errorf("stats = %+v, want failed %d retried %d", st, 3+len(tt.fail), tt.retried)
			}
		})
	}
}

func TestProcessPartialBatchResponseOff(t *testing.T) {
	t.Parallel()
	rs := []rec{
		{Topic: "t", Partition: 0, Offset: 1, Value: validEvent(t, 0)},
		{Topic: "t", Partition: 0, Offset: 2, Value: []byte("nope")},
		{Topic: "t", Partition: 1, Offset: 1, Value: validEvent(t, 1)},
	}
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		h := &recordingHandler{fail: failOffsets(coord{"t", 1, 1})}
		sink := &memorySink{}
		p := newTestProcessor(t, h, WithDeadLetterSink(sink), WithPartialBatchResponse(false))
		resp, st, err := p.ProcessWithStats(context.Background(), payload(1, rs...))
		if err == nil || !strings.Contains(err.Error(), "transient failure at 1") || !strings.Contains(err.Error(), "1 of 3 records failed") {
			t.Fatalf("err = %v", err)
		}
		if len(resp.BatchItemFailures) != 0 || st.Retried != 3 || st.Failed != 1 {
			t.Errorf("resp %s, stats %+v", failureList(resp), st)
		}
		// Dead-lettering is idempotent, so the bad record is sent now and again on retry.
		if len(sink.letters) != 1 || sink.letters[0].Reason != event.ReasonNotJSON {
			t.Errorf("letters = %+v", sink.letters)
		}
	})
	t.Run("success", func(t *testing.T) {
		t.Parallel()
		p := newTestProcessor(t, &recordingHandler{}, WithDeadLetterSink(&memorySink{}), WithPartialBatchResponse(false))
		resp, err := p.Process(context.Background(), payload(1, rs...))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Process = %s, %v", failureList(resp), err)
		}
	})
}

func TestProcessMalformedPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mut  func(r *events.KafkaRecord)
	}{
		{"empty topic", func(r *events.KafkaRecord) { r.Topic = "" }},
		{"bad topic", func(r *events.KafkaRecord) { r.Topic = "a topic" }},
		{"negative partition", func(r *events.KafkaRecord) { r.Partition = -1 }},
		{"huge partition", func(r *events.KafkaRecord) { r.Partition = 1 << 31 }},
		{"negative offset", func(r *events.KafkaRecord) { r.Offset = -5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := payload(1, rec{Topic: "t", Partition: 0, Offset: 1, Value: []byte("bad")}, rec{Topic: "u", Partition: 0, Offset: 1, Value: validEvent(t, 0)})
			tt.mut(&ev.Records["t-0"][0])
			h := &recordingHandler{}
			sink := &memorySink{}
			_, err := newTestProcessor(t, h, WithDeadLetterSink(sink)).Process(context.Background(), ev)
			if !errors.Is(err, ErrMalformedPayload) {
				t.Fatalf("err = %v, want ErrMalformedPayload", err)
			}
			if h.calls != 0 || sink.calls != 0 {
				t.Errorf("handler called %d, sink %d times; want nothing processed", h.calls, sink.calls)
			}
		})
	}
}

func TestProcessEmptyBatch(t *testing.T) {
	t.Parallel()
	h := &recordingHandler{}
	sink := &memorySink{}
	resp, err := newTestProcessor(t, h, WithDeadLetterSink(sink)).Process(context.Background(), events.KafkaEvent{})
	if err != nil || len(resp.BatchItemFailures) != 0 || h.calls != 0 || sink.calls != 0 {
		t.Fatalf("Process = %s, %v; handler %d, sink %d", failureList(resp), err, h.calls, sink.calls)
	}
	if got := mustJSON(t, resp); got != `{"batchItemFailures":[]}` {
		t.Errorf("JSON = %s", got)
	}
}

// TestProcessLogsOneLine checks the batch's log line: one line, the counts,
// the request id, and no record content.
func TestProcessLogsOneLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := &recordingHandler{fail: failOffsets(coord{"t", 0, 3})}
	p := newTestProcessor(t, h, WithDeadLetterSink(&memorySink{}), WithLogger(logger))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-123"})
	var rs []rec
	for i := range 20 {
		rs = append(rs, rec{Topic: "t", Partition: 0, Offset: int64(i), Key: []byte("user-secret-key"), Value: validEvent(t, 1)}) // orders with a card fingerprint
	}
	rs = append(rs, rec{Topic: "t", Partition: 1, Offset: 0, Value: []byte(`{"user_id":"SECRET-USER","event":"page_view"}`)}) // missing timestamp
	if _, err := p.Process(ctx, payload(1, rs...)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want 1:\n%s", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"level": "WARN", "msg": "batch processed", "function": "testfn", "aws_request_id": "req-123",
		"records": 21.0, "valid": 20.0, "dead_lettered": 1.0, "failed": 1.0, "retried": 17.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if r, _ := got["dead_letter_reasons"].(map[string]any); r["missing_field"] != 1.0 {
		t.Errorf("dead_letter_reasons = %v", got["dead_letter_reasons"])
	}
	for _, secret := range []string{"SECRET-USER", "user-secret-key", "fp-secret", "order-1"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log line contains record content %q: %s", secret, buf.String())
		}
	}
}

func TestProcessUsesDecoderOption(t *testing.T) {
	t.Parallel()
	h := &recordingHandler{}
	p := newTestProcessor(t, h, WithDeadLetterSink(&memorySink{}), WithDecoder(event.NewDecoder()))
	// a producer shape: the derived id depends on the record's coordinates
	v := []byte(`{"user_id":"12345","event":"page_view","timestamp":"2023-10-01T12:34:56Z","page_url":"/product/67890"}`)
	if _, err := p.Process(context.Background(), payload(1, rec{Topic: "user_events", Partition: 0, Offset: 1, Value: v}, rec{Topic: "user_events", Partition: 0, Offset: 2, Value: v})); err != nil {
		t.Fatal(err)
	}
	if len(h.events) != 2 || h.events[0].Meta().EventID == h.events[1].Meta().EventID || !h.events[0].Meta().Origin.DerivedID {
		t.Fatalf("events = %v: want two with distinct derived ids", h.events)
	}
	again, err := event.Decode(v, event.Source{Topic: "user_events", Partition: 0, Offset: 1})
	if err != nil || again.Meta().EventID != h.events[0].Meta().EventID {
		t.Errorf("derived id not stable: %v %v", again, err)
	}
}

// TestProcessLargeBatch runs a batch large enough to be decoded on several
// goroutines (run it with -race): every key and value reaches the handler
// as it was sent, each in its own part of the batch's buffer.
func TestProcessLargeBatch(t *testing.T) {
	t.Parallel()
	const n = 4 * minDecodeChunk
	var rs []rec
	var wantSeen, wantDead, wantBad []coord
	sent := map[coord]rec{}
	for i := range n {
		r := rec{Topic: []string{"a", "b"}[i%2], Partition: int32(i % 3), Offset: int64(i), Value: validEvent(t, i)}
		if i%4 != 0 {
			r.Key = []byte(strings.Repeat("k", i%23) + strconv.Itoa(i)) // every length mod 3: every padding
		}
		switch {
		case i%10 == 7:
			r.Value = []byte(`{"event_type":"click"}`)
			wantDead = append(wantDead, r.coord())
		case i%13 == 5:
			r.RawValue = "bm90IGpzb24=!"
			wantBad = append(wantBad, r.coord())
		default:
			wantSeen = append(wantSeen, r.coord())
		}
		sent[r.coord()] = r
		rs = append(rs, r)
	}
	var mismatch []string
	h := &recordingHandler{}
	hf := HandlerFunc(func(ctx context.Context, b *Batch) error {
		for _, m := range b.Messages() {
			r := sent[coordOf(&m.Record)]
			if !bytes.Equal(m.Key, r.Key) || !bytes.Equal(m.Value, r.Value) || cap(m.Value) != len(m.Value) {
				mismatch = append(mismatch, fmt.Sprintf("%v: key %q value %q", coordOf(&m.Record), m.Key, m.Value))
			}
		}
		return h.Handle(ctx, b)
	})
	sink := &memorySink{}
	p := newTestProcessor(t, hf, WithDeadLetterSink(sink))
	resp, st, err := p.ProcessWithStats(context.Background(), payload(0, rs...))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Process = %s, %v", failureList(resp), err)
	}
	if len(mismatch) > 0 {
		t.Errorf("%d records differ from what was sent, first %s", len(mismatch), mismatch[0])
	}
	if fmt.Sprint(h.seen) != fmt.Sprint(sortedCoords(wantSeen)) {
		t.Error("handler did not see the valid records in partition order")
	}
	var gotDead, gotBad []coord
	for _, dl := range sink.letters {
		c := coord{dl.Topic, dl.Partition, dl.Offset}
		switch dl.Reason {
		case event.ReasonMissingField:
			gotDead = append(gotDead, c)
		case event.ReasonBadEncoding:
			gotBad = append(gotBad, c)
			if string(dl.RecordValue) != sent[c].RawValue || !bytes.Equal(dl.RecordKey, sent[c].Key) {
				t.Errorf("letter %v carries %q %q", c, dl.RecordKey, dl.RecordValue)
			}
		default:
			t.Errorf("letter %d reason %s", dl.Offset, dl.Reason)
		}
	}
	if fmt.Sprint(gotDead) != fmt.Sprint(sortedCoords(wantDead)) || fmt.Sprint(gotBad) != fmt.Sprint(sortedCoords(wantBad)) {
		t.Errorf("dead letters %v and %v, want %v and %v", gotDead, gotBad, sortedCoords(wantDead), sortedCoords(wantBad))
	}
	if st.Valid != len(wantSeen) || st.DeadLettered[event.ReasonMissingField] != len(wantDead) || st.DeadLettered[event.ReasonBadEncoding] != len(wantBad) {
		t.Errorf("stats = %+v", st)
	}
}
