// Package consumer is one Lambda function behind MSK event source mappings:
// the function (provided.al2023, arm64, JSON logs), one mapping per topic
// with its batching, retry and failure settings, least-privilege Kafka
// permissions, and its alarms.
package consumer

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/shopstream/shopstream/infra/network"
	"github.com/shopstream/shopstream/infra/streaming"
)

// Mapping is the event source mapping of each topic. Zero values take the
// defaults in the field comments.
type Mapping struct {
	BatchSize         int           // default 1000 (at most 10,000)
	MaxBatchingWindow time.Duration // default 1s: larger batches, fewer writes
	// RetryAttempts bounds retries of a failed batch; default 5. Bad records
	// never fail a batch (they are dead-lettered), so retries only cover
	// transient failures.
	RetryAttempts int
	MaxRecordAge  time.Duration // default 6h
	// MinPollers and MaxPollers configure provisioned mode, under which AWS
	// documents the error-handling controls; default 1 and 3.
	MinPollers, MaxPollers int
}

// Props configure a consumer.
type Props struct {
	// Name is the function's name in the project (functions/<Name>).
	Name string
	// AssetDir holds the function's bootstrap binary, built by `make build`.
	AssetDir string
	// FunctionName names the function explicitly (LocalStack, where the
	// event source mapping emulator invokes functions by their project
	// name); "" lets CloudFormation name it.
	FunctionName string
	// Network places the function in the VPC; nil for none (LocalStack).
	Network *network.Network
	// Kafka is the cluster the mappings read; nil builds the function
	// without mappings (LocalStack, where the emulator drives it).
	Kafka *streaming.Kafka
	// Topics are consumed, one event source mapping each.
	Topics []string
	// WriteTopics are produced to (dead letters, alerts).
	WriteTopics []string
	Mapping     Mapping
	// Failures receives what the mappings give up on.
	Failures awss3.IBucket
	// Environment is passed to the function; values may be tokens.
	Environment map[string]*string
	MemoryMB    int           // default 512
	Timeout     time.Duration // default 60s
	// ReservedConcurrency caps concurrent invocations to protect a sink;
	// 0 leaves it unreserved.
	ReservedConcurrency int
	// AlarmTopic, when set, is notified by the alarms.
	AlarmTopic awssns.ITopic
	// MaxOffsetLag is the offset lag that raises an alarm; default 100,000.
	MaxOffsetLag int
}

