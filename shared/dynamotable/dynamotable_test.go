package dynamotable_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/shared/dynamotable"
	"github.com/shopstream/shopstream/shared/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func TestCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := dynamotest.Client(t)
	specs := []dynamotable.Spec{
		{Name: dynamotest.TableName(t, "simple"), PartitionKey: "id"},
		{Name: dynamotest.TableName(t, "sorted"), PartitionKey: "pk", SortKey: "sk", TTL: "expires_at"},
	}
	for range 2 { // the second call finds the tables and leaves them alone
		if err := dynamotable.Create(ctx, c, specs...); err != nil {
			t.Fatal(err)
		}
	}
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(specs[1].Name)})
	if err != nil {
		t.Fatal(err)
	}
	ks := d.Table.KeySchema
	if len(ks) != 2 || *ks[0].AttributeName != "pk" || ks[0].KeyType != types.KeyTypeHash || *ks[1].AttributeName != "sk" || ks[1].KeyType != types.KeyTypeRange {
		t.Errorf("key schema = %+v", ks)
	}
	if d.Table.BillingModeSummary == nil || d.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing = %+v, want on-demand", d.Table.BillingModeSummary)
	}
	ttl, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(specs[1].Name)})
	if err != nil {
		t.Fatal(err)
	}
	if ttl.TimeToLiveDescription.AttributeName == nil || *ttl.TimeToLiveDescription.AttributeName != "expires_at" {
		t.Errorf("TTL = %+v", ttl.TimeToLiveDescription)
	}
	if err := dynamotable.Create(ctx, c, dynamotable.Spec{Name: "x"}); err == nil {
		t.Error("a spec without a partition key was accepted")
	}
}

func TestNames(t *testing.T) {
	env := map[string]string{"STOCK_TABLE": "Shopstream-Stock-ABC"}
	got := dynamotable.Names(func(k string) string { return env[k] },
		dynamotable.Spec{Name: "inventory_stock", Env: "STOCK_TABLE"}, dynamotable.Spec{Name: "inventory_orders", Env: "ORDERS_TABLE"})
	if got[0].Name != "Shopstream-Stock-ABC" || got[1].Name != "inventory_orders" {
		t.Errorf("Names = %+v", got)
	}
}
