package esm

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

func TestParseResponse(t *testing.T) {
	t.Parallel()
	batch := map[string]map[int64]struct{}{
		"orders-0":     {10: {}, 11: {}, 12: {}},
		"orders-1-x-3": {5: {}},
	}
	tests := []struct {
		name    string
		resp    string
		want    map[string]int64
		invalid bool
	}{
		{name: "empty", resp: ""},
		{name: "null", resp: " null "},
		{name: "empty object", resp: "{}"},
		{name: "null list", resp: `{"batchItemFailures":null}`},
		{name: "empty list", resp: `{"batchItemFailures":[]}`},
		{name: "other fields", resp: `{"processed":3}`},
		{name: "one failure", resp: `{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-0","offset":11}}]}`, want: map[string]int64{"orders-0": 11}},
		{
			name: "lowest per partition",
			resp: `{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-0","offset":12}},{"itemIdentifier":{"partition":"orders-0","offset":10}},{"itemIdentifier":{"partition":"orders-1-x-3","offset":5}}]}`,
			want: map[string]int64{"orders-0": 10, "orders-1-x-3": 5},
		},
		{name: "string offset", resp: `{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-0","offset":"12"}}]}`, want: map[string]int64{"orders-0": 12}},
		{name: "not an object", resp: `[]`, invalid: true},
		{name: "a string", resp: `"ok"`, invalid: true},
		{name: "list is a string", resp: `{"batchItemFailures":"orders-0"}`, invalid: true},
		{name: "null item", resp: `{"batchItemFailures":[null]}`, invalid: true},
		{name: "null identifier", resp: `{"batchItemFailures":[{"itemIdentifier":null}]}`, invalid: true},
		{name: "misspelt identifier", resp: `{"batchItemFailures":[{"itemIdentifer":{"partition":"orders-0","offset":11}}]}`, invalid: true},
		{name: "no partition", resp: `{"batchItemFailures":[{"itemIdentifier":{"offset":11}}]}`, invalid: true},
		{name: "unknown partition", resp: `{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-2","offset":11}}]}`, invalid: true},
		{name: "offset not in batch", resp: `{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-0","offset":13}}]}`, invalid: true},
		{name: "no offset", resp: `{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-0"}}]}`, invalid: true},
		{name: "fractional offset", resp: `{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-0","offset":11.5}}]}`, invalid: true},
		{name: "empty string offset", resp: `{"batchItemFailures":[{"itemIdentifier":{"partition":"orders-0","offset":""}}]}`, invalid: true},
		{name: "truncated", resp: `{"batchItemFailures":[`, invalid: true},
	}
	for _, tt := range tests {
		got, err := parseResponse([]byte(tt.resp), batch)
		if tt.invalid {
			if !errors.Is(err, errInvalidResponse) {
				t.Errorf("%s: err = %v, want an invalid response", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("%s: lowest failed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestParseKafkabatchResponse reads the responses the project's functions
// send.
func TestParseKafkabatchResponse(t *testing.T) {
	t.Parallel()
	batch := map[string]map[int64]struct{}{"orders-0": {1: {}, 2: {}}}
	for _, tt := range []struct {
		resp kafkabatch.Response
		want map[string]int64
	}{
		{kafkabatch.Response{}, nil},
		{kafkabatch.Response{BatchItemFailures: []kafkabatch.BatchItemFailure{{ItemIdentifier: kafkabatch.ItemIdentifier{Partition: "orders-0", Offset: 2}}}}, map[string]int64{"orders-0": 2}},
	} {
		b, err := json.Marshal(tt.resp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseResponse(b, batch)
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("%s: %v, %v; want %v", b, got, err, tt.want)
		}
	}
}
