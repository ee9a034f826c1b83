package kafkabatch

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/event"
)

// ErrMalformedPayload matches, through errors.Is, the error Process returns
// for a KafkaEvent that no real event source mapping sends: a record without a
// valid topic name, with a partition outside [0, 2^31) or a negative offset.
// Such a record cannot be checkpointed, reported or dead-lettered, so the
// whole batch fails and nothing is processed.
var ErrMalformedPayload = errors.New("kafkabatch: malformed Kafka event payload")

// Record is one Kafka record of an event source mapping payload, with its key
// and value base64-decoded and its headers as byte strings. The keys and
// values of one batch's records share one buffer; they stay valid after the
// batch, but keeping any of them keeps the whole buffer.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	// Timestamp is the record's Kafka timestamp, in UTC (millisecond
	// precision); zero when the payload has none.
	Timestamp time.Time
	// TimestampType is "CREATE_TIME" or "LOG_APPEND_TIME".
	TimestampType string
	// Key is nil for a record without a key.
	Key []byte
	// Value is the record value. When the payload's value is not valid
	// base64, Value holds the payload's text as it was, and the record is
	// dead-lettered with event.ReasonBadEncoding.
	Value []byte
	// Headers are in the order the payload lists them.
	Headers []event.RecordHeader
}

// TopicPartition returns the record's partition identifier, "topic-partition",
// as the event source mapping keys its records and names partitions in a
// partial batch response.
func (r *Record) TopicPartition() string { return topicPartition(r.Topic, r.Partition) }

// Source returns the record's Kafka coordinates for event.Decode.
func (r *Record) Source() event.Source {
	return event.Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
}

func topicPartition(topic string, partition int32) string {
	return topic + "-" + strconv.FormatInt(int64(partition), 10)
}

// Message is a Record and the event decoded from its value. Event is nil
// when the value is not a valid event.
type Message struct {
	Record
	Event event.Event

	idx     int   // position in its Batch
	invalid error // why the record is not a valid event, set before decoding for bad base64

	// Until load decodes them, src is the payload record whose key, value
	// and headers are still to decode, and buf the part of the batch's
	// buffer kept for the key and the value.
	src *events.KafkaRecord
	buf []byte
}

// compareRecords orders records by topic, partition and offset.
func compareRecords(a, b *Record) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Partition, b.Partition); c != 0 {
		return c
	}
	return cmp.Compare(a.Offset, b.Offset)
}

// space is the memory of one batch's records: their messages, the buffer
// their keys and values are decoded into, and the arenas of their events.
type space struct {
	msgs   []Message
	buf    []byte
	arenas []event.Arena
}

