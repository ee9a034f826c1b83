package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"slices"
	"strconv"
	"time"

	analytics "github.com/shopstream/shopstream/functions/analytics/api"
	"github.com/shopstream/shopstream/functions/analytics/migrations"
	fraud "github.com/shopstream/shopstream/functions/fraud/api"
	inventory "github.com/shopstream/shopstream/functions/inventory/api"
	lake "github.com/shopstream/shopstream/functions/lake/api"
	recommendations "github.com/shopstream/shopstream/functions/recommendations/api"
	support "github.com/shopstream/shopstream/functions/support/api"
	"github.com/shopstream/shopstream/infra/consumer"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
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
			Name:        fraud.Name,
			Topics:      []string{event.TopicTransactions},
			WriteTopics: []string{event.TopicFraudAlerts, event.TopicDeadLetters},
			Tables:      fraud.TableSpecs(),
			Alerts:      true,
			// One read and one write per user and card in a batch: larger
			// batches mean fewer requests per record.
			Mapping: consumer.Mapping{BatchSize: 10_000, MaxBatchingWindow: time.Second},
		},
		{
			Name:        analytics.Name,
			Topics:      []string{event.TopicUserEvents, event.TopicTransactions},
			WriteTopics: []string{event.TopicDeadLetters},
			Database:    true,
			Migrate:     true,
			Schema:      digest(migrations.FS),
			Environment: map[string]string{"LATENESS": analytics.DefaultLateness.String(), "DB_MAX_CONNS": "2"},
			Mapping:     consumer.Mapping{BatchSize: 10_000, MaxBatchingWindow: time.Second},
			// Caps the connections the function opens through the proxy.
			ReservedConcurrency: 20,
		},
		{
			Name:        support.Name,
			Topics:      []string{event.TopicFeedback, event.TopicTransactions},
			WriteTopics: []string{event.TopicSupportAlerts, event.TopicDeadLetters},
			Tables:      support.TableSpecs(),
			// Alerts of high-priority cases go to support_alerts and SNS.
			Alerts:  true,
			Mapping: consumer.Mapping{BatchSize: 10_000, MaxBatchingWindow: time.Second},
		},
		{
			Name:        recommendations.Name,
			Topics:      []string{event.TopicUserEvents, event.TopicTransactions},
			WriteTopics: []string{event.TopicDeadLetters},
			Tables:      recommendations.TableSpecs(),
			// Large batches fold many views of popular products into one
			// write per product.
			Mapping:  consumer.Mapping{BatchSize: 10_000, MaxBatchingWindow: 2 * time.Second},
			MemoryMB: 1024,
		},
		{
			// The read path: GET /recommendations/{product_id} behind an
			// IAM-authenticated function URL.
			Name:          "recommendations-api",
			ReadsTablesOf: recommendations.Name,
			URL:           true,
			MemoryMB:      256,
			Timeout:       10 * time.Second,
		},
		{
			Name: lake.Name,
			// Every input topic and every topic the functions write.
			Topics: append(slices.Clone(generator.InputTopics), lake.DerivedTopics()...),
			Lake:   true,
			// Files of several MB: the largest batches, gathered for up to a
			// minute, per topic.
			Mapping:  consumer.Mapping{BatchSize: 10_000, MaxBatchingWindow: time.Minute},
			MemoryMB: 1024,
		},
	}
}

// digest is a SHA-256 over the names and contents of the files of fsys, in
// walk order: it changes whenever a migration is added or edited.
func digest(fsys fs.FS) string {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		h.Write([]byte(path + "\x00"))
		h.Write(b)
		return nil
	})
	if err != nil {
		panic(err) // embedded files always read
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
