package kafkabatch

import (
	"encoding/json"
)

// Response is a Kafka event source mapping's partial batch response, which
// aws-lambda-go has no type for:
//
//	{"batchItemFailures":[{"itemIdentifier":{"partition":"topic-N","offset":N}}]}
//
// The event source mapping reads it only when its FunctionResponseTypes
// include ReportBatchItemFailures. It then checkpoints each listed partition
// at the lowest listed offset and redelivers that record and every later one;
// partitions not listed, and an empty list, count as fully processed.
type Response struct {
	BatchItemFailures []BatchItemFailure `json:"batchItemFailures"`
}

// BatchItemFailure names one failed record.
type BatchItemFailure struct {
	ItemIdentifier ItemIdentifier `json:"itemIdentifier"`
}

// ItemIdentifier is a record's coordinates: Partition is "topic-N".
type ItemIdentifier struct {
	Partition string `json:"partition"`
	Offset    int64  `json:"offset"`
}

// MarshalJSON writes an empty list, never null, for a response without
// failures: {"batchItemFailures":[]}.
func (r Response) MarshalJSON() ([]byte, error) {
	type plain Response
	if r.BatchItemFailures == nil {
		r.BatchItemFailures = []BatchItemFailure{}
	}
	return json.Marshal(plain(r))
}
