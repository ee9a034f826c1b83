package esm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Mapping is an event source mapping from Kafka topics to a function: it
// consumes the topics in its own consumer group, gathers records into
// batches, invokes the function with each batch's events.KafkaEvent payload,
// and commits a partition's offsets only once the function succeeded with
// its records, or they were given to the OnFailure destination.
//
// Records of one partition are sent in offset order, and one partition has at
// most one batch in flight; a batch may hold records of several partitions,
// and batches of different partitions run concurrently (WithMaxConcurrency).
// A batch closes at BatchSize records, at MaxBatchingWindow after its oldest
// record was polled, or before its payload would grow past MaxPayloadBytes.
//
// A batch the function fails (an error, a panic, a crash, a timeout: a
// *FunctionError; or, with ReportBatchItemFailures, an invalid partial batch
// response) is retried whole, up to RetryAttempts times, or split in two
// with BisectBatchOnError; a valid partial batch response commits each
// listed partition up to its lowest listed offset and retries the rest.
// Records past MaxRecordAge are not sent again. What the mapping gives up on
// goes to OnFailure, and processing goes on. An invocation that could not be
// made at all (an Invoker error that is not a *FunctionError) is retried
// after a pause, without counting against RetryAttempts, as Lambda does when
// the function is throttled or unreachable: only MaxRecordAge bounds it.
//
// A Mapping's methods are safe for concurrent use; Run runs one at a time.
type Mapping struct {
	s       *settings
	invoker Invoker
	prefix  []byte

	logger      *slog.Logger
	concurrency int
	backoffMin  time.Duration
	backoffMax  time.Duration
	kopts       []kgo.Opt
	now         func() time.Time // the clock of record ages
	maxPayload  int

	running atomic.Bool
	admin   atomic.Pointer[kadm.Client] // set while Run runs

	mu    sync.Mutex // guards st and parts
	st    Stats
	parts map[string]*PartitionStats
}

// Option configures a Mapping.
type Option func(*Mapping)

// WithLogger sets the logger of the mapping's batches and errors. Default: a
// logger that discards everything.
func WithLogger(l *slog.Logger) Option { return func(m *Mapping) { m.logger = l } }

// WithMaxConcurrency bounds the batches in flight at once, each on partitions
// of its own. Default: runtime.GOMAXPROCS(0).
func WithMaxConcurrency(n int) Option {
	return func(m *Mapping) {
		if n > 0 {
			m.concurrency = n
		}
	}
}

// WithRetryBackoff sets the pause before retrying a failed batch, a failed
// invocation or a failed send to the destination: min after the first
// failure, doubling up to max. Default: 100 ms, up to 5 s.
func WithRetryBackoff(min, max time.Duration) Option {
	return func(m *Mapping) {
		if min > 0 {
			m.backoffMin = min
		}
		if max >= m.backoffMin {
			m.backoffMax = max
		}
	}
}

// WithKafkaOptions adds options to the mapping's Kafka clients, such as TLS
// or SASL. The mapping sets the seed brokers, consumer group, topics,
// offset reset, commits and group callbacks itself. Default: none.
func WithKafkaOptions(opts ...kgo.Opt) Option {
	return func(m *Mapping) { m.kopts = append(m.kopts, opts...) }
}

