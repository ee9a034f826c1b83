// Package pipeline builds the functions: for each one its consumer (the
// Lambda function, its event source mappings, alarms), its DynamoDB tables
// and the grants on the stores it writes, from one list of definitions.
package pipeline

import (
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/shopstream/shopstream/infra/consumer"
	"github.com/shopstream/shopstream/infra/database"
	"github.com/shopstream/shopstream/infra/network"
	"github.com/shopstream/shopstream/infra/streaming"
	"github.com/shopstream/shopstream/infra/tables"
	"github.com/shopstream/shopstream/shared/dynamotable"
)

// Function defines one function of the pipeline.
type Function struct {
	// Name is the function's folder under functions/ and its asset under
	// the asset root.
	Name string
	// Topics are consumed; WriteTopics are produced to.
	Topics, WriteTopics []string
	// Tables are the function's own DynamoDB tables.
	Tables []dynamotable.Spec
	// Lake marks a function that puts objects into the lake bucket
	// (LAKE_BUCKET).
	Lake bool
	// Alerts marks a function that publishes alerts to SNS
	// (ALERTS_TOPIC_ARN).
	Alerts bool
	// ReadsTablesOf names another function whose tables this one reads
	// (a read path); their names are passed in the same variables.
	ReadsTablesOf string
	// URL gives the function a Lambda function URL (IAM-authenticated):
	// a read path rather than a consumer.
	URL bool
	// Database marks a function that connects to the analytics database
	// through RDS Proxy with IAM authentication (DB_HOST, DB_PORT,
	// DB_NAME, DB_USER).
	Database bool
	// Migrate runs the function once per deploy whose Schema changed, as
	// the handler of a CloudFormation custom resource, after the database
	// is up: the function applies its schema migrations then.
	Migrate bool
	// Schema identifies the schema the function's migrations produce (a
	// digest of them): a deploy with a new Schema runs the migrations again.
	Schema string
	// Environment is further configuration passed as is.
	Environment map[string]string
	Mapping     consumer.Mapping
	MemoryMB    int
	// Timeout bounds one invocation; default 60s.
	Timeout time.Duration
	// ReservedConcurrency caps concurrency where it protects a sink.
	ReservedConcurrency int
}

// Props configure the pipeline.
type Props struct {
	// Functions are the functions to build.
	Functions []Function
	// AssetRoot holds one folder per function with its bootstrap binary
	// (`make build` writes bin/functions/NAME/bootstrap).
	AssetRoot string
	// Network and Kafka are nil in the LocalStack variant: functions are
	// then named after the project's names, outside a VPC, without
	// mappings (the emulator invokes them), producing to KafkaBrokers.
	Network *network.Network
	Kafka   *streaming.Kafka
	// KafkaBrokers is used when Kafka is nil.
	KafkaBrokers string
	// Lake is the lake bucket; Logs receives the failure bucket's access logs.
	Lake, Logs awss3.IBucket
	// AlertTopic receives the functions' alerts; AlarmTopic the alarms.
	AlertTopic, AlarmTopic awssns.ITopic
	// Database is the analytics database; required when a function has
	// Database set and the stack is not the LocalStack variant.
	Database *database.Database
	// Retain keeps the tables and the failure records on stack deletion.
	Retain bool
}

// Pipeline is the built functions.
type Pipeline struct {
	constructs.Construct
	Consumers map[string]*consumer.Consumer
	Tables    map[string]*tables.Tables
	// URLs are the function URLs of the read paths, by function name.
	URLs map[string]awslambda.FunctionUrl
	// Failures holds what the event source mappings give up on.
	Failures awss3.Bucket
}

