package esm

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// offsetsDelivered returns the offsets f received, in order.
func offsetsDelivered(f *function) []int64 {
	var out []int64
	for _, call := range f.invocations() {
		for _, r := range call {
			out = append(out, r.Offset)
		}
	}
	return out
}

func TestStartingPositions(t *testing.T) {
	t.Parallel()
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	// Ten records a second apart, an hour ago.
	old := func() []*kgo.Record {
		recs := records("events", 0, 0, 10)
		for i, r := range recs {
			r.Timestamp = base.Add(time.Duration(i) * time.Second)
		}
		return recs
	}
	tests := []struct {
		name      string
		position  StartingPosition
		timestamp time.Time
		commit    int64 // committed offset before the mapping starts; -1 none
		want      []int64
	}{
		{"trim horizon", TrimHorizon, time.Time{}, -1, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{"latest", Latest, time.Time{}, -1, []int64{10, 11}},
		{"at timestamp", AtTimestamp, base.Add(6500 * time.Millisecond), -1, []int64{7, 8, 9, 10, 11}},
		{"committed offset wins over latest", Latest, time.Time{}, 3, []int64{3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{"committed offset wins over trim horizon", TrimHorizon, time.Time{}, 8, []int64{8, 9, 10, 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, cl := newKafka(t, 1, "events")
			produce(t, cl, old()...)
			cfg := baseConfig(c, "events")
			cfg.StartingPosition, cfg.StartingPositionTimestamp = tt.position, tt.timestamp
			if tt.commit >= 0 {
				os := make(kadm.Offsets)
				os.Add(kadm.Offset{Topic: "events", Partition: 0, At: tt.commit, LeaderEpoch: -1})
				if err := kadm.NewClient(cl).CommitAllOffsets(context.Background(), "fn-events", os); err != nil {
					t.Fatal(err)
				}
			}
			f := &function{t: t}
			m, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
			waitFor(t, "the partition to be assigned", func() bool { return len(m.Stats().Partitions) == 1 })
			produce(t, cl, records("events", 0, 10, 2)...)
			drain(t, m)
			if got := offsetsDelivered(f); !slices.Equal(got, tt.want) {
				t.Errorf("delivered offsets %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLatestKeepsPosition: a LATEST mapping stopped before its first batch
// does not skip what was produced meanwhile when it starts again.
func TestLatestKeepsPosition(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 1, "events")
	produce(t, cl, records("events", 0, 0, 5)...)
	cfg := baseConfig(c, "events")
	cfg.StartingPosition = Latest
	m1, stop := newMapping(t, cfg, NewHandlerInvoker((&function{t: t}).Handle))
	waitFor(t, "the partition to be assigned", func() bool { return len(m1.Stats().Partitions) == 1 })
	stop()
	produce(t, cl, records("events", 0, 5, 3)...)
	f := &function{t: t}
	m2, _ := newMapping(t, cfg, NewHandlerInvoker(f.Handle))
	drain(t, m2)
	if got := offsetsDelivered(f); !slices.Equal(got, []int64{5, 6, 7}) {
		t.Errorf("delivered offsets %v, want [5 6 7]", got)
	}
}

// TestLag checks Lag before, during and after a run, and the per-partition
// stats.
func TestLag(t *testing.T) {
	t.Parallel()
	c, cl := newKafka(t, 2, "sessions")
	produce(t, cl, append(records("sessions", 0, 0, 7), records("sessions", 1, 0, 3)...)...)
	cfg := baseConfig(c, "sessions")
	f := &function{t: t}
	m, err := New(cfg, NewHandlerInvoker(f.Handle), testOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lags, err := m.Lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []PartitionLag{{"sessions", 0, -1, 7, 7}, {"sessions", 1, -1, 3, 3}}
	if !slices.Equal(lags, want) {
		t.Errorf("lag before the first run: %+v, want %+v", lags, want)
	}
	run(t, m)
	drain(t, m)
	if lags, err = m.Lag(ctx); err != nil {
		t.Fatal(err)
	}
	want = []PartitionLag{{"sessions", 0, 7, 7, 0}, {"sessions", 1, 3, 3, 0}}
	if !slices.Equal(lags, want) {
		t.Errorf("lag once drained: %+v, want %+v", lags, want)
	}
	st := m.Stats()
	if len(st.Partitions) != 2 {
		t.Fatalf("partitions %+v", st.Partitions)
	}
	for _, p := range st.Partitions {
		if p.Lag != 0 || p.Committed != p.HighWatermark || p.Buffered != 0 || p.InFlight {
			t.Errorf("partition stats %+v", p)
		}
	}
}
