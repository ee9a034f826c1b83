// Package lakecatalog makes the lake queryable: the Glue database and one
// table per lake table (Parquet, Hive partitions dt/hour with partition
// projection, so Athena needs no crawler), and an Athena workgroup whose
// results stay encrypted in the lake bucket.
package lakecatalog

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Column is a table column with its Glue (Hive) type, such as "bigint",
// "timestamp", "array<struct<product_id:string,quantity:int>>".
type Column struct {
	Name, Type, Comment string
}

// Table is a lake table: its objects live under s3://BUCKET/Name/dt=.../hour=.../.
type Table struct {
	Name    string
	Comment string
	Columns []Column
}

// Query is an Athena named query.
type Query struct {
	Name, Description, SQL string
}

// Props configure the catalog.
type Props struct {
	Bucket awss3.IBucket
	// Database is the Glue database name; default "shopstream".
	Database string
	Tables   []Table
	Queries  []Query
	// FirstDay bounds the dt projection; default "2024-01-01".
	FirstDay string
	// ScanLimitBytes stops a query that scans more; default 10 GB.
	ScanLimitBytes float64
}

// Catalog is the Glue database, its tables and the Athena workgroup.
type Catalog struct {
	constructs.Construct
	Database  awsglue.CfnDatabase
	Tables    map[string]awsglue.CfnTable
	WorkGroup awsathena.CfnWorkGroup
}

// New builds the catalog.
func New(scope constructs.Construct, id string, p Props) *Catalog {
	c := constructs.NewConstruct(scope, &id)
	dbName := p.Database
	if dbName == "" {
		dbName = "shopstream"
	}
	firstDay := p.FirstDay
	if firstDay == "" {
		firstDay = "2024-01-01"
	}
	db := awsglue.NewCfnDatabase(c, jsii.String("Database"), &awsglue.CfnDatabaseProps{
		CatalogId: awscdk.Aws_ACCOUNT_ID(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(dbName),
			Description: jsii.String("shopstream lake: every event as Parquet, by event family, dt and hour"),
		},
	})
	cat := &Catalog{Construct: c, Database: db, Tables: map[string]awsglue.CfnTable{}}
	for _, t := range p.Tables {
		location := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), p.Bucket.BucketName(), jsii.String("/" + t.Name + "/")})
		var cols []any
		for _, col := range t.Columns {
			cols = append(cols, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(col.Name), Type: jsii.String(col.Type), Comment: optional(col.Comment)})
		}
		tbl := awsglue.NewCfnTable(c, jsii.String("Table-"+t.Name), &awsglue.CfnTableProps{
			CatalogId:    awscdk.Aws_ACCOUNT_ID(),
			DatabaseName: jsii.String(dbName),
			TableInput: &awsglue.CfnTable_TableInputProperty{
				Name:        jsii.String(t.Name),
				Description: optional(t.Comment),
				TableType:   jsii.String("EXTERNAL_TABLE"),
				Parameters: map[string]any{
					"classification":              "parquet",
					"parquet.compression":         "ZSTD",
					"projection.enabled":          "true",
					"projection.dt.type":          "date",
					"projection.dt.format":        "yyyy-MM-dd",
					"projection.dt.range":         fmt.Sprintf("%s,NOW", firstDay),
					"projection.dt.interval":      "1",
					"projection.dt.interval.unit": "DAYS",
					"projection.hour.type":        "integer",
					"projection.hour.range":       "0,23",
					"projection.hour.digits":      "2",
					"storage.location.template":   awscdk.Fn_Join(jsii.String(""), &[]*string{location, jsii.String("dt=${dt}/hour=${hour}/")}),
				},
				PartitionKeys: []any{
					&awsglue.CfnTable_ColumnProperty{Name: jsii.String("dt"), Type: jsii.String("string"), Comment: jsii.String("event date, UTC, yyyy-MM-dd")},
					&awsglue.CfnTable_ColumnProperty{Name: jsii.String("hour"), Type: jsii.String("string"), Comment: jsii.String("event hour, UTC, 00-23")},
				},
				StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
					Columns:      cols,
					Location:     location,
					InputFormat:  jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
					OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
					SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
						SerializationLibrary: jsii.String("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
					},
				},
			},
		})
		tbl.AddResourceDependency(db, jsii.String("a Glue table lives in its database"))
		cat.Tables[t.Name] = tbl
	}
	scan := p.ScanLimitBytes
	if scan == 0 {
		scan = 10e9
	}
	results := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), p.Bucket.BucketName(), jsii.String("/athena-results/")})
	wg := awsathena.NewCfnWorkGroup(c, jsii.String("WorkGroup"), &awsathena.CfnWorkGroupProps{
		Name:                  awscdk.Names_UniqueResourceName(c, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(64)}),
		Description:           jsii.String("shopstream lake queries"),
		RecursiveDeleteOption: jsii.Bool(true),
		WorkGroupConfiguration: &awsathena.CfnWorkGroup_WorkGroupConfigurationProperty{
			EnforceWorkGroupConfiguration:   jsii.Bool(true),
			PublishCloudWatchMetricsEnabled: jsii.Bool(true),
			BytesScannedCutoffPerQuery:      jsii.Number(scan),
			EngineVersion:                   &awsathena.CfnWorkGroup_EngineVersionProperty{SelectedEngineVersion: jsii.String("Athena engine version 3")},
			ResultConfiguration: &awsathena.CfnWorkGroup_ResultConfigurationProperty{
				OutputLocation:          results,
				EncryptionConfiguration: &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{EncryptionOption: jsii.String("SSE_S3")},
			},
		},
	})
	cat.WorkGroup = wg
	for i, q := range p.Queries {
		nq := awsathena.NewCfnNamedQuery(c, jsii.String(fmt.Sprintf("Query%d", i)), &awsathena.CfnNamedQueryProps{
			Name: jsii.String(q.Name), Description: optional(q.Description), Database: jsii.String(dbName),
			QueryString: jsii.String(q.SQL), WorkGroup: wg.Name(),
		})
		nq.AddResourceDependency(wg, jsii.String("a named query names its workgroup"))
	}
	return cat
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}
