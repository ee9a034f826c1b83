package lake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/lake"
)

// memStore is a Store in memory.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte
	puts    int
}

func newMemStore() *memStore { return &memStore{objects: map[string][]byte{}} }

func (s *memStore) Put(_ context.Context, key string, body []byte, _ map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = slices.Clone(body)
	s.puts++
	return nil
}

// sampleRecords decodes every sample event of events/samples (canonical and
// producer shapes) into records of partition 0 of their topic.
func sampleRecords(t *testing.T) []lake.Record {
	t.Helper()
	files, err := filepath.Glob("../../events/samples/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	slices.Sort(files)
	var recs []lake.Record
	offsets := map[string]int64{}
	for _, f := range files {
		if strings.HasSuffix(f, ".canonical.json") || strings.HasSuffix(f, ".origin.json") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := event.Source{Topic: "samples", Offset: offsets["samples"]}
		e, err := event.Decode(b, src)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		topic := e.Meta().EventType.Topic()
		recs = append(recs, lake.Record{Event: e, Topic: topic, Partition: 0, Offset: offsets[topic],
			Timestamp: time.UnixMilli(1_767_225_600_123).UTC()})
		offsets[topic]++
		offsets["samples"]++
	}
	return recs
}

// file is a lake object read back with parquet-go's generic reader, not
// through the row types: columns by dotted path, values by row.
type file struct {
	key     string
	f       *parquet.File
	columns []string // leaf paths, in column order
	rows    [][]parquet.Value
}

func readFile(t *testing.T, key string, body []byte) *file {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	out := &file{key: key, f: f}
	for _, p := range f.Schema().Columns() {
		out.columns = append(out.columns, strings.Join(p, "."))
	}
	r := parquet.NewReader(f)
	defer r.Close()
	for {
		row := make(parquet.Row, 0, 64)
		rows := []parquet.Row{row}
		n, err := r.ReadRows(rows)
		if n == 1 {
			out.rows = append(out.rows, rows[0].Clone())
		}
		if err != nil || n == 0 {
			break
		}
	}
	if int64(len(out.rows)) != f.NumRows() {
		t.Fatalf("%s: read %d rows, footer says %d", key, len(out.rows), f.NumRows())
	}
	return out
}

// values returns the values of leaf column path in row i.
func (f *file) values(t *testing.T, i int, path string) []parquet.Value {
	t.Helper()
	col := slices.Index(f.columns, path)
	if col < 0 {
		t.Fatalf("%s: no column %s (have %v)", f.key, path, f.columns)
	}
	var vs []parquet.Value
	for _, v := range f.rows[i] {
		if v.Column() == col {
			vs = append(vs, v)
		}
	}
	return vs
}

func (f *file) value(t *testing.T, i int, path string) parquet.Value {
	t.Helper()
	vs := f.values(t, i, path)
	if len(vs) != 1 {
		t.Fatalf("%s row %d: column %s has %d values, want 1", f.key, i, path, len(vs))
	}
	return vs[0]
}

// find returns the index of the row whose event_id is id.
func (f *file) find(t *testing.T, id string) int {
	t.Helper()
	for i := range f.rows {
		if f.value(t, i, "event_id").String() == id {
			return i
		}
	}
	return -1
}

func TestWriterSamples(t *testing.T) {
	t.Parallel()
	recs := sampleRecords(t)
	store := newMemStore()
	ingested := time.Date(2026, 5, 1, 10, 0, 0, 123456000, time.UTC)
	w := lake.NewWriter(store, lake.WithPrefix("lake/"), lake.WithClock(func() time.Time { return ingested }))
	objs, err := w.Write(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(store.objects) {
		t.Fatalf("%d objects reported, %d stored", len(objs), len(store.objects))
	}

	// Every record is in exactly one object of its table and partition.
	want := map[lake.TablePartition]int{}
	for _, r := range recs {
		m := r.Event.Meta()
		want[lake.TablePartition{Table: lake.TableOf(m.EventType), Partition: lake.PartitionOf(m.OccurredAt)}]++
	}
	got := map[lake.TablePartition]int{}
	files := map[string]*file{}
	for key, body := range store.objects {
		table, part, ok := lake.ParseKey(strings.TrimPrefix(key, "lake/"))
		if !ok || !strings.HasPrefix(key, "lake/"+table+"/dt="+part.Date+"/hour="+part.Hour+"/") {
			t.Fatalf("object key %s is not a lake key", key)
		}
		f := readFile(t, key, body)
		got[lake.TablePartition{Table: table, Partition: part}] += len(f.rows)
		files[key] = f
	}
	if len(got) != len(want) {
		t.Errorf("partitions: got %v, want %v", got, want)
	}
	for tp, n := range want {
		if got[tp] != n {
			t.Errorf("%s %s: %d rows, want %d", tp.Table, tp.Partition.Path(), got[tp], n)
		}
	}

	byID := func(id string) (*file, int) {
		for _, f := range files {
			if i := f.find(t, id); i >= 0 {
				return f, i
			}
		}
		t.Fatalf("no row with event_id %s", id)
		return nil, 0
	}

	// A canonical order: typed columns, decimals, timestamps, the items.
	f, i := byID("01KKNT84ZVE0J9XF999QMMKQEN")
	if !strings.Contains(f.key, "lake/transactions/dt=2026-03-14/hour=09/transactions-0-") {
		t.Errorf("order in %s", f.key)
	}
	checks := []struct {
		path string
		want any
	}{
		{"event_type", "order_created"},
		{"occurred_at", time.Date(2026, 3, 14, 9, 18, 44, 731000000, time.UTC).UnixMicro()},
		{"ingested_at", ingested.UnixMicro()},
		{"kafka_timestamp", int64(1_767_225_600_123)},
		{"kafka_topic", "transactions"},
		{"shape", "canonical"},
		{"order_id", "o-20260314-000451"},
		{"total_amount", int64(1_049_900)},
		{"currency", "USD"},
		{"country", "US"},
		{"lat", 47.6062},
	}
	for _, c := range checks {
		v := f.value(t, i, c.path)
		var got any
		switch c.want.(type) {
		case string:
			got = v.String()
		case int64:
			got = v.Int64()
		case float64:
			got = v.Double()
		}
		if v.IsNull() || got != c.want {
			t.Errorf("order %s = %v (null %v), want %v", c.path, got, v.IsNull(), c.want)
		}
	}
	prices := f.values(t, i, "items.list.element.price")
	products := f.values(t, i, "items.list.element.product_id")
	if len(prices) != 2 || prices[0].Int64() != 799_900 || prices[1].Int64() != 125_000 ||
		products[0].String() != "p-00042" || products[1].String() != "p-00108" {
		t.Errorf("order items: products %v prices %v", products, prices)
	}
	if ms := f.values(t, i, "missing_fields.list.element"); len(ms) != 1 || !ms[0].IsNull() {
		t.Errorf("canonical order missing_fields = %v, want an empty list", ms)
	}

	// A producer-shape order: what it lacks is NULL and listed, not zero.
	f, i = byID(findID(t, recs, event.ShapeSnakeOrder, event.TypeOrderCreated))
	if v := f.value(t, i, "total_amount"); !v.IsNull() {
		t.Errorf("snake order total_amount = %v, want NULL", v)
	}
	if v := f.values(t, i, "items.list.element.price"); len(v) != 1 || !v[0].IsNull() {
		t.Errorf("snake order item price = %v, want one NULL", v)
	}
	if v := f.value(t, i, "shape"); v.String() != "snake_order" {
		t.Errorf("snake order shape = %v", v)
	}
	var missing []string
	for _, v := range f.values(t, i, "missing_fields.list.element") {
		missing = append(missing, v.String())
	}
	if !slices.Equal(missing, []string{"total_amount", "currency", "items.price"}) {
		t.Errorf("snake order missing_fields = %v", missing)
	}
	if v := f.value(t, i, "derived_id"); !v.Boolean() {
		t.Errorf("snake order derived_id = %v", v)
	}

	// A dead letter keeps reason and original bytes.
	for _, r := range recs {
		dl, ok := r.Event.(*event.DeadLetter)
		if !ok {
			continue
		}
		f, i = byID(dl.EventID)
		if f.value(t, i, "reason").String() != string(dl.Reason) || f.value(t, i, "function").String() != dl.Function ||
			f.value(t, i, "record_value_base64").String() != base64.StdEncoding.EncodeToString(dl.RecordValue) ||
			f.value(t, i, "source_offset").Int64() != dl.Offset {
			t.Errorf("dead letter %s: reason %v function %v", dl.EventID, f.value(t, i, "reason"), f.value(t, i, "function"))
		}
	}
}

func findID(t *testing.T, recs []lake.Record, shape event.Shape, typ event.Type) string {
	t.Helper()
	for _, r := range recs {
		if m := r.Event.Meta(); m.Origin.Shape == shape && m.EventType == typ {
			return m.EventID
		}
	}
	t.Fatalf("no sample of %s in shape %s", typ, shape)
	return ""
}

// TestColumnTypes checks every file's physical layout from its footer:
// timestamps are INT64 MILLIS or MICROS adjusted to UTC, money is
// DECIMAL(18,4), every chunk is zstd, dict columns are dictionary encoded.
func TestColumnTypes(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	if _, err := lake.NewWriter(store).Write(context.Background(), sampleRecords(t)); err != nil {
		t.Fatal(err)
	}
	timestamps := map[string]string{}
	tables := map[string]bool{}
	for key, body := range store.objects {
		f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		table, _, _ := lake.ParseKey(key)
		tables[table] = true
		md := f.Metadata()
		for _, el := range md.Schema {
			typ, _ := el.Type.Get()
			switch lt := el.LogicalType.Value.(type) {
			case *format.TimestampType:
				_, nanos := lt.Unit.Value.(*format.NanoSeconds)
				if !lt.IsAdjustedToUTC || nanos || typ != format.Int64 {
					t.Errorf("%s: %s is %s on %v, want INT64 MILLIS or MICROS adjusted to UTC", key, el.Name, lt, typ)
				}
				timestamps[el.Name] = lt.Unit.String()
			case *format.DecimalType:
				if lt.Precision != 18 || lt.Scale != 4 || typ != format.Int64 {
					t.Errorf("%s: %s is %s on %v, want DECIMAL(18,4) on INT64", key, el.Name, lt, typ)
				}
			}
		}
		dict := dictColumns(t, table)
		for _, rg := range md.RowGroups {
			for _, cc := range rg.Columns {
				path := strings.Join(cc.MetaData.PathInSchema, ".")
				if cc.MetaData.Codec != format.Zstd {
					t.Errorf("%s: %s compressed with %v, want ZSTD", key, path, cc.MetaData.Codec)
				}
				if dict[path] && !slices.Contains(cc.MetaData.Encoding, format.RLEDictionary) {
					t.Errorf("%s: %s encodings %v, want dictionary", key, path, cc.MetaData.Encoding)
				}
			}
		}
	}
	if len(tables) != len(lake.Tables()) {
		t.Errorf("the samples fill tables %v, want all %d", tables, len(lake.Tables()))
	}
	for name, unit := range map[string]string{"occurred_at": "MICROS", "ingested_at": "MICROS", "kafka_timestamp": "MILLIS",
		"source_kafka_timestamp": "MILLIS"} {
		if timestamps[name] != unit {
			t.Errorf("%s unit %q, want %s", name, timestamps[name], unit)
		}
	}
}

// dictColumns returns the paths of the columns of table tagged dict.
func dictColumns(t *testing.T, table string) map[string]bool {
	tb, ok := lake.TableNamed(table)
	if !ok {
		t.Fatalf("no table %s", table)
	}
	out := map[string]bool{}
	for _, p := range tb.Schema().Columns() {
		leaf, _ := tb.Schema().Lookup(p...)
		if enc := leaf.Node.Encoding(); enc != nil && enc.Encoding() == format.RLEDictionary {
			out[strings.Join(p, ".")] = true
		}
	}
	if len(out) == 0 {
		t.Fatalf("table %s has no dictionary columns", table)
	}
	return out
}

// TestWriterIdempotent: writing the same batch again, or a redelivery that
// starts where the batch started but ends elsewhere, replaces objects and
// never adds rows.
func TestWriterIdempotent(t *testing.T) {
	t.Parallel()
	recs := sampleRecords(t)
	store := newMemStore()
	w := lake.NewWriter(store)
	ctx := context.Background()
	count := func() (n int) {
		for k, b := range store.objects {
			n += len(readFile(t, k, b).rows)
		}
		return n
	}
	if _, err := w.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	keys := len(store.objects)
	if _, err := w.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if len(store.objects) != keys || count() != len(recs) {
		t.Fatalf("after a replay: %d objects (%d before), %d rows, want %d", len(store.objects), keys, count(), len(recs))
	}

	// A failed attempt stored part of a batch; the redelivery starts at the
	// same offset and ends later, or earlier: one hour of one partition.
	store = newMemStore()
	w = lake.NewWriter(store)
	views := pageViews(100)
	if _, err := w.Write(ctx, views[:60]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, views); err != nil { // longer
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, views[:30]); err != nil { // shorter
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, views[30:]); err != nil { // and the rest
		t.Fatal(err)
	}
	if got := count(); got != len(views) {
		t.Fatalf("after redeliveries of other extents: %d rows in %d objects, want %d", got, len(store.objects), len(views))
	}
}

// pageViews returns n page views of one user in one hour, at offsets 0 to
// n-1 of partition 0.
func pageViews(n int) []lake.Record {
	recs := make([]lake.Record, n)
	for i := range recs {
		e := event.New(event.TypePageView).(*event.PageView)
		e.EventID = fmt.Sprintf("pv-%d", i)
		e.OccurredAt = time.Date(2026, 2, 3, 4, 5, i%60, 0, time.UTC)
		e.UserID, e.PageURL = "u-1", "/"
		recs[i] = lake.Record{Event: e, Topic: event.TopicUserEvents, Offset: int64(i)}
	}
	return recs
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	k := lake.Key{Table: lake.TableTransactions, Partition: lake.PartitionOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Topic: "transactions", KafkaPartition: 7, FirstOffset: 42}
	s := k.String()
	if s != "transactions/dt=2026-01-02/hour=03/transactions-7-00000000000000000042.parquet" {
		t.Fatalf("key %s", s)
	}
	for _, c := range []struct {
		key string
		ok  bool
	}{
		{s, true},
		{"prefix/" + s, true},
		{"transactions/dt=2026-01-02/hour=24/x.parquet", false},
		{"nope/dt=2026-01-02/hour=03/x.parquet", false},
		{"transactions/dt=2026-13-02/hour=03/x.parquet", false},
		{"transactions/dt=2026-01-02/hour=03/x.json", false},
	} {
		table, p, ok := lake.ParseKey(c.key)
		if ok != c.ok || (ok && (table != "transactions" || p != k.Partition)) {
			t.Errorf("ParseKey(%q) = %q %v %v", c.key, table, p, ok)
		}
	}
}
