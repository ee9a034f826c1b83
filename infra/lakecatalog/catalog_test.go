package lakecatalog_test

import (
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/shopstream/shopstream/infra/lakecatalog"
)

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

func TestCatalog(t *testing.T) {
	app := awscdk.NewApp(nil)
	st := awscdk.NewStack(app, jsii.String("Test"), nil)
	bucket := awss3.NewBucket(st, jsii.String("Lake"), nil)
	lakecatalog.New(st, "Catalog", lakecatalog.Props{
		Bucket: bucket,
		Tables: []lakecatalog.Table{{Name: "transactions", Columns: []lakecatalog.Column{
			{Name: "event_id", Type: "string"}, {Name: "occurred_at", Type: "timestamp"},
			{Name: "items", Type: "array<struct<product_id:string,quantity:int,price:decimal(18,4)>>"},
		}}},
		Queries: []lakecatalog.Query{{Name: "daily revenue", SQL: "SELECT 1"}},
	})
	tpl := assertions.Template_FromStack(st, nil)
	tpl.HasResourceProperties(jsii.String("AWS::Glue::Database"), map[string]any{
		"DatabaseInput": assertions.Match_ObjectLike(&map[string]any{"Name": "shopstream"}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::Glue::Table"), map[string]any{
		"DatabaseName": "shopstream",
		"TableInput": assertions.Match_ObjectLike(&map[string]any{
			"Name": "transactions", "TableType": "EXTERNAL_TABLE",
			"PartitionKeys": []any{
				assertions.Match_ObjectLike(&map[string]any{"Name": "dt", "Type": "string"}),
				assertions.Match_ObjectLike(&map[string]any{"Name": "hour", "Type": "string"}),
			},
			"Parameters": assertions.Match_ObjectLike(&map[string]any{
				"projection.enabled": "true", "projection.hour.range": "0,23", "classification": "parquet",
			}),
			"StorageDescriptor": assertions.Match_ObjectLike(&map[string]any{
				"Columns": []any{
					map[string]any{"Name": "event_id", "Type": "string"},
					map[string]any{"Name": "occurred_at", "Type": "timestamp"},
					map[string]any{"Name": "items", "Type": "array<struct<product_id:string,quantity:int,price:decimal(18,4)>>"},
				},
				"SerdeInfo": map[string]any{"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
			}),
		}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::Athena::WorkGroup"), map[string]any{
		"WorkGroupConfiguration": assertions.Match_ObjectLike(&map[string]any{
			"EnforceWorkGroupConfiguration": true,
			"ResultConfiguration": assertions.Match_ObjectLike(&map[string]any{
				"EncryptionConfiguration": map[string]any{"EncryptionOption": "SSE_S3"},
			}),
		}),
	})
	tpl.ResourceCountIs(jsii.String("AWS::Athena::NamedQuery"), jsii.Number(1))
}
