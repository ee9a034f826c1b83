package kafkabatch

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/event"
)

// KafkaSink is a DeadLetterSink that produces each dead letter as canonical
// JSON to a Kafka topic, keyed by the original record's key, and waits for
// the broker's acknowledgement of every letter.
//
// Kafka appends: a replayed letter is written again, with the same EventID
// and content, and readers of the topic drop duplicates by EventID. A letter
// carries its record's value base64-encoded, so it is up to 4/3 the size of
// the record: the dead-letter topic's max.message.bytes, and the client's
// kgo.ProducerBatchMaxBytes, must allow for that, or letters of the largest
// records fail to send and their records are retried. A function that
// consumes the dead-letter topic must not dead-letter into it: a letter it
// refused would come back to it, one wrapping larger, forever.
type KafkaSink struct {
	client *kgo.Client
	topic  string
}

var _ DeadLetterSink = (*KafkaSink)(nil)

// NewKafkaSink returns a sink that produces with client to topic; an empty
// topic means event.TopicDeadLetters ("dead_letters"). The caller owns client
// and closes it.
func NewKafkaSink(client *kgo.Client, topic string) *KafkaSink {
	if topic == "" {
		topic = event.TopicDeadLetters
	}
	return &KafkaSink{client: client, topic: topic}
}

// Topic returns the topic the sink produces to.
func (s *KafkaSink) Topic() string { return s.topic }

// Send implements DeadLetterSink.
func (s *KafkaSink) Send(ctx context.Context, letters []*event.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(letters))
	for i, dl := range letters {
		v, err := json.Marshal(dl)
		if err != nil {
			return fmt.Errorf("encode dead letter %s: %w", dl.EventID, err)
		}
		recs[i] = &kgo.Record{Topic: s.topic, Key: dl.RecordKey, Value: v}
	}
	results := s.client.ProduceSync(ctx, recs...)
	failed := 0
	var first error
	for _, r := range results {
		if r.Err != nil {
			if first == nil {
				first = r.Err
			}
			failed++
		}
	}
	if first != nil {
		return fmt.Errorf("produce dead letters to %s: %d of %d failed: %w", s.topic, failed, len(letters), first)
	}
	return nil
}
