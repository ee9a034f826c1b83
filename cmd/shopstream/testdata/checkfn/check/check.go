// Package check is the logic of the checkfn test function: it accepts every
// valid event and dead-letters the rest, through the real batch toolkit.
package check

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name in dead letters.
const Name = "checkfn"

// Handler returns the Lambda handler: decode, dead-letter bad records to
// the dead-letter topic through cl, accept the rest.
func Handler(cl *kgo.Client) (func(context.Context, events.KafkaEvent) (kafkabatch.Response, error), error) {
	accept := kafkabatch.HandlerFunc(func(context.Context, *kafkabatch.Batch) error { return nil })
	p, err := kafkabatch.NewProcessor(Name, accept, kafkabatch.WithDeadLetterSink(kafkabatch.NewKafkaSink(cl, "")))
	if err != nil {
		return nil, err
	}
	return p.Process, nil
}
