package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/shopstream/shopstream/shared/event"
)

// Store stores lake objects.
//
// Put stores body under key, replacing any object already there, and makes
// it visible whole or not at all (S3 PutObject does). meta is the object's
// user metadata. Put must not keep body after it returns: the Writer reuses
// it. Put must be safe for concurrent use.
type Store interface {
	Put(ctx context.Context, key string, body []byte, meta map[string]string) error
}

// Object describes one object a Writer stored.
type Object struct {
	Key        Key
	Rows       int
	Bytes      int
	LastOffset int64
	EncodeTime time.Duration
}

// Writer turns batches of decoded events into Parquet objects: one per
// table, hour partition and Kafka topic-partition of each batch, keyed by
// the lowest offset among its rows. It is safe for concurrent use.
type Writer struct {
	store       Store
	prefix      string
	now         func() time.Time
	concurrency int
	level       zstd.Level
	opts        []parquet.WriterOption
	encoders    [numTables]encoder
}

// Option configures a Writer.
type Option func(*Writer)

// WithPrefix puts every object key under prefix (for example "lake/").
// Default: none, the tables are at the bucket's root.
func WithPrefix(prefix string) Option { return func(w *Writer) { w.prefix = prefix } }

// WithClock sets the clock of the ingested_at column. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(w *Writer) { w.now = now } }

// WithConcurrency sets how many objects are encoded and stored at once.
// Default: GOMAXPROCS, at least 4 (storing waits on the network).
func WithConcurrency(n int) Option { return func(w *Writer) { w.concurrency = n } }

// WithCompressionLevel sets the zstd level. Default: zstd.SpeedFastest,
// which on generated traffic makes files within 1% of the size
// zstd.SpeedDefault makes, for less CPU.
func WithCompressionLevel(l zstd.Level) Option { return func(w *Writer) { w.level = l } }

// NewWriter returns a Writer that stores its objects in store.
func NewWriter(store Store, opts ...Option) *Writer {
	w := &Writer{store: store, now: time.Now, concurrency: max(runtime.GOMAXPROCS(0), 4), level: zstd.SpeedFastest}
	for _, o := range opts {
		o(w)
	}
	if w.concurrency < 1 {
		w.concurrency = 1
	}
	w.opts = ParquetOptions(w.level)
	w.encoders = newEncoders(w.opts)
	return w
}

// ParquetOptions returns the options the Writer encodes its files with:
// zstd at level, and the writer's name in the footer.
func ParquetOptions(level zstd.Level) []parquet.WriterOption {
	return []parquet.WriterOption{parquet.Compression(&zstd.Codec{Level: level}), parquet.CreatedBy("shopstream lake", "1", "")}
}

// Metadata keys of every object: in the Parquet footer's key-value metadata
// and in the object's user metadata.
const (
	MetaTopic       = "kafka_topic"
	MetaPartition   = "kafka_partition"
	MetaFirstOffset = "first_offset"
	MetaLastOffset  = "last_offset"
	MetaRows        = "rows"
)

type groupKey struct {
	table     int
	hour      int64 // event time in hours since the Unix epoch
	topic     string
	partition int32
}

type group struct {
	key   groupKey
	recs  []*Record
	first int64
	last  int64
	index int // in order of first appearance
}

// Write stores the events of one batch. Every record must hold a valid
// event. It returns the objects written, or an error if any object could not
// be encoded or stored; then some objects of the batch may be stored and
// others not, and the batch must be written again: an object's key depends
// only on its rows, so a retry overwrites what the failed attempt wrote.
//
// A redelivery must start at the offset the failed batch started at (the
// event source mapping does so after a function error): an object keyed by
// offset F holds every row of its table, hour and topic-partition from F to
// the end of the batch that wrote it last, and a redelivery starting at or
// before F rewrites it whole.
func (w *Writer) Write(ctx context.Context, recs []Record) ([]Object, error) {
	return w.write(ctx, "", recs)
}

