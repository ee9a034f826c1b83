// Package streaming is the Kafka cluster: Amazon MSK Serverless with IAM
// authentication that the stack creates, or an existing MSK cluster
// (provisioned or serverless) given by its ARN; the security groups that let
// the functions reach it; and the bootstrap brokers they produce to.
//
// Topics: AWS::MSK::Topic works on MSK Provisioned clusters running Kafka
// 3.6.0 or later only (the MSK topic APIs do not exist for MSK Serverless),
// so the stack creates the topics only on an existing cluster the deployer
// says is such a cluster (Existing.CreateTopics); otherwise the topics are
// created with Kafka's admin tools before the functions start (README,
// "Deploying to AWS").
package streaming

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsmsk"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/shopstream/shopstream/infra/network"
)

// Topic is a Kafka topic and its partition count.
type Topic struct {
	Name       string
	Partitions int
}

// How clients authenticate to the cluster: the values of the functions'
// KAFKA_AUTH.
const (
	// AuthIAM is SASL/IAM over TLS (port 9098), MSK Serverless's only mode.
	AuthIAM = "iam"
	// AuthNone is unauthenticated plaintext (port 9092), for a provisioned
	// cluster that allows it.
	AuthNone = "none"
)

// Props configure the cluster.
type Props struct {
	Network *network.Network
	// Topics are the topics the functions use.
	Topics []Topic
	// Existing, when set, is used instead of a new MSK Serverless cluster.
	Existing *Existing
	// Retain keeps the topics the stack creates on stack deletion.
	Retain bool
}

// Existing is an MSK cluster the stack uses but does not own. It must be in
// the stack's account and region, reachable from Network (its VPC).
type Existing struct {
	// ClusterARN is the cluster's ARN (see ParseClusterARN).
	ClusterARN string
	// Auth is AuthIAM (default) or AuthNone.
	Auth string
	// ClusterSecurityGroupID, when set, is the cluster's security group:
	// the stack adds a rule admitting the functions' group on the broker
	// port.
	ClusterSecurityGroupID string
	// ClientSecurityGroupID, when set, is a group the cluster already
	// admits: the functions are placed in it too.
	ClientSecurityGroupID string
	// CreateTopics creates the topics with AWS::MSK::Topic: MSK
	// Provisioned with Kafka 3.6.0 or later only.
	CreateTopics bool
	// ReplicationFactor of the topics the stack creates; default 3.
	ReplicationFactor int
}

// Kafka is the cluster as the functions see it.
type Kafka struct {
	constructs.Construct
	// ClusterARN is the cluster's ARN: a token for the cluster the stack
	// creates, the given ARN for an existing one.
	ClusterARN *string
	// Cluster is the MSK Serverless cluster the stack creates; nil for an
	// existing cluster.
	Cluster awsmsk.CfnServerlessCluster
	// SecurityGroup is the brokers' group: the stack's own, or the
	// existing cluster's when given; nil otherwise.
	SecurityGroup awsec2.ISecurityGroup
	// ClientSecurityGroup is a further group the functions are placed in
	// (an existing cluster admits it); nil for none.
	ClientSecurityGroup awsec2.ISecurityGroup
	// Auth is how the functions authenticate (AuthIAM or AuthNone).
	Auth string
	// Port is the brokers' port for Auth.
	Port   int
	Topics []Topic
	// BootstrapBrokers is the cluster's bootstrap broker string for Auth,
	// looked up at deploy time: the functions produce alerts and dead
	// letters there.
	BootstrapBrokers *string

	// resourcePrefix returns "arn:PARTITION:kafka:REGION:ACCOUNT:KIND/NAME/UUID/".
	resourcePrefix func(kind string) *string
}

