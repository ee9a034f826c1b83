package esm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// errInvalidResponse matches the errors of parseResponse.
var errInvalidResponse = errors.New("invalid partial batch response")

// parseResponse reads a function's partial batch response to an invocation
// whose records are indexed in offsets (partition key to the set of its
// offsets in the payload), and returns the lowest failed offset of every
// partition the response lists.
//
// As Lambda does: an empty response, JSON null, an object without
// batchItemFailures, or a null or empty list means the whole batch
// succeeded. A response that is not such an object, an item whose
// itemIdentifier is missing or null, or that names a partition or an offset
// that was not in the payload, makes the response invalid: the whole batch
// has failed. An offset may be a JSON integer or a string holding one.
func parseResponse(payload []byte, offsets map[string]map[int64]struct{}) (map[string]int64, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || string(payload) == "null" {
		return nil, nil
	}
	if payload[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errInvalidResponse)
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *struct {
				Partition *string         `json:"partition"`
				Offset    json.RawMessage `json:"offset"`
			} `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalidResponse, err)
	}
	var failed map[string]int64
	for i, f := range resp.BatchItemFailures {
		id := f.ItemIdentifier
		if id == nil {
			return nil, fmt.Errorf("%w: batchItemFailures[%d] has no itemIdentifier", errInvalidResponse, i)
		}
		if id.Partition == nil {
			return nil, fmt.Errorf("%w: batchItemFailures[%d] has no partition", errInvalidResponse, i)
		}
		part, ok := offsets[*id.Partition]
		if !ok {
			return nil, fmt.Errorf("%w: batchItemFailures[%d]: partition %q was not in the batch", errInvalidResponse, i, clip(*id.Partition))
		}
		off, err := parseOffset(id.Offset)
		if err != nil {
			return nil, fmt.Errorf("%w: batchItemFailures[%d]: %v", errInvalidResponse, i, err)
		}
		if _, ok := part[off]; !ok {
			return nil, fmt.Errorf("%w: batchItemFailures[%d]: offset %d of %s was not in the batch", errInvalidResponse, i, off, *id.Partition)
		}
		if failed == nil {
			failed = make(map[string]int64)
		}
		if low, ok := failed[*id.Partition]; !ok || off < low {
			failed[*id.Partition] = off
		}
	}
	return failed, nil
}

// parseOffset reads an item's offset: a JSON integer, or a string holding one.
func parseOffset(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("no offset")
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("offset %s: %v", clip(string(raw)), err)
		}
	}
	off, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("offset %s is not an integer", clip(string(raw)))
	}
	return off, nil
}

// clip shortens text quoted from a response in an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "..."
}