// WriteDeadLetters stores dead letters that function produced itself, for
// records it could not process, in the dead_letters table. Their objects
// are keyed by function and the original records' coordinates, apart from
// the objects of dead letters read from the dead-letter topic. The letters'
// Kafka columns are the original records' coordinates.
func (w *Writer) WriteDeadLetters(ctx context.Context, function string, letters []*event.DeadLetter) ([]Object, error) {
	recs := make([]Record, len(letters))
	for i, dl := range letters {
		recs[i] = Record{Event: dl, Topic: dl.Topic, Partition: dl.Partition, Offset: dl.Offset}
		if dl.KafkaTimestamp != 0 {
			recs[i].Timestamp = time.UnixMilli(dl.KafkaTimestamp).UTC()
		}
	}
	return w.write(ctx, function, recs)
}

func (w *Writer) write(ctx context.Context, writer string, recs []Record) ([]Object, error) {
	// Group the records: which group each is in and how many each holds,
	// then one slice of them all, cut per group.
	groups := make(map[groupKey]*group)
	var order []*group
	var counts []int
	of := make([]*group, len(recs))
	// Records of a batch come partition by partition, and mostly in runs
	// of one table and hour: the last type's table and the last group are
	// looked up again only when they change.
	var (
		lastType event.Type
		t        = -1
		g        *group
	)
	for i := range recs {
		r := &recs[i]
		if r.Event == nil {
			return nil, fmt.Errorf("lake: record %s-%d@%d has no event", r.Topic, r.Partition, r.Offset)
		}
		m := r.Event.Meta()
		if t < 0 || m.EventType != lastType {
			var ok bool
			if t, ok = tableIndex[m.EventType]; !ok {
				return nil, fmt.Errorf("lake: record %s-%d@%d: event type %q has no table", r.Topic, r.Partition, r.Offset, m.EventType)
			}
			lastType = m.EventType
		}
		k := groupKey{table: t, hour: hourOf(m.OccurredAt), topic: r.Topic, partition: r.Partition}
		if g == nil || g.key != k {
			if g = groups[k]; g == nil {
				g = &group{key: k, first: r.Offset, last: r.Offset, index: len(order)}
				groups[k] = g
				order = append(order, g)
				counts = append(counts, 0)
			}
		}
		of[i] = g
		counts[g.index]++
		g.first, g.last = min(g.first, r.Offset), max(g.last, r.Offset)
	}
	all := make([]*Record, len(recs))
	for i, g := range order {
		g.recs, all = all[:0:counts[i]], all[counts[i]:]
	}
	for i, g := range of {
		g.recs = append(g.recs, &recs[i])
	}
	ingested := micros(w.now())
	objs := make([]Object, len(order))
	errs := make([]error, len(order))
	// The largest first: the small ones fill in around them, and the batch
	// does not wait on one large object started last.
	bySize := slices.Clone(order)
	slices.SortStableFunc(bySize, func(a, b *group) int { return len(b.recs) - len(a.recs) })
	sem := make(chan struct{}, w.concurrency)
	var wg sync.WaitGroup
	for _, g := range bySize {
		if err := ctx.Err(); err != nil {
			errs[g.index] = err
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			objs[g.index], errs[g.index] = w.writeGroup(ctx, writer, g, ingested)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return objs, nil
}

func (w *Writer) writeGroup(ctx context.Context, writer string, g *group, ingested int64) (Object, error) {
	k := Key{Table: tables[g.key.table].Name, Partition: PartitionOf(time.Unix(g.key.hour*3600, 0)),
		Writer: writer, Topic: g.key.topic, KafkaPartition: g.key.partition, FirstOffset: g.first}
	meta := map[string]string{
		MetaTopic:       g.key.topic,
		MetaPartition:   strconv.Itoa(int(g.key.partition)),
		MetaFirstOffset: strconv.FormatInt(g.first, 10),
		MetaLastOffset:  strconv.FormatInt(g.last, 10),
		MetaRows:        strconv.Itoa(len(g.recs)),
	}
	start := time.Now()
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		buffers.Put(buf)
	}()
	if err := w.encoders[g.key.table].encode(buf, g.recs, ingested, meta); err != nil {
		return Object{}, fmt.Errorf("lake: encode %s: %w", k, err)
	}
	body := buf.Bytes()
	obj := Object{Key: k, Rows: len(g.recs), Bytes: len(body), LastOffset: g.last, EncodeTime: time.Since(start)}
	if err := w.store.Put(ctx, w.prefix+k.String(), body, meta); err != nil {
		return Object{}, fmt.Errorf("lake: put %s: %w", k, err)
	}
	return obj, nil
}

func hourOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 3599) / 3600
	}
	return s / 3600
}

