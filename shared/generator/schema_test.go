package generator

import (
	"testing"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/eventtest"
)

// TestGoodRecordsMatchSchemas validates every good canonical record of a
// large sample against its event type's JSON Schema, and checks that bad
// records fail it too where a schema can tell.
func TestGoodRecordsMatchSchemas(t *testing.T) {
	t.Parallel()
	schemas := eventtest.Schemas(t)
	recs, _ := generate(t, Config{Seed: 13, BadRate: 0.02}, 100000)
	checked := map[event.Type]int{}
	rejected := 0
	for i, r := range recs {
		if r.Bad != nil {
			if r.Bad.Kind == "malformed_json" || r.Bad.Kind == "unknown_event_type" || r.Bad.Kind == "oversized" {
				continue // not JSON, no schema to pick, or a size limit schemas do not state
			}
			if err := schemas.Validate(string(r.view.Meta().EventType), r.Value); err == nil {
				t.Errorf("bad record %d (%s) passes the %s schema: %.200s", i, r.Bad.Kind, r.view.Meta().EventType, r.Value)
			}
			rejected++
			continue
		}
		if r.Shape != event.ShapeCanonical {
			continue
		}
		if err := schemas.Validate(string(r.Type), r.Value); err != nil {
			t.Fatalf("record %d (%s) does not match its schema: %v\n%s", i, r.Type, err, r.Value)
		}
		checked[r.Type]++
	}
	total := 0
	for _, n := range checked {
		total += n
	}
	if total < 90000 || len(checked) < 16 || rejected == 0 {
		t.Fatalf("checked %d good records of %d types, %d bad ones", total, len(checked), rejected)
	}
}
