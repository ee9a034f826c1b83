package esm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Destination stores the records an event source mapping gives up on: its
// on-failure destination (an SQS queue, SNS topic, S3 bucket or Kafka topic
// in Lambda; a Kafka topic or a directory here).
//
// Send must store f, or return an error: the mapping commits the offsets of
// f's records only after Send returns nil, and until then calls Send again
// with the same f (after a pause), so a failure is never lost, and may be
// stored twice. Send must return soon after ctx ends. Send must be safe for
// concurrent use: batches of different partitions fail independently.
type Destination interface {
	Send(ctx context.Context, f *Failure) error
}

// Condition says why the mapping gave up on records.
type Condition string

// The conditions of an on-failure record, as Lambda writes them.
const (
	// RetryAttemptsExhausted: the function failed the records on their first
	// invocation and on every one of RetryAttempts retries.
	RetryAttemptsExhausted Condition = "RetryAttemptsExhausted"
	// RecordAgeExceeded: the records were older than MaxRecordAge before
	// they could be sent to the function (again).
	RecordAgeExceeded Condition = "RecordAgeExceeded"
	// MaximumPayloadSizeExceeded: a record alone makes a payload larger
	// than the 6 MB an invocation takes; it was never sent.
	MaximumPayloadSizeExceeded Condition = "MaximumPayloadSizeExceeded"
)

// FailureVersion is the version of the on-failure record format.
const FailureVersion = "1.0"

// timeLayout is how on-failure records write times: UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Failure is the on-failure record of records a mapping gave up on, in the
// JSON shape Lambda sends for a Kafka event source mapping (to an S3
// destination, the richest form: the SNS and SQS ones are the same without
// payload).
//
// The records of one Failure come from one batch (or the part of it that
// failed) and may span several partitions; KafkaBatchInfo.RecordsInfo gives
// the first and last offset of each, and Payload the whole invocation
// payload of the records, a KafkaEvent in JSON, as a string.
type Failure struct {
	RequestContext RequestContext `json:"requestContext"`
	// ResponseContext describes the last invocation's outcome; nil when the
	// records were never sent (MaximumPayloadSizeExceeded, or
	// RecordAgeExceeded before a first invocation) or when the last attempt
	// could not invoke the function at all.
	ResponseContext *ResponseContext `json:"responseContext"`
	Version         string           `json:"version"`
	// Timestamp is when the mapping gave up, as 2006-01-02T15:04:05.000Z.
	Timestamp      string         `json:"timestamp"`
	KafkaBatchInfo KafkaBatchInfo `json:"KafkaBatchInfo"`
	// Payload is the KafkaEvent JSON of the records, as the function would
	// have received it.
	Payload string `json:"payload"`
}

// RequestContext says which invocation failed, of which function, and why.
type RequestContext struct {
	// RequestID is the request ID of the last invocation of the records, or
	// a fresh one when they were never sent.
	RequestID   string    `json:"requestId"`
	FunctionARN string    `json:"functionArn"`
	Condition   Condition `json:"condition"`
	// ApproximateInvokeCount is how many times the records were sent to the
	// function.
	ApproximateInvokeCount int `json:"approximateInvokeCount"`
}

// ResponseContext is the outcome of the last invocation of the records.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	// FunctionError is "Unhandled" when the function failed; empty when it
	// returned an invalid partial batch response.
	FunctionError string `json:"functionError,omitempty"`
}

// KafkaBatchInfo locates the failed records.
type KafkaBatchInfo struct {
	// BatchSize is the number of records.
	BatchSize      int    `json:"batchSize"`
	EventSourceARN string `json:"eventSourceArn,omitempty"`
	// BootstrapServers is the mapping's servers, comma-separated.
	BootstrapServers string `json:"bootstrapServers"`
	// PayloadSize is the size of Payload, in bytes.
	PayloadSize int `json:"payloadSize"`
	// RecordsInfo holds, by "topic-partition", the range of the records:
	// set in a Failure.
	RecordsInfo map[string]RecordsInfo `json:"recordsInfo,omitempty"`
	// RecordInfo is the single record of a RecordFailure.
	RecordInfo *RecordInfo `json:"recordInfo,omitempty"`
}

// RecordsInfo is the range of the failed records of one partition. Offsets
// are decimal strings, times 2006-01-02T15:04:05.000Z, as Lambda writes them.
type RecordsInfo struct {
	FirstRecordOffset    string `json:"firstRecordOffset"`
	LastRecordOffset     string `json:"lastRecordOffset"`
	FirstRecordTimestamp string `json:"firstRecordTimestamp"`
	LastRecordTimestamp  string `json:"lastRecordTimestamp"`
}

