package generator

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/event"
)

// InputTopics are the topics the generator produces to.
var InputTopics = []string{event.TopicUserEvents, event.TopicTransactions, event.TopicInventory, event.TopicFeedback}

// EnsureTopics creates the topics that do not exist yet, with the given
// number of partitions (-1: the broker's default) and the broker's default
// replication factor.
func EnsureTopics(ctx context.Context, cl *kgo.Client, partitions int32, topics ...string) error {
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, t := range topics {
		r, ok := resp[t]
		if !ok {
			return fmt.Errorf("create topic %s: no answer from the broker", t)
		}
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t, r.Err)
		}
	}
	return nil
}

// KafkaSink produces records to Kafka, keyed as they come (user id or product
// id), so that one key's records stay in order on one partition.
type KafkaSink struct {
	cl *kgo.Client

	mu  sync.Mutex
	err error
}

var _ Sink = (*KafkaSink)(nil)

// NewKafkaSink returns a sink producing through cl. The caller owns cl.
func NewKafkaSink(cl *kgo.Client) *KafkaSink { return &KafkaSink{cl: cl} }

// Write implements Sink. Records are produced asynchronously; the first
// production error is returned by a later Write or by Close.
func (s *KafkaSink) Write(ctx context.Context, rec *Record) error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	r := &kgo.Record{Topic: rec.Topic, Key: []byte(rec.Key), Value: rec.Value, Timestamp: rec.Time}
	// A record handed over is produced even if ctx ends now: the truth counts it.
	s.cl.Produce(context.WithoutCancel(ctx), r, func(r *kgo.Record, err error) {
		if err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = fmt.Errorf("produce to %s: %w", r.Topic, err)
			}
			s.mu.Unlock()
		}
	})
	return nil
}

// Close implements Sink: it waits until every record is acknowledged.
func (s *KafkaSink) Close(ctx context.Context) error {
	ferr := s.cl.Flush(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if ferr != nil {
		return fmt.Errorf("flush to kafka: %w", ferr)
	}
	return nil
}
