package analytics

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopstream/shopstream/shared/pgtest"
)

// TestWireRoundTrip: parameters encoded here read back, through the
// server and pgx's own decoding, as they were; and timestamps the server
// sends decode to the same instants, before 1970 too.
func TestWireRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	texts := []string{"", "u-1", "a'; DROP TABLE x; --", "ünïcode ✓", `quote " and \ backslash`}
	ints := []int64{0, -1, math.MaxInt64, math.MinInt64}
	int4s := []int32{0, -7, math.MaxInt32}
	times := []int64{0, -1, -86_400_001, 1_772_366_400_123, 253_402_300_799_999}
	null := []bool{false, true, false, false, false}
	floats := []float64{0, -1.5, math.MaxFloat64, math.SmallestNonzeroFloat64}
	blobs := [][]byte{{}, {0, 1, 2, 255}, EncodeUsers([]string{"u-000001", "u-000002"})}
	ps := (&params{}).texts(texts).int8s(ints).int4s(int4s).times(times, null).float8s(floats).byteas(blobs).text("scalar").texts(nil)
	res := conn.PgConn().ExecParams(ctx, `SELECT $1::text[], $2::bigint[], $3::int[], $4::timestamptz[], $5::float8[], $6::bytea[], $7::text, $8::text[]`,
		ps.values, ps.oids, []int16{1}, []int16{0}).Read()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m := conn.TypeMap()
	var (
		gotTexts, gotEmpty []string
		gotInts            []int64
		gotInt4s           []int32
		gotTimes           []*time.Time
		gotFloats          []float64
		gotBlobs           [][]byte
		gotScalar          string
	)
	for i, dst := range []any{&gotTexts, &gotInts, &gotInt4s, &gotTimes, &gotFloats, &gotBlobs, &gotScalar, &gotEmpty} {
		if err := m.Scan(res.FieldDescriptions[i].DataTypeOID, 0, res.Rows[0][i], dst); err != nil {
			t.Fatalf("column %d: %v", i, err)
		}
	}
	if !slices.Equal(gotTexts, texts) || !slices.Equal(gotInts, ints) || !slices.Equal(gotInt4s, int4s) ||
		!slices.Equal(gotFloats, floats) || gotScalar != "scalar" || len(gotEmpty) != 0 {
		t.Fatalf("got %q %v %v %v %q %q", gotTexts, gotInts, gotInt4s, gotFloats, gotScalar, gotEmpty)
	}
	for i, b := range blobs {
		if !slices.Equal(gotBlobs[i], b) {
			t.Fatalf("bytea %d: %v, want %v", i, gotBlobs[i], b)
		}
	}
	for i, at := range gotTimes {
		switch {
		case null[i] && at != nil:
			t.Fatalf("time %d: %v, want NULL", i, at)
		case !null[i] && (at == nil || at.UnixMilli() != times[i]):
			t.Fatalf("time %d: %v, want %d ms", i, at, times[i])
		}
	}
	// The server's binary timestamps, read here.
	r := conn.PgConn().ExecParams(ctx, `SELECT TIMESTAMPTZ 'epoch' + x * interval '1 millisecond' FROM unnest($1::bigint[]) AS x`,
		(&params{}).int8s(times).values, []uint32{oidInt8Array}, []int16{1}, []int16{1}).Read()
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	for i, row := range r.Rows {
		got, err := readTime(row[0])
		if err != nil || got != times[i] {
			t.Fatalf("read %d ms as %d (%v)", times[i], got, err)
		}
	}
}