// New returns a Mapping of cfg invoking inv. It fails with an error matching
// ErrInvalidConfig when cfg is invalid, and when inv is nil.
func New(cfg Config, inv Invoker, opts ...Option) (*Mapping, error) {
	s, err := cfg.validate(time.Now())
	if err != nil {
		return nil, err
	}
	if inv == nil {
		return nil, configError("nil Invoker")
	}
	m := &Mapping{
		s:           s,
		invoker:     inv,
		prefix:      s.payloadPrefix(),
		concurrency: runtime.GOMAXPROCS(0),
		backoffMin:  100 * time.Millisecond,
		backoffMax:  5 * time.Second,
		now:         time.Now,
		maxPayload:  MaxPayloadBytes,
		parts:       make(map[string]*PartitionStats),
	}
	for _, o := range opts {
		o(m)
	}
	if m.logger == nil {
		m.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m.logger = m.logger.With(slog.String("function", s.FunctionName), slog.String("consumer_group", s.ConsumerGroupID))
	return m, nil
}

// ConsumerGroupID returns the mapping's consumer group.
func (m *Mapping) ConsumerGroupID() string { return m.s.ConsumerGroupID }

// Topics returns the mapping's topics.
func (m *Mapping) Topics() []string { return slices.Clone(m.s.topics) }

// Run consumes and invokes until ctx ends, then stops: it abandons the
// batches in flight without committing them (the function may have
// processed them; they are delivered again on the next Run, by this or
// another Mapping of the same group), leaves the consumer group and returns
// nil. It returns an error only if it cannot start.
//
// Before it joins the group, Run commits the StartingPosition offset of every
// partition the group has no committed offset for, so that the position is
// kept from then on, even if the mapping stops before its first batch.
func (m *Mapping) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("esm: Run is already running")
	}
	defer m.running.Store(false)

	admCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(m.s.BootstrapServers...)}, m.kopts...)...)
	if err != nil {
		return fmt.Errorf("esm: kafka client: %w", err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	m.admin.Store(adm)
	defer m.admin.Store(nil)

	if err := m.position(ctx, adm); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		m.noteError("set starting positions", err)
		m.logger.Warn("could not set the starting positions; partitions without a committed offset start at the consumer's reset offset",
			slog.String("err", err.Error()))
	}

	r := newRunner(m, ctx)
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(m.s.BootstrapServers...),
		kgo.ClientID("shopstream-esm"),
		kgo.ConsumerGroup(m.s.ConsumerGroupID),
		kgo.ConsumeTopics(m.s.topics...),
		kgo.ConsumeResetOffset(m.resetOffset()),
		kgo.DisableAutoCommit(),
		// A fetch waits at most this long for records: a partition whose
		// fetching resumes is not left waiting behind an idle fetch.
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(r.onAssigned),
		kgo.OnPartitionsRevoked(r.onRevoked),
		kgo.OnPartitionsLost(r.onRevoked),
	}, m.kopts...)...)
	if err != nil {
		return fmt.Errorf("esm: kafka consumer: %w", err)
	}
	r.cl = cl
	m.logger.Info("event source mapping started", slog.Any("topics", m.s.topics), slog.Int("batch_size", m.s.BatchSize),
		slog.Duration("batching_window", m.s.MaxBatchingWindow), slog.String("starting_position", string(m.s.StartingPosition)))

	go r.poll()
	r.loop()
	cl.Close() // leaves the group; the callbacks return at once now
	<-r.pollDone
	m.mu.Lock()
	clear(m.parts)
	m.mu.Unlock()
	m.logger.Info("event source mapping stopped")
	return nil
}

// resetOffset is where the consumer starts a partition without a committed
// offset.
func (m *Mapping) resetOffset() kgo.Offset {
	switch m.s.StartingPosition {
	case Latest:
		return kgo.NewOffset().AtEnd()
	case AtTimestamp:
		return kgo.NewOffset().AfterMilli(m.s.StartingPositionTimestamp.UnixMilli())
	default:
		return kgo.NewOffset().AtStart()
	}
}

// position commits the starting position of every partition of the
// mapping's topics that the group has no committed offset for.
func (m *Mapping) position(ctx context.Context, adm *kadm.Client) error {
	committed, err := fetchCommitted(ctx, adm, m.s.ConsumerGroupID)
	if err != nil {
		return err
	}
	var listed kadm.ListedOffsets
	switch m.s.StartingPosition {
	case Latest:
		listed, err = adm.ListEndOffsets(ctx, m.s.topics...)
	case AtTimestamp:
		listed, err = adm.ListOffsetsAfterMilli(ctx, m.s.StartingPositionTimestamp.UnixMilli(), m.s.topics...)
	default:
		listed, err = adm.ListStartOffsets(ctx, m.s.topics...)
	}
	if err != nil {
		return fmt.Errorf("list starting offsets: %w", err)
	}
	start := make(kadm.Offsets)
	listed.Each(func(lo kadm.ListedOffset) {
		if lo.Err != nil || lo.Partition < 0 || lo.Offset < 0 {
			return
		}
		if c, ok := committed.Lookup(lo.Topic, lo.Partition); ok && c.Err == nil && c.At >= 0 {
			return
		}
		start.Add(kadm.Offset{Topic: lo.Topic, Partition: lo.Partition, At: lo.Offset, LeaderEpoch: -1})
	})
	if len(start) == 0 {
		return nil
	}
	resp, err := adm.CommitOffsets(ctx, m.s.ConsumerGroupID, start)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		// The group is live elsewhere: its members own the positions.
		return fmt.Errorf("commit starting offsets: %w", err)
	}
	m.logger.Debug("starting positions committed", slog.Int("partitions", len(resp)))
	return nil
}

// fetchCommitted returns the group's committed offsets; none for a group
// that does not exist yet.
func fetchCommitted(ctx context.Context, adm *kadm.Client, group string) (kadm.OffsetResponses, error) {
	committed, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of %s: %w", group, err)
	}
	return committed, nil
}

// noteError keeps err as the last error, for Stats; the caller logs it.
func (m *Mapping) noteError(doing string, err error) {
	m.mu.Lock()
	m.st.LastError = doing + ": " + err.Error()
	m.st.LastErrorAt = time.Now()
	m.mu.Unlock()
}

// backoff returns the pause after the n-th consecutive failure (n >= 1).
func (m *Mapping) backoff(n int) time.Duration {
	d := m.backoffMin
	for i := 1; i < n && d < m.backoffMax; i++ {
		d *= 2
	}
	return min(d, m.backoffMax)
}

// sleep waits d, or until ctx ends; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