// records flattens the payload's records map into one slice of messages in
// partition order (topic, partition, offset): the map's iteration order is
// random. Keys and values of all records share one buffer, each record
// having its own part of it, so that they can be decoded (see load) in any
// order and at the same time. With sp not nil, the messages and the buffer
// are sp's when large enough, and sp keeps those made instead; the messages
// of sp must be zero.
func records(ev *events.KafkaEvent, sp *space) ([]Message, error) {
	type group struct {
		key string
		rs  []events.KafkaRecord
	}
	groups := make([]group, 0, len(ev.Records))
	n, size := 0, 0
	for key, rs := range ev.Records {
		for i := range rs {
			kr := &rs[i]
			if !validTopic(kr.Topic) {
				return nil, fmt.Errorf("%w: records[%q][%d]: topic %q is not a Kafka topic name", ErrMalformedPayload, clipKey(key), i, clipKey(kr.Topic))
			}
			if kr.Partition < 0 || kr.Partition > math.MaxInt32 {
				return nil, fmt.Errorf("%w: records[%q][%d]: partition %d is out of range", ErrMalformedPayload, clipKey(key), i, kr.Partition)
			}
			if kr.Offset < 0 {
				return nil, fmt.Errorf("%w: records[%q][%d]: offset %d is negative", ErrMalformedPayload, clipKey(key), i, kr.Offset)
			}
			size += recordSize(kr)
		}
		if len(rs) > 0 {
			groups = append(groups, group{key, rs})
			n += len(rs)
		}
	}
	// Each list of a real payload holds one partition in offset order:
	// ordering the lists is then enough. Sort everything only when not.
	slices.SortFunc(groups, func(a, b group) int {
		ra, rb := &a.rs[0], &b.rs[0]
		if c := cmp.Compare(ra.Topic, rb.Topic); c != 0 {
			return c
		}
		if c := cmp.Compare(ra.Partition, rb.Partition); c != 0 {
			return c
		}
		if c := cmp.Compare(ra.Offset, rb.Offset); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	if sp == nil {
		sp = &space{}
	}
	if cap(sp.msgs) < n {
		sp.msgs = make([]Message, n)
	}
	if cap(sp.buf) < size {
		sp.buf = make([]byte, size)
	}
	out, buf := sp.msgs[:n], sp.buf[:size]
	i := 0
	for _, g := range groups {
		for j := range g.rs {
			kr := &g.rs[j]
			size := recordSize(kr)
			out[i].fill(kr, buf[:size:size])
			buf = buf[size:]
			i++
		}
	}
	cmpMsg := func(a, b Message) int { return compareRecords(&a.Record, &b.Record) }
	if !slices.IsSortedFunc(out, cmpMsg) {
		slices.SortStableFunc(out, cmpMsg)
	}
	return out, nil
}

// recordSize is the part of a batch's buffer a record's key and value are
// decoded into.
func recordSize(kr *events.KafkaRecord) int {
	return base64.StdEncoding.DecodedLen(len(kr.Key)) + base64.StdEncoding.DecodedLen(len(kr.Value)) + b64Slack
}

// fill sets the coordinates of m from the payload record kr, and keeps kr
// and buf, kr's part of the batch's buffer, for load.
func (m *Message) fill(kr *events.KafkaRecord, buf []byte) {
	r := &m.Record
	r.Topic, r.Partition, r.Offset, r.TimestampType = kr.Topic, int32(kr.Partition), kr.Offset, kr.TimestampType
	if !kr.Timestamp.IsZero() {
		r.Timestamp = kr.Timestamp.UTC()
	}
	m.src, m.buf = kr, buf
}

// load decodes the key, value and headers of m's payload record. A message
// whose key or value is not base64 carries the error in invalid.
func (m *Message) load() {
	kr, buf := m.src, m.buf
	if kr == nil {
		return
	}
	m.src, m.buf = nil, nil
	r := &m.Record
	var ok bool
	if r.Key, ok = decodeBase64(kr.Key, buf); ok {
		buf = buf[len(r.Key):]
	} else {
		r.Key = []byte(kr.Key)
		m.invalid = &event.Error{Reason: event.ReasonBadEncoding, Field: "key", Detail: "the record key is not valid base64"}
	}
	if r.Value, ok = decodeBase64(kr.Value, buf); !ok {
		r.Value = []byte(kr.Value)
		m.invalid = &event.Error{Reason: event.ReasonBadEncoding, Detail: "the record value is not valid base64"}
	}
	if len(kr.Headers) > 0 {
		r.Headers = make([]event.RecordHeader, 0, len(kr.Headers))
	}
	for _, h := range kr.Headers {
		if len(h) == 1 {
			for k, v := range h {
				r.Headers = append(r.Headers, event.RecordHeader{Key: k, Value: []byte(v)})
			}
			continue
		}
		// The event source mapping sends one key per map; order several
		// keys so the result does not depend on map iteration.
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			r.Headers = append(r.Headers, event.RecordHeader{Key: k, Value: []byte(h[k])})
		}
	}
}

// validTopic reports whether s is a legal Kafka topic name.
func validTopic(s string) bool {
	if len(s) == 0 || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// clipKey shortens a payload string quoted in an error message.
func clipKey(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "..."
}
