package kafkabatch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzProcess feeds the Processor arbitrary payloads (bytes read as a
// KafkaEvent, as the Lambda runtime reads them) and arbitrary record values.
// It must never panic, and no record may be lost: each one is handed to the
// Handler and succeeds, is dead-lettered, or is reported failed (at or after
// its partition's reported offset, or by an error for the whole batch). The
// seed corpus is in testdata/fuzz/FuzzProcess.
//
//	go test -run='^$' -fuzz=FuzzProcess -fuzztime=60s ./shared/kafkabatch
func FuzzProcess(f *testing.F) {
	f.Fuzz(func(t *testing.T, payloadJSON, value []byte) {
		var ev events.KafkaEvent
		if json.Unmarshal(payloadJSON, &ev) == nil {
			checkNothingLost(t, ev)
		}
		key := value[:min(len(value), 16)]
		checkNothingLost(t, events.KafkaEvent{Records: map[string][]events.KafkaRecord{
			"fuzz-0": {
				{Topic: "fuzz", Partition: 0, Offset: 1, Key: base64.StdEncoding.EncodeToString(key), Value: base64.StdEncoding.EncodeToString(value)},
				{Topic: "fuzz", Partition: 0, Offset: 2, Value: string(value)}, // most likely not base64
				{Topic: "fuzz", Partition: 0, Offset: 3, Key: string(key), Value: base64.StdEncoding.EncodeToString(value),
					Headers: []map[string]events.JSONNumberBytes{{string(key): key}}},
			},
		}})
	})
}

// checkNothingLost processes ev with every combination of partial batch
// response and a working or failing sink, with a handler that fails and
// rejects some messages, and checks every record is accounted for.
func checkNothingLost(t *testing.T, ev events.KafkaEvent) {
	t.Helper()
	for _, partial := range []bool{true, false} {
		for _, sinkFails := range []bool{false, true} {
			sink := &memorySink{}
			if sinkFails {
				sink.err = errors.New("sink down")
			}
			h := &recordingHandler{
				fail:   func(m *Message) (bool, error) { return m.Offset%5 == 3, errors.New("transient") },
				reject: func(m *Message) (bool, error) { return m.Offset%7 == 4, errors.New("refused") },
			}
			p := newTestProcessor(t, h, WithDeadLetterSink(sink), WithPartialBatchResponse(partial))
			resp, st, err := p.ProcessWithStats(context.Background(), ev)
			checkOutcome(t, ev, h, sink, resp, st, err)
		}
	}
}

func checkOutcome(t *testing.T, ev events.KafkaEvent, h *recordingHandler, sink *memorySink, resp Response, st Stats, err error) {
	t.Helper()
	if errors.Is(err, ErrMalformedPayload) {
		if h.calls != 0 || sink.calls != 0 {
			t.Fatalf("malformed payload processed: handler %d, sink %d calls", h.calls, sink.calls)
		}
		return
	}
	var all []coord
	for _, rs := range ev.Records {
		for _, r := range rs {
			all = append(all, coord{r.Topic, int32(r.Partition), r.Offset})
		}
	}
	if st.Records != len(all) {
		t.Fatalf("stats count %d records, payload has %d", st.Records, len(all))
	}
	if !slices.IsSortedFunc(h.seen, func(a, b coord) int {
		return compareRecords(&Record{Topic: a.Topic, Partition: a.Partition, Offset: a.Offset}, &Record{Topic: b.Topic, Partition: b.Partition, Offset: b.Offset})
	}) {
		t.Fatalf("handler saw records out of order: %v", h.seen)
	}
	for _, e := range h.events {
		if verr := e.Validate(); verr != nil {
			t.Fatalf("handler got an invalid event: %v", verr)
		}
	}
	if err != nil {
		// The whole batch is retried: nothing is lost.
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("an error and a partial response: %v, %s", err, failureList(resp))
		}
		return
	}

	seen := make(map[coord]bool)
	for _, c := range h.seen {
		seen[c] = true
	}
	lettered := make(map[coord]bool)
	for _, dl := range sink.letters {
		if verr := dl.Validate(); verr != nil {
			t.Fatalf("dead letter does not validate: %v: %+v", verr, dl)
		}
		lettered[coord{dl.Topic, dl.Partition, dl.Offset}] = true
	}
	lowest := make(map[string]int64)
	present := make(map[coord]bool)
	for _, c := range all {
		present[c] = true
	}
	for _, f := range resp.BatchItemFailures {
		id := f.ItemIdentifier
		if _, dup := lowest[id.Partition]; dup {
			t.Fatalf("partition %s listed twice: %s", id.Partition, failureList(resp))
		}
		lowest[id.Partition] = id.Offset
		found := false
		for c := range present {
			if topicPartition(c.Topic, c.Partition) == id.Partition && c.Offset == id.Offset {
				found = true
			}
		}
		if !found {
			t.Fatalf("reported failure %s@%d is not a record of the batch", id.Partition, id.Offset)
		}
	}
	covered := func(c coord) bool {
		off, ok := lowest[topicPartition(c.Topic, c.Partition)]
		return ok && c.Offset >= off
	}
	for _, c := range all {
		failed := c.Offset%5 == 3 && seen[c]
		rejected := c.Offset%7 == 4 && seen[c] && !failed
		switch {
		case failed && !covered(c):
			t.Fatalf("record %v failed but is not reported: %s", c, failureList(resp))
		case rejected && !lettered[c] && !covered(c):
			t.Fatalf("record %v rejected but neither dead-lettered nor reported", c)
		case !seen[c] && !lettered[c] && !covered(c):
			t.Fatalf("record %v lost: not handled, not dead-lettered, not reported", c)
		}
	}
	dead := 0
	for _, n := range st.DeadLettered {
		dead += n
	}
	if dead != len(sink.letters) {
		t.Fatalf("stats count %d dead letters, sink has %d", dead, len(sink.letters))
	}
}
