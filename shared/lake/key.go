package lake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Partition is one hour of event time, in UTC.
type Partition struct {
	// Date is YYYY-MM-DD and Hour is HH, as in the object keys.
	Date, Hour string
}

// PartitionOf returns the partition of event time t.
func PartitionOf(t time.Time) Partition {
	t = t.UTC()
	return Partition{Date: t.Format(time.DateOnly), Hour: fmt.Sprintf("%02d", t.Hour())}
}

// Path returns the partition's path segment, "dt=YYYY-MM-DD/hour=HH".
func (p Partition) Path() string {
	return PartitionDate + "=" + p.Date + "/" + PartitionHour + "=" + p.Hour
}

// Key identifies one lake object.
type Key struct {
	Table     string
	Partition Partition
	// Writer is empty for rows read from Kafka records, or the function whose
	// own dead letters the object holds.
	Writer string
	// Topic and KafkaPartition are the Kafka topic-partition of the rows;
	// FirstOffset is their lowest offset.
	Topic          string
	KafkaPartition int32
	FirstOffset    int64
}

// String returns the object key:
// TABLE/dt=YYYY-MM-DD/hour=HH/[WRITER-]TOPIC-PARTITION-FIRSTOFFSET.parquet.
func (k Key) String() string {
	var b strings.Builder
	b.Grow(96)
	b.WriteString(k.Table)
	b.WriteByte('/')
	b.WriteString(k.Partition.Path())
	b.WriteByte('/')
	if k.Writer != "" {
		b.WriteString(k.Writer)
		b.WriteByte('-')
	}
	fmt.Fprintf(&b, "%s-%d-%020d.parquet", k.Topic, k.KafkaPartition, k.FirstOffset)
	return b.String()
}

// ParseKey reads the table and partition of an object key written by the
// lake (under an optional prefix ending in "/", which it ignores up to the
// table name). ok is false for any other key.
func ParseKey(key string) (table string, p Partition, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) < 4 || !strings.HasSuffix(parts[len(parts)-1], ".parquet") {
		return "", Partition{}, false
	}
	table = parts[len(parts)-4]
	dt, okD := strings.CutPrefix(parts[len(parts)-3], PartitionDate+"=")
	hour, okH := strings.CutPrefix(parts[len(parts)-2], PartitionHour+"=")
	if _, known := TableNamed(table); !known || !okD || !okH {
		return "", Partition{}, false
	}
	if _, err := time.Parse(time.DateOnly, dt); err != nil {
		return "", Partition{}, false
	}
	if h, err := strconv.Atoi(hour); err != nil || len(hour) != 2 || h > 23 || h < 0 {
		return "", Partition{}, false
	}
	return table, Partition{Date: dt, Hour: hour}, true
}
