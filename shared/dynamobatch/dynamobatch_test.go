package dynamobatch_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/shared/dynamobatch"
	"github.com/shopstream/shopstream/shared/dynamotable"
	"github.com/shopstream/shopstream/shared/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// TestWriteThenGet writes 260 items (11 write requests) and reads them back
// with 40 missing keys among them (3 read requests).
func TestWriteThenGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := dynamotest.Client(t)
	table := dynamotest.TableName(t, "items")
	if err := dynamotable.Create(ctx, c, dynamotable.Spec{Name: table, PartitionKey: "id"}); err != nil {
		t.Fatal(err)
	}
	var reqs []types.WriteRequest
	for i := range 260 {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: fmt.Sprintf("k%03d", i)}, "n": &types.AttributeValueMemberN{Value: fmt.Sprint(i)},
		}}})
	}
	var writes, reads atomic.Int64
	if err := dynamobatch.Write(ctx, c, table, reqs, &writes); err != nil {
		t.Fatal(err)
	}
	if writes.Load() < 11 {
		t.Errorf("%d write requests for 260 items, want at least 11", writes.Load())
	}
	var ids []string
	for i := range 300 {
		ids = append(ids, fmt.Sprintf("k%03d", i))
	}
	got := map[string]bool{}
	err := dynamobatch.Get(ctx, c, table, "id", ids, &reads, func(item map[string]types.AttributeValue) error {
		got[item["id"].(*types.AttributeValueMemberS).Value] = true // no lock: calls never overlap
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 260 || !got["k000"] || !got["k259"] || got["k260"] {
		t.Errorf("read %d items, want k000..k259", len(got))
	}
	if reads.Load() < 3 {
		t.Errorf("%d read requests for 300 keys, want at least 3", reads.Load())
	}
	stop := errors.New("stop")
	err = dynamobatch.Get(ctx, c, table, "id", ids[:5], nil, func(map[string]types.AttributeValue) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("an error of each came back as %v", err)
	}
	if err := dynamobatch.Get(ctx, c, "no-such-table-"+table, "id", ids[:1], nil, func(map[string]types.AttributeValue) error { return nil }); err == nil {
		t.Error("reading a missing table gave no error")
	}
}

func TestChunks(t *testing.T) {
	var calls, items atomic.Int64
	boom := errors.New("boom")
	err := dynamobatch.Chunks(make([]int, 95), 10, func(c []int) error {
		calls.Add(1)
		items.Add(int64(len(c)))
		if calls.Load() == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() != 10 || items.Load() != 95 {
		t.Errorf("err %v, %d calls over %d items; want boom, 10 calls over 95", err, calls.Load(), items.Load())
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := dynamobatch.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("Sleep on a cancelled context: %v after %v", err, time.Since(start))
	}
}
