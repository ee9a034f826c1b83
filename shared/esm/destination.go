package esm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaDestination is a Destination that produces failures to a Kafka topic
// as Lambda's Kafka on-failure destination does: one message per failed
// record, whose value is the record's RecordFailure in JSON and whose key is
// the record's own key (no key: the producer's partitioner spreads them).
//
// Kafka appends: a failure sent again (after an error, or because the
// mapping stopped before committing) is produced again. A RecordFailure is
// at most 4/3 the size of its record plus about 1 KB, so the topic's
// max.message.bytes and the client's kgo.ProducerBatchMaxBytes must allow
// for it.
type KafkaDestination struct {
	client *kgo.Client
	topic  string
}

var _ Destination = (*KafkaDestination)(nil)

// NewKafkaDestination returns a destination producing with client to topic
// (Lambda's kafka://topic). The caller owns client and closes it. New
// refuses a mapping whose topics include topic.
func NewKafkaDestination(client *kgo.Client, topic string) *KafkaDestination {
	return &KafkaDestination{client: client, topic: topic}
}

// Topic returns the topic the destination produces to.
func (d *KafkaDestination) Topic() string { return d.topic }

// Send implements Destination: it returns once the broker acknowledged every
// message of f.
func (d *KafkaDestination) Send(ctx context.Context, f *Failure) error {
	rfs, err := f.Records()
	if err != nil {
		return err
	}
	msgs := make([]*kgo.Record, 0, len(rfs))
	for _, rf := range rfs {
		v, err := json.Marshal(rf)
		if err != nil {
			return fmt.Errorf("encode on-failure record: %w", err)
		}
		m := &kgo.Record{Topic: d.topic, Value: v}
		if rf.record.Key != "" {
			if m.Key, err = base64.StdEncoding.DecodeString(rf.record.Key); err != nil {
				return fmt.Errorf("on-failure record %s/%d: key: %w", rf.record.Topic, rf.record.Offset, err)
			}
		}
		msgs = append(msgs, m)
	}
	if err := d.client.ProduceSync(ctx, msgs...).FirstErr(); err != nil {
		return fmt.Errorf("produce %d on-failure records to %s: %w", len(msgs), d.topic, err)
	}
	return nil
}

// DirDestination is a Destination that writes each Failure, in the JSON form
// Lambda writes to an S3 destination, to a file of its own in a directory:
// the local stand-in for an S3 bucket.
//
// A file is named for the failure's time, condition and first record
// (2006-01-02T15.04.05.000Z-RetryAttemptsExhausted-orders-3-1200.json), so
// sending the same Failure again overwrites it. It is written to a
// temporary file first and renamed, so readers never see half a file.
type DirDestination struct {
	dir string
}

var _ Destination = (*DirDestination)(nil)

// NewDirDestination returns a destination writing to dir, which Send creates
// if needed.
func NewDirDestination(dir string) *DirDestination { return &DirDestination{dir: dir} }

// Dir returns the directory the destination writes to.
func (d *DirDestination) Dir() string { return d.dir }

// Send implements Destination.
func (d *DirDestination) Send(ctx context.Context, f *Failure) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode on-failure record: %w", err)
	}
	if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return fmt.Errorf("on-failure directory: %w", err)
	}
	name := filepath.Join(d.dir, fileName(f))
	tmp, err := os.CreateTemp(d.dir, ".failure-*.tmp")
	if err != nil {
		return fmt.Errorf("write on-failure record: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write on-failure record %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write on-failure record %s: %w", name, err)
	}
	return nil
}

// fileName names the file of f: its time, condition and first record.
func fileName(f *Failure) string {
	first, off := "", ""
	for k, ri := range f.KafkaBatchInfo.RecordsInfo {
		if first == "" || k < first {
			first, off = k, ri.FirstRecordOffset
		}
	}
	ts := strings.ReplaceAll(f.Timestamp, ":", ".")
	return fmt.Sprintf("%s-%s-%s-%s.json", ts, f.RequestContext.Condition, first, off)
}
