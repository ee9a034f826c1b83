package lake

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"
)

// TablePartition names one partition of one table.
type TablePartition struct {
	Table     string
	Partition Partition
}

// Counts is what a lake holds: rows per table and partition, and per event
// type, objects and bytes per table, rows per table and Kafka topic, dead
// letters by the function that refused the record and the reason, distinct
// alerts, and rows that repeat a row of the same table and Kafka record.
type Counts struct {
	Rows        map[TablePartition]int64
	TypeRows    map[TablePartition]map[string]int64 // event_type -> rows
	Objects     map[string]int
	Bytes       map[string]int64
	TopicRows   map[TableTopic]int64
	DeadLetters map[string]map[string]int64 // function -> reason -> rows
	// Duplicates counts rows whose table, Kafka topic, partition and offset
	// are those of another row: zero in a correct lake.
	Duplicates int64

	seen     map[rowID]struct{}
	alertIDs map[string]map[string]struct{} // event_type -> event ids
}

// TableTopic names the rows of one table read from one Kafka topic.
type TableTopic struct {
	Table string
	Topic string
}

// Alerts returns how many distinct alerts (by event id) of event type typ
// the alerts table holds: an alert a function raised twice, as it may, is
// one alert in two rows.
func (c *Counts) Alerts(typ string) int { return len(c.alertIDs[typ]) }

type rowID struct {
	table     string
	topic     string
	partition int32
	offset    int64
}

// coords are the columns CountS3 reads from every file.
type coords struct {
	EventType      string `parquet:"event_type"`
	KafkaTopic     string `parquet:"kafka_topic"`
	KafkaPartition int32  `parquet:"kafka_partition"`
	KafkaOffset    int64  `parquet:"kafka_offset"`
}

// letterCols are the columns CountS3 reads from dead-letter files, and
// alertCols from alert files.
type (
	letterCols struct {
		coords
		Function string `parquet:"function"`
		Reason   string `parquet:"reason"`
	}
	alertCols struct {
		coords
		EventID string `parquet:"event_id"`
	}
)

// Table returns the rows of table across its partitions.
func (c *Counts) Table(table string) int64 {
	var n int64
	for tp, v := range c.Rows {
		if tp.Table == table {
			n += v
		}
	}
	return n
}

// CountS3 reads every lake object under prefix in bucket and counts its
// rows: from the Parquet footers, and for dead letters from the function and
// reason columns. Objects that are not lake objects are ignored. It reads
// what a reader sees (Resolve): compacted partitions through their latest
// manifest, so that superseded and uncommitted files are not counted.
func CountS3(ctx context.Context, client *s3.Client, bucket, prefix string) (*Counts, error) {
	return CountObjects(ctx, NewS3Objects(client, bucket), prefix)
}

// CountObjects counts the rows a reader sees in the lake under prefix of
// objs, as CountS3 does.
func CountObjects(ctx context.Context, objs Objects, prefix string) (*Counts, error) {
	c := &Counts{Rows: map[TablePartition]int64{}, TypeRows: map[TablePartition]map[string]int64{},
		Objects: map[string]int{}, Bytes: map[string]int64{}, TopicRows: map[TableTopic]int64{},
		DeadLetters: map[string]map[string]int64{}, seen: map[rowID]struct{}{}, alertIDs: map[string]map[string]struct{}{}}
	views, err := Resolve(ctx, objs, prefix, "")
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		for _, o := range v.Visible {
			body, err := objs.Get(ctx, o.Key)
			if err != nil {
				return nil, err
			}
			if err := c.add(v.Table, v.Partition, body); err != nil {
				return nil, fmt.Errorf("%s: %w", o.Key, err)
			}
		}
	}
	return c, nil
}

func (c *Counts) add(table string, part Partition, body []byte) error {
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return err
	}
	tp := TablePartition{table, part}
	c.Rows[tp] += f.NumRows()
	c.Objects[table]++
	c.Bytes[table] += int64(len(body))
	types := c.TypeRows[tp]
	if types == nil {
		types = map[string]int64{}
		c.TypeRows[tp] = types
	}
	count := func(row *coords) {
		types[row.EventType]++
		c.TopicRows[TableTopic{table, row.KafkaTopic}]++
		id := rowID{table, row.KafkaTopic, row.KafkaPartition, row.KafkaOffset}
		if _, dup := c.seen[id]; dup {
			c.Duplicates++
		}
		c.seen[id] = struct{}{}
	}
	switch table {
	case TableDeadLetters:
		rows, err := readAll[letterCols](f)
		if err != nil {
			return err
		}
		for i := range rows {
			row := &rows[i]
			count(&row.coords)
			m := c.DeadLetters[row.Function]
			if m == nil {
				m = map[string]int64{}
				c.DeadLetters[row.Function] = m
			}
			m[row.Reason]++
		}
	case TableAlerts:
		rows, err := readAll[alertCols](f)
		if err != nil {
			return err
		}
		for i := range rows {
			row := &rows[i]
			count(&row.coords)
			ids := c.alertIDs[row.EventType]
			if ids == nil {
				ids = map[string]struct{}{}
				c.alertIDs[row.EventType] = ids
			}
			ids[row.EventID] = struct{}{}
		}
	default:
		rows, err := readAll[coords](f)
		if err != nil {
			return err
		}
		for i := range rows {
			count(&rows[i])
		}
	}
	return nil
}

// readAll reads the columns of T from every row of f; columns of T that f
// lacks read as zero values.
func readAll[T any](f *parquet.File) ([]T, error) {
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	rows := make([]T, f.NumRows())
	n, err := r.Read(rows)
	if int64(n) == f.NumRows() {
		return rows, nil
	}
	if err == nil || err == io.EOF {
		err = fmt.Errorf("read %d of %d rows", n, f.NumRows())
	}
	return nil, err
}
