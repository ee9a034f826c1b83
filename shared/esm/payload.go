package esm

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// rec is a polled record and its JSON in an invocation payload. A record is
// encoded once, when it is polled; every payload that carries it (retries,
// halves of a split batch, the on-failure record) reuses the bytes.
type rec struct {
	r     *kgo.Record
	key   string // the payload's records key: "topic-partition"
	json  []byte
	at    time.Time // when it was polled
	taken bool      // it has been in a batch: counted in Stats.Records
}

// partitionKey returns the key of a partition in the payload's records map
// and in a partial batch response: "topic-partition".
func partitionKey(topic string, partition int32) string {
	return topic + "-" + strconv.FormatInt(int64(partition), 10)
}

// timestampType names a record's timestamp type as the payload does.
func timestampType(r *kgo.Record) string {
	switch r.Attrs.TimestampType() {
	case 0:
		return "CREATE_TIME"
	case 1:
		return "LOG_APPEND_TIME"
	default:
		return "NO_TIMESTAMP_TYPE"
	}
}

// encodeRecord appends the JSON of r to dst, in the shape and field order of
// the event source mapping's payload (and of events.KafkaRecord): key and
// value base64, omitted when empty; timestamp in Unix milliseconds; each
// header a one-key object whose value is the array of its bytes as signed
// integers.
func encodeRecord(dst []byte, r *kgo.Record) []byte {
	dst = append(dst, `{"topic":`...)
	dst = appendString(dst, r.Topic)
	dst = append(dst, `,"partition":`...)
	dst = strconv.AppendInt(dst, int64(r.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
	dst = append(dst, `,"timestampType":"`...)
	dst = append(dst, timestampType(r)...)
	dst = append(dst, '"')
	if len(r.Key) > 0 {
		dst = append(dst, `,"key":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Key)
		dst = append(dst, '"')
	}
	if len(r.Value) > 0 {
		dst = append(dst, `,"value":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Value)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"headers":[`...)
	for i, h := range r.Headers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		dst = appendString(dst, h.Key)
		dst = append(dst, ":["...)
		for j, b := range h.Value {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(int8(b)), 10)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}

// appendString appends s as a JSON string, escaped as encoding/json does.
func appendString(dst []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			plain = false
			break
		}
	}
	if plain {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// payloadPrefix returns the start of every payload of the mapping, up to the
// opening brace of the records map. Its fields are in the order of Lambda's
// documented examples; a self-managed Kafka payload has no eventSourceArn.
func (s *settings) payloadPrefix() []byte {
	b := []byte(`{"eventSource":`)
	b = appendString(b, s.eventSource)
	if s.eventSource == EventSourceMSK {
		b = append(b, `,"eventSourceArn":`...)
		b = appendString(b, s.EventSourceARN)
	}
	b = append(b, `,"bootstrapServers":`...)
	b = appendString(b, s.servers)
	return append(b, `,"records":{`...)
}

// payloadSuffix closes the records map and the payload.
const payloadSuffix = "}}"

// sizer counts the exact size of a payload as records are added to it, so
// that a batch can stop before it would grow past MaxPayloadBytes. Records
// must be added grouped by partition: all of one partition, then the next.
type sizer struct {
	size    int
	lastKey string
	n       int
}

func newSizer(prefix []byte) sizer { return sizer{size: len(prefix) + len(payloadSuffix)} }

// with returns the payload's size once r is added.
func (z *sizer) with(r *rec) int {
	if z.n > 0 && r.key == z.lastKey {
		return z.size + 1 + len(r.json) // ,record
	}
	size := z.size + len(r.key) + 5 + len(r.json) // "key":[record]
	if z.n > 0 {
		size++ // , between partitions
	}
	return size
}

// add adds r.
func (z *sizer) add(r *rec) {
	z.size = z.with(r)
	z.lastKey = r.key
	z.n++
}

// buildPayload returns the payload of recs, which hold each partition's
// records contiguous and in offset order. Its length is what a sizer fed
// the same records counts.
func buildPayload(prefix []byte, recs []*rec) []byte {
	z := newSizer(prefix)
	for _, r := range recs {
		z.add(r)
	}
	b := make([]byte, 0, z.size)
	b = append(b, prefix...)
	for i, r := range recs {
		switch {
		case i == 0:
		case r.key == recs[i-1].key:
			b = append(b, ',')
		default:
			b = append(b, "],"...)
		}
		if i == 0 || r.key != recs[i-1].key {
			b = append(b, '"')
			b = append(b, r.key...)
			b = append(b, `":[`...)
		}
		b = append(b, r.json...)
	}
	if len(recs) > 0 {
		b = append(b, ']')
	}
	return append(b, payloadSuffix...)
}
