package generator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The record file format is JSON lines, one Kafka record per line:
//
//	{"topic":"transactions","key":"u-000042","value":{...the record value...}}
//
// A value that is not valid JSON (a malformed record) is carried as base64
// under "value_b64" instead, so every line is valid JSON and every value
// round-trips byte for byte.

// AppendLine appends rec as one line of the record file format.
func AppendLine(dst []byte, topic, key string, value []byte) []byte {
	return appendLine(dst, topic, key, value, json.Valid(value) && bytes.IndexByte(value, '\n') < 0)
}

// appendLine is AppendLine for a value already known to be (or not to be)
// single-line valid JSON.
func appendLine(dst []byte, topic, key string, value []byte, rawJSON bool) []byte {
	dst = append(dst, `{"topic":`...)
	dst = appendString(dst, topic)
	dst = append(dst, `,"key":`...)
	dst = appendString(dst, key)
	if rawJSON {
		dst = append(dst, `,"value":`...)
		dst = append(dst, value...)
	} else {
		dst = append(dst, `,"value_b64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, value)
		dst = append(dst, '"')
	}
	return append(dst, '}', '\n')
}

func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// FileRecord is one record read from a record file.
type FileRecord struct {
	Topic string
	Key   string
	Value []byte
}

type fileLine struct {
	Topic    string          `json:"topic"`
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value"`
	ValueB64 []byte          `json:"value_b64"`
}

// ParseLine parses one line of the record file format.
func ParseLine(line []byte) (FileRecord, error) {
	var l fileLine
	if err := json.Unmarshal(line, &l); err != nil {
		return FileRecord{}, fmt.Errorf("parse record line: %w", err)
	}
	if l.Topic == "" {
		return FileRecord{}, errors.New("parse record line: no topic")
	}
	v := []byte(l.Value)
	if l.ValueB64 != nil {
		v = l.ValueB64
	}
	return FileRecord{Topic: l.Topic, Key: l.Key, Value: v}, nil
}

// ReadFile calls fn for each record of a record file, in order.
func ReadFile(r io.Reader, fn func(FileRecord) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		rec, err := ParseLine(sc.Bytes())
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Sink receives generated records.
type Sink interface {
	// Write takes one record. It may buffer; Close flushes.
	Write(ctx context.Context, rec *Record) error
	// Close flushes what is buffered and releases the sink.
	Close(ctx context.Context) error
}

// FileSink writes the record file format to w.
type FileSink struct {
	w   *bufio.Writer
	c   io.Closer
	buf []byte
}

var _ Sink = (*FileSink)(nil)

// NewFileSink returns a sink writing to w; Close closes w when it is an io.Closer.
func NewFileSink(w io.Writer) *FileSink {
	s := &FileSink{w: bufio.NewWriterSize(w, 1<<20)}
	if c, ok := w.(io.Closer); ok {
		s.c = c
	}
	return s
}

// Write implements Sink.
func (s *FileSink) Write(_ context.Context, rec *Record) error {
	if rec.Bad == nil {
		// Good records are single-line JSON written by encoding/json rules.
		s.buf = appendLine(s.buf[:0], rec.Topic, rec.Key, rec.Value, true)
	} else {
		s.buf = AppendLine(s.buf[:0], rec.Topic, rec.Key, rec.Value)
	}
	_, err := s.w.Write(s.buf)
	return err
}

// Close implements Sink.
func (s *FileSink) Close(context.Context) error {
	err := s.w.Flush()
	if s.c != nil {
		err = errors.Join(err, s.c.Close())
	}
	return err
}