// tableIndex maps event types to their position in tables.
var tableIndex = func() map[event.Type]int {
	m := map[event.Type]int{}
	for i, t := range tables {
		for _, et := range t.Types {
			m[et] = i
		}
	}
	return m
}()

// buffers holds the buffers objects are encoded into: Store.Put does not
// keep a body after it returns.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encoder encodes the rows of one table into a Parquet file.
type encoder interface {
	encode(buf *bytes.Buffer, recs []*Record, ingested int64, meta map[string]string) error
}

func newEncoders(opts []parquet.WriterOption) (e [numTables]encoder) {
	e[0] = newRowEncoder(userEvent, opts)
	e[1] = newRowEncoder(transaction, opts)
	e[2] = newRowEncoder(inventoryUpdate, opts)
	e[3] = newRowEncoder(customerFeedback, opts)
	e[4] = newRowEncoder(alert, opts)
	e[5] = newRowEncoder(deadLetter, opts)
	return e
}

// rowEncoder encodes rows of type T, reusing its Parquet writers, row
// slices and conversion arenas.
type rowEncoder[T any] struct {
	convert func(*Record, int64, *arena) T
	opts    []parquet.WriterOption
	writers sync.Pool // *parquet.GenericWriter[T]
	rows    sync.Pool // *[]T
	arenas  sync.Pool // *arena
}

func newRowEncoder[T any](convert func(*Record, int64, *arena) T, opts []parquet.WriterOption) *rowEncoder[T] {
	return &rowEncoder[T]{convert: convert, opts: opts}
}

func (e *rowEncoder[T]) encode(buf *bytes.Buffer, recs []*Record, ingested int64, meta map[string]string) error {
	var rows []T
	if p, ok := e.rows.Get().(*[]T); ok && cap(*p) >= len(recs) {
		rows = (*p)[:len(recs)]
	} else {
		rows = make([]T, len(recs))
	}
	a, _ := e.arenas.Get().(*arena)
	if a == nil {
		a = new(arena)
	}
	for i, r := range recs {
		rows[i] = e.convert(r, ingested, a)
	}
	err := EncodeRows(&e.writers, buf, rows, meta, e.opts...)
	clear(rows) // drop the references to the batch's strings and the arena's
	rows = rows[:0]
	e.rows.Put(&rows)
	a.reset()
	e.arenas.Put(a)
	return err
}

// EncodeRows encodes rows into buf as one Parquet file with one row group,
// with meta as key-value metadata. pool, when not nil, holds reusable
// *parquet.GenericWriter[T] of the same options.
func EncodeRows[T any](pool *sync.Pool, buf *bytes.Buffer, rows []T, meta map[string]string, opts ...parquet.WriterOption) error {
	var pw *parquet.GenericWriter[T]
	if pool != nil {
		pw, _ = pool.Get().(*parquet.GenericWriter[T])
	}
	if pw == nil {
		pw = parquet.NewGenericWriter[T](buf, opts...)
	} else {
		pw.Reset(buf)
	}
	for _, k := range sortedKeys(meta) {
		pw.SetKeyValueMetadata(k, meta[k])
	}
	if _, err := pw.Write(rows); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return err
	}
	if pool != nil {
		pool.Put(pw)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
