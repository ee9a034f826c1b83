// Package platform composes the shopstream stack from one construct per
// concern: network, Kafka, lake, alerts (and each function as it lands).
package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/shopstream/shopstream/infra/alerting"
	"github.com/shopstream/shopstream/infra/database"
	"github.com/shopstream/shopstream/infra/lakecatalog"
	"github.com/shopstream/shopstream/infra/lakestore"
	"github.com/shopstream/shopstream/infra/network"
	"github.com/shopstream/shopstream/infra/observability"
	"github.com/shopstream/shopstream/infra/pipeline"
	"github.com/shopstream/shopstream/infra/streaming"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/lake"
)

// StackProps configure the stack.
type StackProps struct {
	awscdk.StackProps
	// Retain keeps stateful resources when the stack is deleted.
	Retain bool
	// LocalStack builds the stack for LocalStack (`cdklocal deploy -c
	// shopstream:target=localstack`): no VPC and no MSK cluster, since Kafka
	// runs beside LocalStack and shopstream's event source mapping emulator
	// invokes the functions through LocalStack's Lambda Invoke API.
	LocalStack bool
	// AssetRoot holds each function's bootstrap binary in a folder named
	// after it; default bin/functions, where `make build` writes them.
	AssetRoot string
	// KafkaBrokers are the brokers the functions produce to in the
	// LocalStack variant; default kafka:19092, the compose broker's
	// listener on the compose network.
	KafkaBrokers string
	// MinPollers and MaxPollers set the provisioned pollers of every event
	// source mapping (context shopstream:minPollers, shopstream:maxPollers);
	// 0 keeps each function's own setting (default 1 and 3).
	MinPollers, MaxPollers int
	// Functions are the functions to deploy; default pipeline.Functions().
	Functions []pipeline.Function
	// Cluster, when set, is an existing MSK cluster the functions consume
	// instead of a new MSK Serverless cluster, and its VPC instead of a new
	// one (context shopstream:clusterArn and the parameters that go with it,
	// read by ExistingClusterFromContext). Not with LocalStack.
	Cluster *ExistingCluster
}

// Stack is the whole system.
type Stack struct {
	awscdk.Stack
	Network *network.Network
	Kafka   *streaming.Kafka
	Lake    *lakestore.Lake
	Catalog *lakecatalog.Catalog
	Alerts  *alerting.Alerts
	// Pipeline is the functions with their tables and mappings.
	Pipeline *pipeline.Pipeline
	// Database is the analytics database; nil when no function uses it
	// and in the LocalStack variant.
	Database      *database.Database
	Observability *observability.Observability
}

// Topics are the Kafka topics and their partition counts: the input topics
// scale with traffic; derived topics are small.
var Topics = []streaming.Topic{
	{Name: event.TopicUserEvents, Partitions: 12},
	{Name: event.TopicTransactions, Partitions: 6},
	{Name: event.TopicInventory, Partitions: 6},
	{Name: event.TopicFeedback, Partitions: 3},
	{Name: event.TopicFraudAlerts, Partitions: 3},
	{Name: event.TopicInventoryAlerts, Partitions: 3},
	{Name: event.TopicSupportAlerts, Partitions: 3},
	{Name: event.TopicDeadLetters, Partitions: 3},
}

