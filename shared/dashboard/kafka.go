package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/event"
)

// MonitorConfig configures a Monitor.
type MonitorConfig struct {
	// Admin reads the topics' end offsets (and consumer group lag when Lag
	// is nil).
	Admin *kadm.Client
	// Topics are the topics whose events/s are charted.
	Topics []string
	// Lag returns the records each consumer has yet to process, by its
	// label. Nil reads the committed offsets of Groups from Kafka.
	Lag func(ctx context.Context) (map[string]int64, error)
	// Groups are the consumer groups whose lag is charted when Lag is nil,
	// labelled by group name; empty lists every group of the cluster.
	Groups []string
	// Interval is the time between samples; default 2s.
	Interval time.Duration
	// Keep is how many samples the charts show; default 150 (5 minutes
	// at the default interval).
	Keep int
}

// Monitor samples the pipeline's Kafka side: events/s per topic from the
// topics' end offsets, and the lag of each consumer.
type Monitor struct {
	c          MonitorConfig
	throughput *recorder
	lag        *recorder

	mu      sync.Mutex
	last    map[string]int64
	lastAt  time.Time
	lastErr error
}

// NewMonitor returns a monitor; Run samples.
func NewMonitor(c MonitorConfig) *Monitor {
	if c.Interval <= 0 {
		c.Interval = 2 * time.Second
	}
	if c.Keep <= 0 {
		c.Keep = 150
	}
	return &Monitor{c: c, throughput: newRecorder("events/s", c.Interval, c.Keep), lag: newRecorder("records", c.Interval, c.Keep)}
}

// Run samples every interval until ctx ends. A failed sample is reported
// by the feeds and retried at the next interval.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.c.Interval)
	defer t.Stop()
	for {
		err := m.Sample(ctx)
		if ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		m.lastErr = err
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample takes one sample now.
func (m *Monitor) Sample(ctx context.Context) error {
	now := time.Now()
	ends, err := m.c.Admin.ListEndOffsets(ctx, m.c.Topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	totals := map[string]int64{}
	for _, topic := range m.c.Topics {
		totals[topic] = 0
	}
	ends.Each(func(o kadm.ListedOffset) { totals[o.Topic] += o.Offset })
	lag, err := m.readLag(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last != nil {
		rates := map[string]float64{}
		dt := now.Sub(m.lastAt).Seconds()
		for topic, n := range totals {
			rates[topic] = float64(n-m.last[topic]) / dt
		}
		m.throughput.add(now, rates, totals)
	}
	m.last, m.lastAt = totals, now
	m.lag.add(now, lag, nil)
	return nil
}

func (m *Monitor) readLag(ctx context.Context) (map[string]float64, error) {
	var lag map[string]int64
	if m.c.Lag != nil {
		var err error
		if lag, err = m.c.Lag(ctx); err != nil {
			return nil, fmt.Errorf("consumer lag: %w", err)
		}
	} else {
		groups := m.c.Groups
		if len(groups) == 0 {
			listed, err := m.c.Admin.ListGroups(ctx)
			if err != nil {
				return nil, fmt.Errorf("list consumer groups: %w", err)
			}
			groups = listed.Groups()
		}
		lags, err := m.c.Admin.Lag(ctx, groups...)
		if err != nil {
			return nil, fmt.Errorf("consumer group lag: %w", err)
		}
		lag = map[string]int64{}
		for _, g := range lags.Sorted() {
			if g.Error() != nil {
				return nil, fmt.Errorf("consumer group %s lag: %w", g.Group, g.Error())
			}
			lag[g.Group] = g.Lag.Total()
		}
	}
	out := make(map[string]float64, len(lag))
	for k, v := range lag {
		out[k] = float64(v)
	}
	return out, nil
}

func (m *Monitor) read(r *recorder) (any, error) {
	m.mu.Lock()
	err := m.lastErr
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return r.series(), nil
}

// Feed names of the monitor and the dead-letter counter.
const (
	FeedThroughput  = "throughput"
	FeedLag         = "lag"
	FeedDeadLetters = "dead_letters"
)

// Feeds returns the monitor's feeds: events/s by topic and lag per
// consumer, both as Series.
func (m *Monitor) Feeds() []Feed {
	return []Feed{
		{Name: FeedThroughput, Title: "Events/s by topic", Doc: "Series: events/s per topic from the topics' end offsets (values), and each topic's records so far (totals)",
			Read: func(context.Context) (any, error) { return m.read(m.throughput) }},
		{Name: FeedLag, Title: "Consumer lag by function", Doc: "Series: records each function's event source mapping has yet to process",
			Read: func(context.Context) (any, error) { return m.read(m.lag) }},
	}
}

// DeadLetters counts the dead-letter topic's records by function and
// reason, from given offsets on.
type DeadLetters struct {
	opts  []kgo.Opt
	start map[int32]int64

	mu     sync.Mutex
	counts map[string]map[string]int64 // function -> reason -> n
	next   map[int32]int64             // next offset to read per partition
	err    error
}

// NewDeadLetters returns a counter reading the dead-letter topic through a
// client of opts (seed brokers, TLS, SASL), from the offsets of start per
// partition; partitions missing from start are read from their beginning.
func NewDeadLetters(start map[int32]int64, opts ...kgo.Opt) *DeadLetters {
	return &DeadLetters{opts: opts, start: maps.Clone(start), counts: map[string]map[string]int64{}, next: maps.Clone(start)}
}

// Run reads until ctx ends.
func (d *DeadLetters) Run(ctx context.Context, logger *slog.Logger) {
	opts := slices.Clone(d.opts)
	if len(d.start) > 0 {
		parts := map[int32]kgo.Offset{}
		for p, o := range d.start {
			parts[p] = kgo.NewOffset().At(o)
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{event.TopicDeadLetters: parts}))
	} else {
		opts = append(opts, kgo.ConsumeTopics(event.TopicDeadLetters), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		d.mu.Lock()
		d.err = fmt.Errorf("dead-letter reader: %w", err)
		d.mu.Unlock()
		logger.Error("dead-letter reader", "err", err)
		return
	}
	defer cl.Close()
	dec := event.NewDecoder()
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = err
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			fn, reason := "unknown", "unreadable"
			if e, err := dec.Decode(r.Value, event.Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}); err == nil {
				if l, ok := e.(*event.DeadLetter); ok {
					fn, reason = l.Function, string(l.Reason)
				}
			}
			d.mu.Lock()
			if d.counts[fn] == nil {
				d.counts[fn] = map[string]int64{}
			}
			d.counts[fn][reason]++
			d.next[r.Partition] = r.Offset + 1
			d.mu.Unlock()
		})
		d.mu.Lock()
		d.err = ferr
		d.mu.Unlock()
	}
}

