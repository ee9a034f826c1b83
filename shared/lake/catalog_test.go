package lake_test

import (
	"testing"

	"github.com/shopstream/shopstream/shared/lake"
)

// TestColumns checks the Glue declaration derived from the row types: every
// table starts with the common columns, every column has a Hive type, and
// the typed and nested columns read as Athena expects.
func TestColumns(t *testing.T) {
	t.Parallel()
	common := []lake.Column{
		{"event_id", "string"}, {"event_type", "string"}, {"schema_version", "int"}, {"occurred_at", "timestamp"},
		{"shape", "string"}, {"derived_id", "boolean"}, {"missing_fields", "array<string>"},
		{"kafka_topic", "string"}, {"kafka_partition", "int"}, {"kafka_offset", "bigint"},
		{"kafka_timestamp", "timestamp"}, {"ingested_at", "timestamp"},
	}
	want := map[string]map[string]string{
		lake.TableTransactions: {
			"items":        "array<struct<product_id:string,quantity:int,price:decimal(18,4),category:string>>",
			"total_amount": "decimal(18,4)", "lat": "double", "restock": "boolean", "metric_value": "double",
		},
		lake.TableAlerts:      {"reasons": "array<struct<rule:string,score:double,detail:string>>", "available": "int"},
		lake.TableDeadLetters: {"headers": "array<struct<key:string,value_base64:string>>", "source_offset": "bigint", "source_kafka_timestamp": "timestamp"},
		lake.TableUserEvents:  {"price": "decimal(18,4)", "results_count": "int"},
	}
	for _, tb := range lake.Tables() {
		cols, err := tb.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if len(cols) <= len(common) {
			t.Fatalf("%s: %d columns", tb.Name, len(cols))
		}
		for i, c := range common {
			if cols[i] != c {
				t.Errorf("%s: column %d is %v, want %v", tb.Name, i, cols[i], c)
			}
		}
		seen := map[string]bool{}
		for _, c := range cols {
			if seen[c.Name] || c.Name == lake.PartitionDate || c.Name == lake.PartitionHour {
				t.Errorf("%s: column %s repeated or a partition key", tb.Name, c.Name)
			}
			seen[c.Name] = true
			if w, ok := want[tb.Name][c.Name]; ok && c.Type != w {
				t.Errorf("%s.%s: %s, want %s", tb.Name, c.Name, c.Type, w)
			}
		}
		for name := range want[tb.Name] {
			if !seen[name] {
				t.Errorf("%s: no column %s", tb.Name, name)
			}
		}
	}
}