// New builds every function of p.Functions.
func New(scope constructs.Construct, id string, p Props) *Pipeline {
	c := constructs.NewConstruct(scope, &id)
	removal := awscdk.RemovalPolicy_DESTROY
	if p.Retain {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	failures := awss3.NewBucket(c, jsii.String("Failures"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ServerAccessLogsBucket: p.Logs,
		ServerAccessLogsPrefix: jsii.String("failures/"),
		RemovalPolicy:          removal,
		AutoDeleteObjects:      jsii.Bool(!p.Retain),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
	})
	pl := &Pipeline{Construct: c, Consumers: map[string]*consumer.Consumer{}, Tables: map[string]*tables.Tables{},
		URLs: map[string]awslambda.FunctionUrl{}, Failures: failures}
	for _, f := range p.Functions {
		pl.add(f, p)
	}
	return pl
}

func (pl *Pipeline) add(f Function, p Props) {
	id := exportName(f.Name)
	env := map[string]*string{}
	if p.Kafka != nil {
		env["KAFKA_AUTH"] = jsii.String(p.Kafka.Auth)
		env["KAFKA_BROKERS"] = p.Kafka.BootstrapBrokers
	} else {
		env["KAFKA_AUTH"] = jsii.String("none")
		env["KAFKA_BROKERS"] = jsii.String(p.KafkaBrokers)
	}
	var tbs *tables.Tables
	if len(f.Tables) > 0 {
		tbs = tables.New(pl.Construct, id+"Tables", f.Tables, p.Retain)
		pl.Tables[f.Name] = tbs
		for k, v := range tbs.Environment() {
			env[k] = v
		}
	}
	if f.Lake {
		env["LAKE_BUCKET"] = p.Lake.BucketName()
	}
	if f.Alerts && p.AlertTopic != nil {
		env["ALERTS_TOPIC_ARN"] = p.AlertTopic.TopicArn()
	}
	keys := make([]string, 0, len(f.Environment))
	for k := range f.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env[k] = jsii.String(f.Environment[k])
	}
	props := consumer.Props{
		Name: f.Name, AssetDir: filepath.Join(p.AssetRoot, f.Name),
		Network: p.Network, Kafka: p.Kafka, Topics: f.Topics, WriteTopics: f.WriteTopics,
		Mapping: f.Mapping, Failures: pl.Failures, Environment: env, MemoryMB: f.MemoryMB, Timeout: f.Timeout,
		ReservedConcurrency: f.ReservedConcurrency, AlarmTopic: p.AlarmTopic,
	}
	if p.Kafka == nil {
		props.FunctionName = f.Name
	}
	cons := consumer.New(pl.Construct, id, props)
	pl.Consumers[f.Name] = cons
	if f.ReadsTablesOf != "" {
		owner, ok := pl.Tables[f.ReadsTablesOf]
		if !ok {
			panic(fmt.Sprintf("function %s reads the tables of %s, which is not defined before it", f.Name, f.ReadsTablesOf))
		}
		for _, t := range owner.Tables {
			cons.Function.AddEnvironment(jsii.String(t.Spec.Env), t.Table.TableName(), nil)
			t.Table.GrantReadData(cons.Function)
		}
	}
	if f.URL {
		pl.URLs[f.Name] = cons.Function.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_AWS_IAM})
	}
	if f.Database && p.Database != nil {
		for k, v := range p.Database.GrantConnect(cons.Function) {
			cons.Function.AddEnvironment(jsii.String(k), v, nil)
		}
	}
	if f.Migrate && p.Database != nil {
		pl.migrate(id, f, cons, p.Database)
	}
	if tbs != nil {
		for _, t := range tbs.Tables {
			t.Table.GrantReadWriteData(cons.Function)
		}
	}
	if f.Lake {
		// The lake function only puts objects, under keys derived from
		// each batch; nothing else of the bucket.
		cons.Function.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject", "s3:AbortMultipartUpload"),
			Resources: &[]*string{p.Lake.ArnForObjects(jsii.String("*"))},
		}))
		cdknag.NagSuppressions_AddResourceSuppressions(cons.Function, &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("the lake function writes objects whose keys (table, date, hour, topic, partition, offsets) are only known per batch: s3:PutObject on the lake bucket's objects"),
			AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<.*Lake.*Bucket[0-9A-F]+\.Arn>\/\*$/g`)}},
		}}, jsii.Bool(true))
	}
	if f.Alerts && p.AlertTopic != nil {
		p.AlertTopic.GrantPublish(cons.Function)
	}
}

// migrate invokes the function as the handler of a custom resource on every
// deploy that changes its schema, once the database and its proxy exist.
func (pl *Pipeline) migrate(id string, f Function, cons *consumer.Consumer, db *database.Database) {
	provider := customresources.NewProvider(pl.Construct, jsii.String(id+"MigrationProvider"), &customresources.ProviderProps{
		OnEventHandler: cons.Function,
		LogGroup: awslogs.NewLogGroup(pl.Construct, jsii.String(id+"MigrationProviderLogs"), &awslogs.LogGroupProps{
			Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		}),
	})
	cr := awscdk.NewCustomResource(pl.Construct, jsii.String(id+"Migrations"), &awscdk.CustomResourceProps{
		ServiceToken: provider.ServiceToken(),
		ResourceType: jsii.String("Custom::ShopstreamMigrations"),
		Properties:   &map[string]any{"Function": f.Name, "Schema": f.Schema},
	})
	cr.Node().AddDependency(db.Construct)
	cdknag.NagSuppressions_AddResourceSuppressions(provider, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("the custom resource provider framework function of CDK logs with AWSLambdaBasicExecutionRole"),
			AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
		{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("the provider framework may invoke any version of the one migrating function (lambda:InvokeFunction on its ARN and ARN:*)"),
			AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<.*Function[0-9A-F]+\.Arn>:\*$/g`)}}},
		{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("the provider framework function's runtime is chosen by the CDK version in use")},
	}, jsii.Bool(true))
}

// exportName turns "recommendations" into "Recommendations".
func exportName(name string) string {
	if name == "" {
		return name
	}
	b := []byte(name)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}
