package event_test

import (
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// TestStrictJSON: inputs other JSON readers would read differently are refused.
func TestStrictJSON(t *testing.T) {
	t.Parallel()
	const head = `{"event_id":"e-1","event_type":"add_to_cart","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","user_id":"u-1","product_id":"p-1",`
	for _, tc := range []struct {
		doc    string
		reason event.Reason
		field  string
	}{
		{head + `"quantity":1,"quantity":500}`, event.ReasonNotJSON, "quantity"},
		{`{"event_id":"e-1","event_id":"e-2"}`, event.ReasonNotJSON, "event_id"},
		{head + `"quantity":01}`, event.ReasonInvalidValue, "quantity"},
		{head + `"quantity":1.}`, event.ReasonInvalidValue, "quantity"},
		{head + `"quantity":-}`, event.ReasonNotJSON, ""},
		{head + `"quantity":1e}`, event.ReasonInvalidValue, "quantity"},
		{head + `"quantity":1,"location":{"city":"A","city":"B"}}`, event.ReasonNotJSON, "location.city"},
	} {
		_, err := event.Decode([]byte(tc.doc), event.Source{})
		var e *event.Error
		if err == nil {
			t.Errorf("%s: accepted", tc.doc)
			continue
		}
		e = err.(*event.Error)
		if e.Reason != tc.reason || e.Field != tc.field {
			t.Errorf("%s: got %s on %q, want %s on %q (%v)", tc.doc, e.Reason, e.Field, tc.reason, tc.field, err)
		}
	}
	for _, ok := range []string{head + `"quantity":1}`, head + `"quantity":1e0}`, head + `"quantity":2.0}`} {
		if _, err := event.Decode([]byte(ok), event.Source{}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestDeadLetterOfOversizedRecord: a dead letter carrying an oversized
// record is itself larger than any event, and still readable from the
// dead-letter topic.
func TestDeadLetterOfOversizedRecord(t *testing.T) {
	t.Parallel()
	dl := event.New(event.TypeDeadLetter).(*event.DeadLetter)
	dl.EventID, dl.OccurredAt = "dl-1", event.MinTime.AddDate(26, 0, 0)
	dl.Function, dl.Reason, dl.Error, dl.Topic = "lake", event.ReasonOversized, "oversized: record is 100000 bytes", "user_events"
	dl.RecordValue = make([]byte, 100_000)
	b, err := event.AppendJSON(nil, dl)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= event.MaxRecordBytes {
		t.Fatalf("letter is only %d bytes", len(b))
	}
	if _, err := event.Decode(b, event.Source{Topic: event.TopicUserEvents}); event.ReasonOf(err) != event.ReasonOversized {
		t.Fatalf("on an event topic: %v, want oversized", err)
	}
	got, err := event.Decode(b, event.Source{Topic: event.TopicDeadLetters})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.(*event.DeadLetter).RecordValue) != 100_000 {
		t.Fatal("record value lost")
	}
}

// TestParseTimeFastPath holds the fast timestamp parser to time.Parse.
func TestParseTimeFastPath(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"2026-01-01T00:00:00Z", "2026-01-01T00:00:00.1Z", "2026-01-01T00:00:00.123Z", "2026-12-31T23:59:59.999999999Z",
		"2024-02-29T12:00:00Z", "2026-02-29T12:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z",
		"2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z", "2026-01-01T00:00:00+01:00", "2026-01-01 00:00:00Z",
		"2026-01-01T00:00:60Z", "0000-01-01T00:00:00Z", "2026-1-01T00:00:00Z", "2026-01-01T00:00:00.12a4Z",
	} {
		doc := `{"event_id":"e-1","event_type":"search","schema_version":1,"occurred_at":"` + s + `","user_id":"u-1","query":"q"}`
		e, err := event.Decode([]byte(doc), event.Source{})
		want, werr := time.Parse(time.RFC3339Nano, s)
		if werr != nil {
			if err == nil {
				t.Errorf("%s: accepted, time.Parse refuses it", s)
			}
			continue
		}
		if want.Before(event.MinTime) {
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if got := e.Meta().OccurredAt; !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: got %v, want %v", s, got, want.UTC())
		}
	}
}