// New builds the cluster, or adopts the existing one.
func New(scope constructs.Construct, id string, p Props) *Kafka {
	c := constructs.NewConstruct(scope, &id)
	if p.Existing != nil {
		return adopt(c, p)
	}
	sg := awsec2.NewSecurityGroup(c, jsii.String("Brokers"), &awsec2.SecurityGroupProps{
		Vpc:              p.Network.Vpc,
		Description:      jsii.String("MSK Serverless brokers: IAM-authenticated Kafka from the functions and the event source mappings"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// MSK Serverless listens for IAM-authenticated clients on 9098. The
	// event source mappings' pollers connect through network interfaces
	// that carry the cluster's own security group, so the group admits
	// itself and may reach itself.
	port := awsec2.Port_Tcp(jsii.Number(9098))
	sg.AddIngressRule(p.Network.Functions, port, jsii.String("Kafka (IAM) from the functions"), nil)
	sg.AddIngressRule(sg, port, jsii.String("Kafka (IAM) from the event source mappings' pollers"), nil)
	sg.AddEgressRule(sg, port, jsii.String("the event source mappings' pollers to the brokers"), nil)
	subnets := p.Network.Vpc.SelectSubnets(network.PrivateSubnets())
	cluster := awsmsk.NewCfnServerlessCluster(c, jsii.String("Cluster"), &awsmsk.CfnServerlessClusterProps{
		ClusterName: jsii.String(fmt.Sprintf("shopstream-%s", *awscdk.Names_UniqueResourceName(c, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(30)}))),
		ClientAuthentication: &awsmsk.CfnServerlessCluster_ClientAuthenticationProperty{
			Sasl: &awsmsk.CfnServerlessCluster_SaslProperty{
				Iam: &awsmsk.CfnServerlessCluster_IamProperty{Enabled: jsii.Bool(true)},
			},
		},
		VpcConfigs: &[]*awsmsk.CfnServerlessCluster_VpcConfigProperty{{
			SubnetIds:      subnets.SubnetIds,
			SecurityGroups: &[]*string{sg.SecurityGroupId()},
		}},
	})
	arn := cluster.AttrArn()
	// arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID -> NAME/UUID
	nameUUID := awscdk.Fn_Select(jsii.Number(1), awscdk.Fn_Split(jsii.String(":cluster/"), arn, nil))
	prefix := func(kind string) *string {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":kafka:"),
			awscdk.Aws_REGION(), jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":" + kind + "/"), nameUUID, jsii.String("/")})
	}
	k := &Kafka{Construct: c, ClusterARN: arn, Cluster: cluster, SecurityGroup: sg, Auth: AuthIAM, Port: 9098,
		Topics: p.Topics, resourcePrefix: prefix}
	k.BootstrapBrokers = bootstrapBrokers(c, arn, AuthIAM)
	return k
}

// adopt uses an existing cluster: no cluster, its ARN everywhere, an
// ingress rule on its security group or the functions in a group it admits.
func adopt(c constructs.Construct, p Props) *Kafka {
	e := p.Existing
	arn, err := ParseClusterARN(e.ClusterARN)
	if err != nil {
		panic(err) // the context is validated first (platform.ExistingClusterFromContext)
	}
	auth := e.Auth
	if auth == "" {
		auth = AuthIAM
	}
	port := map[string]int{AuthIAM: 9098, AuthNone: 9092}[auth]
	if port == 0 {
		panic(fmt.Sprintf("kafka auth %q: want %q or %q", auth, AuthIAM, AuthNone))
	}
	k := &Kafka{Construct: c, ClusterARN: jsii.String(arn.String()), Auth: auth, Port: port, Topics: p.Topics,
		resourcePrefix: func(kind string) *string { return jsii.String(arn.ResourcePrefix(kind)) }}
	if e.ClusterSecurityGroupID != "" {
		k.SecurityGroup = awsec2.SecurityGroup_FromSecurityGroupId(c, jsii.String("Brokers"), jsii.String(e.ClusterSecurityGroupID),
			&awsec2.SecurityGroupImportOptions{Mutable: jsii.Bool(true), AllowAllOutbound: jsii.Bool(true)})
		k.SecurityGroup.AddIngressRule(p.Network.Functions, awsec2.Port_Tcp(jsii.Number(float64(port))),
			jsii.String(fmt.Sprintf("Kafka (%s) from the shopstream functions", auth)), nil)
	}
	if e.ClientSecurityGroupID != "" {
		k.ClientSecurityGroup = awsec2.SecurityGroup_FromSecurityGroupId(c, jsii.String("Clients"), jsii.String(e.ClientSecurityGroupID),
			&awsec2.SecurityGroupImportOptions{Mutable: jsii.Bool(false), AllowAllOutbound: jsii.Bool(true)})
	}
	if e.CreateTopics {
		rf := e.ReplicationFactor
		if rf == 0 {
			rf = 3
		}
		removal := awscdk.RemovalPolicy_DESTROY
		if p.Retain {
			removal = awscdk.RemovalPolicy_RETAIN
		}
		for _, t := range p.Topics {
			topic := awsmsk.NewCfnTopic(c, jsii.String("Topic-"+t.Name), &awsmsk.CfnTopicProps{
				ClusterArn:        k.ClusterARN,
				TopicName:         jsii.String(t.Name),
				PartitionCount:    jsii.Number(float64(t.Partitions)),
				ReplicationFactor: jsii.Number(float64(rf)),
			})
			topic.ApplyRemovalPolicy(removal, nil)
		}
	}
	// The stack must be deployed where the cluster is: an event source
	// mapping reads a cluster of its own account and region.
	awscdk.NewCfnRule(awscdk.Stack_Of(c), jsii.String("ExistingKafkaCluster"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{
			{Assert: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(arn.Region)),
				AssertDescription: jsii.String("the stack must be deployed in the Kafka cluster's region, " + arn.Region)},
			{Assert: awscdk.Fn_ConditionEquals(awscdk.Aws_ACCOUNT_ID(), jsii.String(arn.Account)),
				AssertDescription: jsii.String("the stack must be deployed in the Kafka cluster's account, " + arn.Account)},
		},
	})
	k.BootstrapBrokers = bootstrapBrokers(c, k.ClusterARN, auth)
	return k
}

