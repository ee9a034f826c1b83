package pipeline

import (
	"strconv"
	"time"

	inventory "github.com/shopstream/shopstream/functions/inventory/api"
	lake "github.com/shopstream/shopstream/functions/lake/api"
	"github.com/shopstream/shopstream/infra/consumer"
	"github.com/shopstream/shopstream/shared/event"
)

// Functions are the functions the stack deploys, each with what it reads,
// writes and owns.
func Functions() []Function {
	return []Function{
		{
			Name:        inventory.Name,
			Topics:      []string{event.TopicInventory, event.TopicTransactions},
			WriteTopics: []string{event.TopicInventoryAlerts, event.TopicDeadLetters},
			Tables:      inventory.TableSpecs(),
			Environment: map[string]string{"LOW_STOCK_THRESHOLD": strconv.Itoa(inventory.DefaultLowStock)},
			// Large batches fold many events of one product into one write.
			Mapping: consumer.Mapping{BatchSize: 10_000, MaxBatchingWindow: time.Second},
		},
		{
			Name: lake.Name,
			Topics: []string{event.TopicUserEvents, event.TopicTransactions, event.TopicInventory, event.TopicFeedback,
				event.TopicFraudAlerts, event.TopicInventoryAlerts, event.TopicDeadLetters},
			Lake: true,
			// Files of several MB: the largest batches, gathered for up to a
			// minute, per topic.
			Mapping:  consumer.Mapping{BatchSize: 10_000, MaxBatchingWindow: time.Minute},
			MemoryMB: 1024,
		},
	}
}