// Consumer is the function and what belongs to it.
type Consumer struct {
	constructs.Construct
	Function awslambda.Function
	Alarms   []awscloudwatch.Alarm
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// New builds a consumer.
func New(scope constructs.Construct, id string, p Props) *Consumer {
	c := constructs.NewConstruct(scope, &id)
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	env := map[string]*string{"SHOPSTREAM_FUNCTION": jsii.String(p.Name)}
	for k, v := range p.Environment {
		env[k] = v
	}
	props := &awslambda.FunctionProps{
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(p.AssetDir), nil),
		MemorySize:            jsii.Number(float64(orDefault(p.MemoryMB, 512))),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(orDefault(p.Timeout, 60*time.Second).Seconds())),
		Environment:           &env,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		LogGroup:              logs,
	}
	if p.FunctionName != "" {
		props.FunctionName = jsii.String(p.FunctionName)
	}
	if p.Network != nil {
		props.Vpc = p.Network.Vpc
		props.VpcSubnets = network.PrivateSubnets()
		sgs := []awsec2.ISecurityGroup{p.Network.Functions}
		if p.Kafka != nil && p.Kafka.ClientSecurityGroup != nil {
			// A group an existing cluster admits.
			sgs = append(sgs, p.Kafka.ClientSecurityGroup)
		}
		props.SecurityGroups = &sgs
	}
	fn := awslambda.NewFunction(c, jsii.String("Function"), props)
	if p.ReservedConcurrency > 0 {
		fn.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(float64(p.ReservedConcurrency)))
	}
	cons := &Consumer{Construct: c, Function: fn}
	cons.alarms(p)
	if p.Kafka != nil && len(p.Topics)+len(p.WriteTopics) > 0 {
		cons.mappings(p)
	}
	// The mappings' network access to the cluster from the VPC needs the
	// managed VPC execution policy, whose EC2 network-interface actions have
	// no resource-level scope.
	cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("AWSLambdaBasicExecutionRole and AWSLambdaVPCAccessExecutionRole: the AWS-managed policies for logging and VPC network interfaces of a function in a VPC; their actions cannot be scoped further"),
			AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
				"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"}},
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("AWSLambdaMSKExecutionRole: attached by the MSK event source mapping for its pollers (cluster discovery, network interfaces in the cluster's subnets); the data-plane Kafka actions are granted separately, scoped to the cluster, the topics and the consumer groups"),
			AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole"}},
		{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("the S3 on-failure destination of the event source mappings writes one object per failed batch under keys the service chooses, in the failure bucket only"),
			AppliesTo: &[]any{"Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::s3:DeleteObject*", "Action::s3:Abort*",
				cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<.*Failures[0-9A-F]+\.Arn>\/\*$/g`)}}},
	}, jsii.Bool(true))
	return cons
}

// mappings adds one event source mapping per topic and the Kafka
// permissions they and the function need.
func (c *Consumer) mappings(p Props) {
	grantKafka(c.Function, p.Kafka, p.Name, p.Topics, p.WriteTopics)

	m := p.Mapping
	retries := orDefault(m.RetryAttempts, 5)
	for _, topic := range p.Topics {
		props := &awslambdaeventsources.ManagedKafkaEventSourceProps{
			ClusterArn:              p.Kafka.ClusterARN,
			Topic:                   jsii.String(topic),
			ConsumerGroupId:         jsii.String(GroupID(p.Name, topic)),
			StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
			BatchSize:               jsii.Number(float64(orDefault(m.BatchSize, 1000))),
			MaxBatchingWindow:       awscdk.Duration_Millis(jsii.Number(float64(orDefault(m.MaxBatchingWindow, time.Second).Milliseconds()))),
			RetryAttempts:           jsii.Number(float64(retries)),
			MaxRecordAge:            awscdk.Duration_Seconds(jsii.Number(orDefault(m.MaxRecordAge, 6*time.Hour).Seconds())),
			BisectBatchOnError:      jsii.Bool(true),
			ReportBatchItemFailures: jsii.Bool(true),
			ProvisionedPollerConfig: &awslambdaeventsources.ProvisionedPollerConfig{
				MinimumPollers: jsii.Number(float64(orDefault(m.MinPollers, 1))),
				MaximumPollers: jsii.Number(float64(orDefault(m.MaxPollers, 3))),
			},
		}
		if p.Failures != nil {
			props.OnFailure = awslambdaeventsources.NewS3OnFailureDestination(p.Failures)
		}
		c.Function.AddEventSource(awslambdaeventsources.NewManagedKafkaEventSource(props))
	}
}

// GroupID is the consumer group of a function's mapping on a topic.
func GroupID(function, topic string) string { return "shopstream-" + function + "-" + topic }

// grantKafka gives the function the Kafka data-plane actions it needs, on
// the cluster, its topics and its consumer groups only. A cluster without
// IAM authentication does not consult IAM: nothing is granted.
func grantKafka(fn awslambda.Function, k *streaming.Kafka, name string, read, write []string) {
	if k.Auth != streaming.AuthIAM {
		return
	}
	var topics, writeTopics, groups []*string
	for _, t := range read {
		topics = append(topics, k.ResourceARN("topic", t))
		groups = append(groups, k.ResourceARN("group", GroupID(name, t)))
	}
	for _, t := range write {
		writeTopics = append(writeTopics, k.ResourceARN("topic", t))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kafka-cluster:Connect", "kafka-cluster:DescribeCluster"),
		Resources: &[]*string{k.ClusterARN},
	}))
	if len(topics) > 0 {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"),
			Resources: &topics,
		}))
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"),
			Resources: &groups,
		}))
	}
	if len(writeTopics) > 0 {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"),
			Resources: &writeTopics,
		}))
	}
}

func (c *Consumer) alarms(p Props) {
	fn := c.Function
	add := func(id string, metric awscloudwatch.Metric, threshold float64, what string) {
		a := metric.CreateAlarm(c.Construct, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(3),
			DatapointsToAlarm:  jsii.Number(2),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription:   jsii.String(p.Name + ": " + what),
		})
		if p.AlarmTopic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(p.AlarmTopic))
		}
		c.Alarms = append(c.Alarms, a)
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	add("Errors", fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1,
		"the function failed batches (they are retried; bad records never fail a batch)")
	add("OffsetLag", awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String("AWS/Lambda"), MetricName: jsii.String("OffsetLag"),
		DimensionsMap: &map[string]*string{"FunctionName": fn.FunctionName()},
		Statistic:     jsii.String("Maximum"), Period: five,
	}), float64(orDefault(p.MaxOffsetLag, 100_000)), "the event source mappings fall behind the topics")
	add("DeadLetters", awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String("shopstream"), MetricName: jsii.String("DeadLetters"),
		DimensionsMap: &map[string]*string{"Function": jsii.String(p.Name)},
		Statistic:     jsii.String("Sum"), Period: five,
	}), 100, "records refused as invalid (see the dead_letters topic)")
}
