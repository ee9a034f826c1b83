package esm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Stats is a snapshot of what a Mapping did since it was created. Records
// are counted once each, however many times they were sent: when the
// mapping is drained and no batch was abandoned, Records equals Succeeded +
// SentToDestination + Discarded.
type Stats struct {
	// Batches is the number of batches made from polled records.
	Batches int64
	// Records is the number of polled records put in a batch.
	Records int64
	// Invocations is the number of times the function was invoked
	// (attempted, counting invocations that could not be made).
	Invocations int64
	// FunctionErrors counts invocations the function failed (*FunctionError).
	FunctionErrors int64
	// InvocationErrors counts invocations that could not be made.
	InvocationErrors int64
	// InvalidResponses counts invalid partial batch responses.
	InvalidResponses int64
	// PartialFailures counts valid partial batch responses listing failures.
	PartialFailures int64
	// Retries counts invocations carrying records sent before.
	Retries int64
	// Bisects counts batches split in two.
	Bisects int64
	// Succeeded is the number of records the function processed.
	Succeeded int64
	// SentToDestination is the number of records sent to OnFailure.
	SentToDestination int64
	// Discarded is the number of records given up on without OnFailure.
	Discarded int64
	// Bytes is the total size of the payloads sent.
	Bytes int64
	// InFlight is the number of batches being processed now.
	InFlight int
	// LastError describes the last error the mapping met, and LastErrorAt
	// when; empty if none.
	LastError   string
	LastErrorAt time.Time
	// Partitions are the partitions assigned to the running mapping, by
	// topic and partition.
	Partitions []PartitionStats
}

// PartitionStats is the state of one assigned partition.
type PartitionStats struct {
	Topic     string
	Partition int32
	// Committed is the offset the mapping committed last (the next record
	// to process), or where it resumed reading the partition; -1 before
	// either.
	Committed int64
	// HighWatermark is the partition's end offset as of the mapping's last
	// fetch with records; -1 before.
	HighWatermark int64
	// Lag is HighWatermark - Committed; -1 while either is unknown. For an
	// exact value, see Mapping.Lag.
	Lag int64
	// Buffered is the number of records polled and waiting for a batch.
	Buffered int
	// InFlight is whether a batch holds records of the partition.
	InFlight bool
}

// Stats returns a snapshot of the mapping's counters and partitions.
func (m *Mapping) Stats() Stats {
	m.mu.Lock()
	st := m.st
	st.Partitions = make([]PartitionStats, 0, len(m.parts))
	for _, p := range m.parts {
		ps := *p
		ps.Lag = -1
		if ps.Committed >= 0 && ps.HighWatermark >= 0 {
			ps.Lag = max(ps.HighWatermark-ps.Committed, 0)
		}
		st.Partitions = append(st.Partitions, ps)
	}
	m.mu.Unlock()
	slices.SortFunc(st.Partitions, func(a, b PartitionStats) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return st
}

// PartitionLag is the consumer lag of one partition, as the broker knows it.
type PartitionLag struct {
	Topic     string
	Partition int32
	// Committed is the group's committed offset; -1 if it has none.
	Committed int64
	// End is the partition's high watermark.
	End int64
	// Lag is End - Committed: the records the mapping has yet to resolve.
	// With no committed offset, it counts every record of the partition.
	Lag int64
}

// Lag asks the brokers for the consumer lag of every partition of the
// mapping's topics: high watermark minus the group's committed offset.
// Partitions of topics that do not exist are left out. It works whether Run
// is running or not.
func (m *Mapping) Lag(ctx context.Context) ([]PartitionLag, error) {
	adm := m.admin.Load()
	if adm == nil {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(m.s.BootstrapServers...)}, m.kopts...)...)
		if err != nil {
			return nil, fmt.Errorf("esm: kafka client: %w", err)
		}
		defer cl.Close()
		adm = kadm.NewClient(cl)
	}
	committed, err := fetchCommitted(ctx, adm, m.s.ConsumerGroupID)
	if err != nil {
		return nil, fmt.Errorf("esm: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, m.s.topics...)
	if err != nil {
		return nil, fmt.Errorf("esm: list end offsets: %w", err)
	}
	var starts kadm.ListedOffsets
	var out []PartitionLag
	var lerr error
	ends.Each(func(e kadm.ListedOffset) {
		if e.Partition < 0 {
			return // the topic does not exist
		}
		if e.Err != nil {
			lerr = fmt.Errorf("esm: end offset of %s: %w", partitionKey(e.Topic, e.Partition), e.Err)
			return
		}
		l := PartitionLag{Topic: e.Topic, Partition: e.Partition, Committed: -1, End: e.Offset}
		if c, ok := committed.Lookup(e.Topic, e.Partition); ok && c.Err == nil && c.At >= 0 {
			l.Committed = c.At
			l.Lag = max(e.Offset-c.At, 0)
		} else {
			if starts == nil {
				if starts, err = adm.ListStartOffsets(ctx, m.s.topics...); err != nil {
					lerr = fmt.Errorf("esm: list start offsets: %w", err)
					return
				}
			}
			start := int64(0)
			if s, ok := starts.Lookup(e.Topic, e.Partition); ok && s.Err == nil {
				start = s.Offset
			}
			l.Lag = max(e.Offset-start, 0)
		}
		out = append(out, l)
	})
	if lerr != nil {
		return nil, lerr
	}
	slices.SortFunc(out, func(a, b PartitionLag) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out, nil
}

// drainPoll is how often WaitDrained checks.
const drainPoll = 100 * time.Millisecond

// WaitDrained returns once the mapping has caught up: no batch in flight,
// no record waiting, and a lag of zero on every partition of its topics (as
// Lag reports). It returns ctx's error if ctx ends first. It is meant for a
// running mapping: a stopped one only drains if nothing is left to process.
func (m *Mapping) WaitDrained(ctx context.Context) error {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		if m.idle() {
			lags, err := m.Lag(ctx)
			if err == nil && m.idle() && !slices.ContainsFunc(lags, func(l PartitionLag) bool { return l.Lag > 0 }) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// idle reports whether no batch is in flight and no record is buffered.
func (m *Mapping) idle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.InFlight > 0 {
		return false
	}
	for _, p := range m.parts {
		if p.Buffered > 0 {
			return false
		}
	}
	return true
}
