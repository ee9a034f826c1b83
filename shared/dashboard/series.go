package dashboard

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// Series is the value of a time-series feed: named values sampled
// together, oldest first.
type Series struct {
	// Unit is what the values count ("events/s", "records").
	Unit string `json:"unit"`
	// IntervalSeconds is the time between samples.
	IntervalSeconds float64 `json:"interval_seconds"`
	// Times are the samples' times, Unix seconds.
	Times []int64 `json:"times"`
	// Values holds one value per time for each name; 0 where a name had
	// no value.
	Values map[string][]float64 `json:"values"`
	// Latest is each name's value at the last sample.
	Latest map[string]float64 `json:"latest"`
	// Totals are running totals per name, where the feed has them.
	Totals map[string]int64 `json:"totals,omitempty"`
}

// recorder keeps the last keep samples of named values.
type recorder struct {
	mu       sync.Mutex
	unit     string
	interval time.Duration
	keep     int
	times    []int64
	samples  []map[string]float64
	totals   map[string]int64
}

func newRecorder(unit string, interval time.Duration, keep int) *recorder {
	return &recorder{unit: unit, interval: interval, keep: keep}
}

// add records the values at t, forgetting the oldest sample beyond keep.
func (r *recorder) add(t time.Time, values map[string]float64, totals map[string]int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times = append(r.times, t.Unix())
	r.samples = append(r.samples, maps.Clone(values))
	if n := len(r.times) - r.keep; n > 0 {
		r.times = slices.Delete(r.times, 0, n)
		r.samples = slices.Delete(r.samples, 0, n)
	}
	if totals != nil {
		r.totals = maps.Clone(totals)
	}
}

// series returns a copy of what the recorder holds.
func (r *recorder) series() Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Series{Unit: r.unit, IntervalSeconds: r.interval.Seconds(), Times: slices.Clone(r.times),
		Values: map[string][]float64{}, Latest: map[string]float64{}, Totals: maps.Clone(r.totals)}
	names := map[string]bool{}
	for _, v := range r.samples {
		for k := range v {
			names[k] = true
		}
	}
	for name := range names {
		vals := make([]float64, len(r.samples))
		for i, v := range r.samples {
			vals[i] = v[name]
		}
		s.Values[name] = vals
	}
	if n := len(r.samples); n > 0 {
		for name := range names {
			s.Latest[name] = r.samples[n-1][name]
		}
	}
	if s.Times == nil {
		s.Times = []int64{}
	}
	return s
}
