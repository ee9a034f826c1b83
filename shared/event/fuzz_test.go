package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/shopstream/shopstream/shared/event"
)

// FuzzDecode feeds arbitrary bytes to the decoder. It must never panic; it
// either returns an *event.Error with a known Reason, or an event that
// validates and survives a JSON round trip. The seed corpus is in
// testdata/fuzz/FuzzDecode: canonical events of several types, every producer
// shape of DESIGN.md section 2, and malformed records.
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=60s ./shared/event
func FuzzDecode(f *testing.F) {
	src := event.Source{Topic: "fuzz", Partition: 3, Offset: 42}
	f.Fuzz(func(t *testing.T, value []byte) {
		e, err := event.Decode(value, src)
		if err != nil {
			if e != nil {
				t.Fatalf("Decode returned both an event (%T) and an error: %v", e, err)
			}
			var ee *event.Error
			if !errors.As(err, &ee) || !errors.Is(err, event.ErrInvalid) {
				t.Fatalf("error %v (%T) is not an *event.Error", err, err)
			}
			if !slices.Contains(event.Reasons(), ee.Reason) || ee.Reason == event.ReasonRejected || ee.Reason == event.ReasonBadEncoding {
				t.Fatalf("error %v has reason %q, not a decode reason", err, ee.Reason)
			}
			return
		}
		if e == nil {
			t.Fatal("Decode returned neither an event nor an error")
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("decoded %T does not validate: %v", e, err)
		}
		m := e.Meta()
		if !m.EventType.Known() || m.SchemaVersion != event.SchemaVersion || !event.IsID(m.EventID) {
			t.Fatalf("envelope %+v", m)
		}
		again, err := event.Decode(value, src)
		if err != nil || again.Meta().EventID != m.EventID {
			t.Fatalf("decoding the same bytes again gives %v, %v; want event id %s", again, err, m.EventID)
		}

		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("marshal %T: %v", e, err)
		}
		if fast, err := event.AppendJSON(nil, e); err != nil || !bytes.Equal(fast, b) {
			t.Fatalf("AppendJSON differs from encoding/json (%v):\n%s\n%s", err, fast, b)
		}
		// Canonical JSON decodes from any coordinates: it carries its id.
		back, err := event.Decode(b, event.Source{Topic: "elsewhere", Offset: 7})
		if m.Origin.Shape != event.ShapeCanonical {
			// A producer shape may lack fields the canonical shape requires
			// (Origin.Missing lists them); when it lacks none, the canonical
			// form of the event must be a valid event too.
			if err != nil && len(m.Origin.Missing) == 0 {
				t.Fatalf("canonical form of a %s %s does not decode: %v\n%s", m.Origin.Shape, m.EventType, err, b)
			}
			if err == nil && (back.Meta().EventType != m.EventType || back.Meta().EventID != m.EventID) {
				t.Fatalf("canonical form of a %s %s decodes as %s %s", m.Origin.Shape, m.EventType, back.Meta().EventType, back.Meta().EventID)
			}
			return
		}
		if err != nil {
			t.Fatalf("re-decoding the canonical JSON of a %s: %v\n%s", m.EventType, err, b)
		}
		if back.Meta().EventType != m.EventType || back.Meta().EventID != m.EventID {
			t.Fatalf("round trip changed %s %s into %s %s", m.EventType, m.EventID, back.Meta().EventType, back.Meta().EventID)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("round-tripped %s does not validate: %v", m.EventType, err)
		}
		b2, err := json.Marshal(back)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("canonical JSON is not a fixed point (%v):\n%s\n%s", err, b, b2)
		}
	})
}