// RecordInfo locates the record of a RecordFailure.
type RecordInfo struct {
	Offset    string `json:"offset"`
	Timestamp string `json:"timestamp"`
}

// Event decodes f's Payload.
func (f *Failure) Event() (events.KafkaEvent, error) {
	var ev events.KafkaEvent
	if err := json.Unmarshal([]byte(f.Payload), &ev); err != nil {
		return ev, fmt.Errorf("decode on-failure payload: %w", err)
	}
	return ev, nil
}

// RecordFailure is the on-failure record Lambda produces to a Kafka topic
// destination: one per failed record, with the record itself as a one-record
// KafkaEvent in Payload.
type RecordFailure struct {
	RequestContext  RequestContext      `json:"requestContext"`
	ResponseContext *ResponseContext    `json:"responseContext"`
	Version         string              `json:"version"`
	Timestamp       string              `json:"timestamp"`
	KafkaBatchInfo  KafkaBatchInfo      `json:"KafkaBatchInfo"`
	Payload         events.KafkaEvent   `json:"payload"`
	record          *events.KafkaRecord // the record, for its key
}

// Records splits f into one RecordFailure per record, in partition and
// offset order.
func (f *Failure) Records() ([]*RecordFailure, error) {
	ev, err := f.Event()
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(ev.Records))
	for k := range ev.Records {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []*RecordFailure
	for _, k := range keys {
		for i := range ev.Records[k] {
			r := ev.Records[k][i]
			if r.Headers == nil {
				r.Headers = []map[string]events.JSONNumberBytes{}
			}
			one := events.KafkaEvent{
				EventSource:      ev.EventSource,
				EventSourceARN:   ev.EventSourceARN,
				BootstrapServers: ev.BootstrapServers,
				Records:          map[string][]events.KafkaRecord{k: {r}},
			}
			size, err := json.Marshal(one)
			if err != nil {
				return nil, fmt.Errorf("encode on-failure record %s/%d: %w", k, r.Offset, err)
			}
			rf := &RecordFailure{
				RequestContext:  f.RequestContext,
				ResponseContext: f.ResponseContext,
				Version:         f.Version,
				Timestamp:       f.Timestamp,
				KafkaBatchInfo: KafkaBatchInfo{
					BatchSize:        1,
					EventSourceARN:   f.KafkaBatchInfo.EventSourceARN,
					BootstrapServers: f.KafkaBatchInfo.BootstrapServers,
					PayloadSize:      len(size),
					RecordInfo: &RecordInfo{
						Offset:    strconv.FormatInt(r.Offset, 10),
						Timestamp: r.Timestamp.UTC().Format(timeLayout),
					},
				},
				Payload: one,
			}
			rf.record = &rf.Payload.Records[k][0]
			out = append(out, rf)
		}
	}
	return out, nil
}

// newFailure returns the on-failure record of recs, which hold each
// partition's records contiguous and in offset order.
func newFailure(s *settings, prefix []byte, recs []*rec, cond Condition, a *attempt, now time.Time) *Failure {
	payload := buildPayload(prefix, recs)
	info := make(map[string]RecordsInfo)
	for i, r := range recs {
		if i > 0 && r.key == recs[i-1].key {
			ri := info[r.key]
			ri.LastRecordOffset = strconv.FormatInt(r.r.Offset, 10)
			ri.LastRecordTimestamp = r.r.Timestamp.UTC().Format(timeLayout)
			info[r.key] = ri
			continue
		}
		off, ts := strconv.FormatInt(r.r.Offset, 10), r.r.Timestamp.UTC().Format(timeLayout)
		info[r.key] = RecordsInfo{FirstRecordOffset: off, LastRecordOffset: off, FirstRecordTimestamp: ts, LastRecordTimestamp: ts}
	}
	reqID := a.requestID
	if reqID == "" {
		reqID = newRequestID()
	}
	return &Failure{
		RequestContext: RequestContext{
			RequestID:              reqID,
			FunctionARN:            s.FunctionARN,
			Condition:              cond,
			ApproximateInvokeCount: a.invokes,
		},
		ResponseContext: a.response,
		Version:         FailureVersion,
		Timestamp:       now.UTC().Format(timeLayout),
		KafkaBatchInfo: KafkaBatchInfo{
			BatchSize:        len(recs),
			EventSourceARN:   s.EventSourceARN,
			BootstrapServers: s.servers,
			PayloadSize:      len(payload),
			RecordsInfo:      info,
		},
		Payload: string(payload),
	}
}
