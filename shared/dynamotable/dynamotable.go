// Package dynamotable describes the DynamoDB tables a function owns, once,
// so that the function's local setup (`shopstream dev`, tests) and the CDK
// stack build the same tables: same keys, same TTL attribute, the name
// passed to the deployed function through the same environment variable.
package dynamotable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Spec is one table. Keys are strings.
type Spec struct {
	// Name is the table's name in local runs; deployed stacks let
	// CloudFormation name it and pass the name in Env.
	Name string
	// Env is the environment variable the function reads the name from.
	Env string
	// PartitionKey is the hash key attribute; required.
	PartitionKey string
	// SortKey is the range key attribute; "" for none.
	SortKey string
	// TTL is the attribute holding an item's expiry in epoch seconds; ""
	// for none.
	TTL string
	// Purpose says what the table holds, for the stack and the docs.
	Purpose string
}

// Create creates each table (on-demand), if missing, waits until it is
// active and turns on its TTL. Tables that exist are left as they are.
func Create(ctx context.Context, client *dynamodb.Client, specs ...Spec) error {
	for _, s := range specs {
		if s.Name == "" || s.PartitionKey == "" {
			return fmt.Errorf("table %q: name and partition key are required", s.Name)
		}
		in := &dynamodb.CreateTableInput{
			TableName:            aws.String(s.Name),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(s.PartitionKey), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(s.PartitionKey), KeyType: types.KeyTypeHash}},
		}
		if s.SortKey != "" {
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(s.SortKey), AttributeType: types.ScalarAttributeTypeS})
			in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(s.SortKey), KeyType: types.KeyTypeRange})
		}
		_, err := client.CreateTable(ctx, in)
		var inUse *types.ResourceInUseException
		created := err == nil
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", s.Name, err)
		}
		w := dynamodb.NewTableExistsWaiter(client)
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Name)}, 2*time.Minute); err != nil {
			return fmt.Errorf("wait for table %s: %w", s.Name, err)
		}
		if s.TTL != "" && created {
			_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(s.Name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(s.TTL), Enabled: aws.Bool(true)},
			})
			if err != nil {
				return fmt.Errorf("enable TTL on %s.%s: %w", s.Name, s.TTL, err)
			}
		}
	}
	return nil
}

// Names resolves each spec's table name from getenv (a deployed
// function's environment), keeping the local name where the variable is
// unset. It returns the specs with their names replaced.
func Names(getenv func(string) string, specs ...Spec) []Spec {
	out := make([]Spec, len(specs))
	for i, s := range specs {
		if v := getenv(s.Env); s.Env != "" && v != "" {
			s.Name = v
		}
		out[i] = s
	}
	return out
}
