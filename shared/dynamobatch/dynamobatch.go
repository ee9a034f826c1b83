// Package dynamobatch reads and writes many DynamoDB items at once, as the
// functions' adapters do once per batch: BatchGetItem by 100 keys and
// BatchWriteItem by 25 items, several requests at a time, retrying what
// DynamoDB leaves unprocessed with exponential backoff until it is done or
// the context ends. The SDK's own retryer handles throttling and 5xx errors
// of each request.
package dynamobatch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Parallel is how many requests of one call run at once.
const Parallel = 8

// Limits of DynamoDB's batch operations.
const (
	MaxGet   = 100
	MaxWrite = 25
)

// Chunks runs f on each chunk of at most size items, Parallel chunks at a
// time, and returns the first error. Every chunk runs even after an error.
func Chunks[T any](items []T, size int, f func([]T) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, Parallel)
	)
	for chunk := range slices.Chunk(items, size) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(chunk); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// Get reads the items whose string key attribute key is one of ids, with
// consistent reads, and calls each for every item found; calls to each
// never overlap. requests, if not nil, counts the requests sent (retries
// included).
func Get(ctx context.Context, client *dynamodb.Client, table, key string, ids []string, requests *atomic.Int64,
	each func(map[string]types.AttributeValue) error) error {
	var mu sync.Mutex
	return Chunks(ids, MaxGet, func(chunk []string) error {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = map[string]types.AttributeValue{key: &types.AttributeValueMemberS{Value: id}}
		}
		req := map[string]types.KeysAndAttributes{table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for backoff := 10 * time.Millisecond; len(req) > 0; backoff = min(2*backoff, time.Second) {
			if requests != nil {
				requests.Add(1)
			}
			out, err := client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("read %s: %w", table, err)
			}
			mu.Lock()
			for _, item := range out.Responses[table] {
				if err := each(item); err != nil {
					mu.Unlock()
					return fmt.Errorf("read %s: %w", table, err)
				}
			}
			mu.Unlock()
			req = out.UnprocessedKeys
			if len(req) > 0 {
				if err := Sleep(ctx, backoff); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Write puts or deletes the items of reqs in table. requests, if not nil,
// counts the requests sent (retries included).
func Write(ctx context.Context, client *dynamodb.Client, table string, reqs []types.WriteRequest, requests *atomic.Int64) error {
	return Chunks(reqs, MaxWrite, func(chunk []types.WriteRequest) error {
		pending := map[string][]types.WriteRequest{table: chunk}
		for backoff := 10 * time.Millisecond; len(pending) > 0; backoff = min(2*backoff, time.Second) {
			if requests != nil {
				requests.Add(1)
			}
			out, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("write %d items to %s: %w", len(pending[table]), table, err)
			}
			pending = out.UnprocessedItems
			if len(pending) > 0 {
				if err := Sleep(ctx, backoff); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Sleep waits for d or until ctx is done, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