// ResourceARN returns the ARN of a topic or consumer group (kind "topic" or
// "group") of the cluster, for IAM policies.
func (k *Kafka) ResourceARN(kind, name string) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{k.resourcePrefix(kind), jsii.String(name)})
}

// TopicList is the topics as "name:partitions" separated by spaces, in the
// order given.
func (k *Kafka) TopicList() string {
	var b strings.Builder
	for i, t := range k.Topics {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", t.Name, t.Partitions)
	}
	return b.String()
}

// brokerOutputs is the GetBootstrapBrokers field of each auth mode.
var brokerOutputs = map[string]string{AuthIAM: "BootstrapBrokerStringSaslIam", AuthNone: "BootstrapBrokerString"}

// bootstrapBrokers reads the cluster's bootstrap brokers with
// kafka:GetBootstrapBrokers at deploy time: CloudFormation exposes no
// attribute for them, and an existing cluster's are not known at synth.
func bootstrapBrokers(c constructs.Construct, arn *string, auth string) *string {
	field := brokerOutputs[auth]
	call := &customresources.AwsSdkCall{
		Service:            jsii.String("Kafka"),
		Action:             jsii.String("getBootstrapBrokers"),
		Parameters:         map[string]any{"ClusterArn": arn},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(arn),
		OutputPaths:        jsii.Strings(field),
	}
	cr := customresources.NewAwsCustomResource(c, jsii.String("BootstrapBrokers"), &customresources.AwsCustomResourceProps{
		OnCreate:            call,
		OnUpdate:            call,
		Policy:              customresources.AwsCustomResourcePolicy_FromSdkCalls(&customresources.SdkCallsPolicyOptions{Resources: &[]*string{arn}}),
		InstallLatestAwsSdk: jsii.Bool(false),
	})
	// The lookup runs in the provider function CDK shares across the stack;
	// its runtime and logging role are CDK's own.
	stack := awscdk.Stack_Of(c)
	provider := *stack.Node().Path() + "/" + providerID
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String(provider), &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("the AwsCustomResource provider function of CDK logs with AWSLambdaBasicExecutionRole; it only calls kafka:GetBootstrapBrokers on this cluster"),
			AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
		{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("the AwsCustomResource provider function's runtime is chosen by the CDK version in use")},
	}, jsii.Bool(true))
	return cr.GetResponseField(jsii.String(field))
}

// providerID is the construct ID CDK gives the singleton function behind
// every AwsCustomResource of a stack.
const providerID = "AWS679f53fac002430cb0da5b7982bd2287"