// NewStack builds the stack.
func NewStack(scope constructs.Construct, id string, p *StackProps) *Stack {
	if p == nil {
		p = &StackProps{}
	}
	sp := p.StackProps
	st := awscdk.NewStack(scope, jsii.String(id), &sp)
	s := &Stack{Stack: st}
	if p.LocalStack && p.Cluster != nil {
		panic("platform: an existing Kafka cluster is for AWS deployments; the LocalStack variant has no MSK")
	}
	if !p.LocalStack {
		np, kp := network.Props{}, streaming.Props{Topics: Topics, Retain: p.Retain}
		if p.Cluster != nil {
			np.Existing, kp.Existing = &p.Cluster.Network, &p.Cluster.Kafka
		}
		s.Network = network.New(st, "Network", np)
		kp.Network = s.Network
		s.Kafka = streaming.New(st, "Kafka", kp)
		kafkaOutputs(st, s.Kafka, p.Cluster)
	}
	s.Lake = lakestore.New(st, "Lake", lakestore.Props{Retain: p.Retain})
	s.Catalog = lakecatalog.New(st, "Catalog", lakecatalog.Props{Bucket: s.Lake.Bucket, Tables: LakeTables(), Queries: LakeQueries()})
	s.Alerts = alerting.New(st, "Alerts")
	fns := p.Functions
	if fns == nil {
		fns = pipeline.Functions()
	}
	fns = append([]pipeline.Function(nil), fns...)
	for i := range fns {
		if p.MinPollers > 0 {
			fns[i].Mapping.MinPollers = p.MinPollers
		}
		if p.MaxPollers > 0 {
			fns[i].Mapping.MaxPollers = p.MaxPollers
		}
	}
	if !p.LocalStack && needsDatabase(fns) {
		s.Database = database.New(st, "Database", database.Props{Network: s.Network, Retain: p.Retain})
	}
	s.Pipeline = pipeline.New(st, "Functions", pipeline.Props{
		Database:  s.Database,
		Functions: fns, AssetRoot: orDefault(p.AssetRoot, "bin/functions"),
		Network: s.Network, Kafka: s.Kafka, KafkaBrokers: orDefault(p.KafkaBrokers, "kafka:19092"),
		Lake: s.Lake.Bucket, Logs: s.Lake.Logs, AlertTopic: s.Alerts.Topic, AlarmTopic: s.Alerts.Topic, Retain: p.Retain,
	})
	obs := observability.Props{Functions: map[string]awslambda.IFunction{}, AlarmTopic: s.Alerts.Topic}
	for name, c := range s.Pipeline.Consumers {
		obs.Functions[name] = c.Function
	}
	if s.Database != nil {
		obs.Database = s.Database.Cluster
	}
	s.Observability = observability.New(st, "Observability", obs)
	return s
}

// kafkaOutputs shows the bootstrap brokers and the topics the functions
// need, for the step that creates the topics when the stack does not.
func kafkaOutputs(st awscdk.Stack, k *streaming.Kafka, existing *ExistingCluster) {
	awscdk.NewCfnOutput(st, jsii.String("KafkaBootstrapBrokers"), &awscdk.CfnOutputProps{
		Value:       k.BootstrapBrokers,
		Description: jsii.String("bootstrap brokers of the Kafka cluster (" + k.Auth + " authentication)"),
	})
	what := "topics (name:partitions) the functions use; create them before the first events (README, Deploying to AWS)"
	if existing != nil && existing.Kafka.CreateTopics {
		what = "topics (name:partitions) the stack created on the existing cluster"
	}
	awscdk.NewCfnOutput(st, jsii.String("KafkaTopics"), &awscdk.CfnOutputProps{
		Value: jsii.String(k.TopicList()), Description: jsii.String(what),
	})
}

func needsDatabase(fns []pipeline.Function) bool {
	for _, f := range fns {
		if f.Database {
			return true
		}
	}
	return false
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// LakeQueries returns the lake's example queries (shared/lake), which
// `shopstream query` runs over a local lake, as the workgroup's named
// queries.
func LakeQueries() []lakecatalog.Query {
	var out []lakecatalog.Query
	for _, q := range lake.Queries() {
		out = append(out, lakecatalog.Query{Name: q.Name, Description: q.Description, SQL: q.SQL})
	}
	return out
}

// LakeTables returns the Glue definitions of the lake's tables, derived from
// the same Go row types the lake function writes (shared/lake), so the
// catalogue and the files cannot drift.
func LakeTables() []lakecatalog.Table {
	var out []lakecatalog.Table
	for _, t := range lake.Tables() {
		cols, err := t.Columns()
		if err != nil {
			panic(err) // a row type Glue cannot describe is a programming error, caught by the tests
		}
		lt := lakecatalog.Table{Name: t.Name, Comment: t.Comment}
		for _, c := range cols {
			lt.Columns = append(lt.Columns, lakecatalog.Column{Name: c.Name, Type: c.Type})
		}
		out = append(out, lt)
	}
	return out
}
