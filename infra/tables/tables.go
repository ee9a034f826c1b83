// Package tables builds a function's DynamoDB tables from the same
// descriptions the function creates them from locally (shared/dynamotable):
// on-demand, point-in-time recovery, TTL where the table has one, encrypted
// at rest.
package tables

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/shopstream/shopstream/shared/dynamotable"
)

// Table is one table and the spec it was built from.
type Table struct {
	Spec  dynamotable.Spec
	Table awsdynamodb.TableV2
}

// Tables are the tables of one function.
type Tables struct {
	constructs.Construct
	Tables []Table
}

// New builds one table per spec. The construct ID of each table is derived
// from its environment variable, so it never changes while the spec keeps
// its variable. With retain, tables survive the stack's deletion.
func New(scope constructs.Construct, id string, specs []dynamotable.Spec, retain bool) *Tables {
	c := constructs.NewConstruct(scope, &id)
	out := &Tables{Construct: c}
	removal := awscdk.RemovalPolicy_DESTROY
	if retain {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	for _, s := range specs {
		props := &awsdynamodb.TablePropsV2{
			PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(s.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
			Billing:      awsdynamodb.Billing_OnDemand(nil),
			PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
				PointInTimeRecoveryEnabled: jsii.Bool(true),
			},
			Encryption:         awsdynamodb.TableEncryptionV2_AwsManagedKey(),
			DeletionProtection: jsii.Bool(retain),
			RemovalPolicy:      removal,
		}
		if s.SortKey != "" {
			props.SortKey = &awsdynamodb.Attribute{Name: jsii.String(s.SortKey), Type: awsdynamodb.AttributeType_STRING}
		}
		if s.TTL != "" {
			props.TimeToLiveAttribute = jsii.String(s.TTL)
		}
		t := awsdynamodb.NewTableV2(c, jsii.String(constructID(s)), props)
		out.Tables = append(out.Tables, Table{Spec: s, Table: t})
	}
	return out
}

// Environment maps each table's environment variable to its deployed name.
func (t *Tables) Environment() map[string]*string {
	env := map[string]*string{}
	for _, tb := range t.Tables {
		env[tb.Spec.Env] = tb.Table.TableName()
	}
	return env
}

// constructID turns STOCK_TABLE into Stock.
func constructID(s dynamotable.Spec) string {
	name := s.Env
	if name == "" {
		name = s.Name
	}
	var out []byte
	upper := true
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch == '_' || ch == '-' {
			upper = true
			continue
		}
		if upper && ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		} else if !upper && ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		upper = false
		out = append(out, ch)
	}
	s2 := string(out)
	if len(s2) > 5 && s2[len(s2)-5:] == "Table" {
		s2 = s2[:len(s2)-5]
	}
	return s2
}