// CaughtUp reports whether every partition was read up to its end offset
// in ends.
func (d *DeadLetters) CaughtUp(ends map[int32]int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for p, end := range ends {
		if d.next[p] < end {
			return false
		}
	}
	return true
}

// ByFunctionReason returns the counts by function, then reason.
func (d *DeadLetters) ByFunctionReason() map[string]map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]map[string]int64, len(d.counts))
	for fn, rs := range d.counts {
		out[fn] = maps.Clone(rs)
	}
	return out
}

// ByFunction returns the counts by function.
func (d *DeadLetters) ByFunction() map[string]int64 {
	out := map[string]int64{}
	for fn, rs := range d.ByFunctionReason() {
		for _, n := range rs {
			out[fn] += n
		}
	}
	return out
}

// ByReason returns the counts by reason, over every function.
func (d *DeadLetters) ByReason() map[string]int64 {
	out := map[string]int64{}
	for _, rs := range d.ByFunctionReason() {
		for r, n := range rs {
			out[r] += n
		}
	}
	return out
}

// DeadLetterCount is one (function, reason) count of the dead_letters feed.
type DeadLetterCount struct {
	Function string `json:"function"`
	Reason   string `json:"reason"`
	Count    int64  `json:"count"`
}

// DeadLetterSummary is the value of the dead_letters feed.
type DeadLetterSummary struct {
	Total int64 `json:"total"`
	// ByReason is sorted by count, largest first.
	ByReason []DeadLetterCount `json:"by_reason"`
}

// Summary returns the counts as the dead_letters feed shows them.
func (d *DeadLetters) Summary() (DeadLetterSummary, error) {
	d.mu.Lock()
	err := d.err
	d.mu.Unlock()
	if err != nil {
		return DeadLetterSummary{}, err
	}
	s := DeadLetterSummary{ByReason: []DeadLetterCount{}}
	for fn, rs := range d.ByFunctionReason() {
		for r, n := range rs {
			s.ByReason = append(s.ByReason, DeadLetterCount{Function: fn, Reason: r, Count: n})
			s.Total += n
		}
	}
	sort.Slice(s.ByReason, func(i, j int) bool {
		a, b := s.ByReason[i], s.ByReason[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Function != b.Function {
			return a.Function < b.Function
		}
		return a.Reason < b.Reason
	})
	return s, nil
}

// Feed returns the dead_letters feed.
func (d *DeadLetters) Feed() Feed {
	return Feed{Name: FeedDeadLetters, Title: "Dead letters by reason",
		Doc:  "DeadLetterSummary: records the functions sent to the dead-letter topic, by function and reason",
		Read: func(context.Context) (any, error) { return d.Summary() }}
}
