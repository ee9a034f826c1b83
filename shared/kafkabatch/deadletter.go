package kafkabatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shopstream/shopstream/shared/event"
)

// DeadLetterSink stores dead letters: records that are not valid events, or
// that a function's rules refuse, with the reason.
//
// Send must store every letter or return an error; after an error the
// Processor treats every letter of the call as not stored, and their records
// are retried. Send must be idempotent: a dead letter's EventID is derived
// from the function, topic, partition and offset of its record, so a replayed
// batch sends the same letter again, and storing it twice must be harmless
// (overwrite it, or let readers drop duplicates by EventID). Send must be
// safe for concurrent use.
type DeadLetterSink interface {
	Send(ctx context.Context, letters []*event.DeadLetter) error
}

// MaxErrorText is the longest error text, in bytes, a dead letter carries.
const MaxErrorText = 1024

// NewDeadLetter returns the dead letter of record r, refused by function for
// reason; err says why. The letter keeps the record's key, value, headers and
// Kafka coordinates; its EventID depends only on function and the record's
// coordinates, and its OccurredAt is the record's Kafka timestamp (or now,
// when the record has no plausible timestamp), so the same record always
// gives the same letter. The error text is made valid, single-byte-control
// free UTF-8 and capped at MaxErrorText bytes.
func NewDeadLetter(function string, r *Record, reason event.Reason, err error) *event.DeadLetter {
	return newDeadLetter(function, r, reason, err, time.Now)
}

func newDeadLetter(function string, r *Record, reason event.Reason, err error, now func() time.Time) *event.DeadLetter {
	dl := event.New(event.TypeDeadLetter).(*event.DeadLetter)
	dl.EventID = deadLetterID(function, r.Topic, r.Partition, r.Offset)
	dl.OccurredAt = r.Timestamp
	if dl.OccurredAt.Before(event.MinTime) || dl.OccurredAt.After(event.MaxTime) {
		dl.OccurredAt = now().UTC().Truncate(time.Millisecond)
	}
	dl.Function = function
	dl.Reason = reason
	dl.Error = errorText(reason, err)
	dl.Topic, dl.Partition, dl.Offset = r.Topic, r.Partition, r.Offset
	if !r.Timestamp.IsZero() {
		dl.KafkaTimestamp = r.Timestamp.UnixMilli()
	}
	dl.RecordKey, dl.RecordValue, dl.Headers = r.Key, r.Value, r.Headers
	return dl
}

// deadLetterID derives a dead letter's event id from its origin.
func deadLetterID(function, topic string, partition int32, offset int64) string {
	h := sha256.New()
	h.Write([]byte(function))
	h.Write([]byte{0})
	h.Write([]byte(topic))
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(partition))
	binary.BigEndian.PutUint64(b[4:], uint64(offset))
	h.Write([]byte{0})
	h.Write(b[:])
	var sum [sha256.Size]byte
	return "dl-" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// errorText makes err's text acceptable to (*event.DeadLetter).Validate:
// non-empty, valid UTF-8, no control characters but tab and newline, at most
// MaxErrorText bytes.
func errorText(reason event.Reason, err error) string {
	s := ""
	if err != nil {
		s = err.Error()
	}
	if strings.TrimSpace(s) == "" {
		return string(reason)
	}
	if len(s) > 4*MaxErrorText {
		s = s[:4*MaxErrorText] // bound the work below; cut again at a rune boundary later
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > MaxErrorText {
		const ellipsis = "…"
		cut := MaxErrorText - len(ellipsis)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + ellipsis
	}
	return s
}

// WriterSink writes dead letters as JSON lines (one canonical JSON object per
// line) to an io.Writer: standard output on a laptop, a buffer in tests. It is
// safe for concurrent use; the letters of one Send are written with one Write.
type WriterSink struct {
	mu sync.Mutex
	w  io.Writer
}

var _ DeadLetterSink = (*WriterSink)(nil)

// NewWriterSink returns a sink that writes to w.
func NewWriterSink(w io.Writer) *WriterSink { return &WriterSink{w: w} }

// Send implements DeadLetterSink.
func (s *WriterSink) Send(ctx context.Context, letters []*event.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write %d dead letters: %w", len(letters), err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, dl := range letters {
		if err := enc.Encode(dl); err != nil {
			return fmt.Errorf("encode dead letter %s: %w", dl.EventID, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %d dead letters: %w", len(letters), err)
	}
	return nil
}
