// Package streaming is the Kafka cluster: Amazon MSK Serverless with IAM
// authentication, its topics, and the security group clients use.
package streaming

import (
	"fmt"

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

// Props configure the cluster.
type Props struct {
	Network *network.Network
	// Topics are created with the cluster.
	Topics []Topic
}

// Kafka is the MSK Serverless cluster.
type Kafka struct {
	constructs.Construct
	Cluster awsmsk.CfnServerlessCluster
	// SecurityGroup admits Kafka clients from the functions' security group.
	SecurityGroup awsec2.SecurityGroup
	Topics        []Topic
	// BootstrapBrokers is the cluster's IAM bootstrap broker string
	// (host:9098,...), looked up at deploy time: the functions produce
	// alerts and dead letters there.
	BootstrapBrokers *string
}

// New builds the cluster and its topics.
func New(scope constructs.Construct, id string, p Props) *Kafka {
	c := constructs.NewConstruct(scope, &id)
	sg := awsec2.NewSecurityGroup(c, jsii.String("Brokers"), &awsec2.SecurityGroupProps{
		Vpc:              p.Network.Vpc,
		Description:      jsii.String("MSK Serverless brokers: IAM-authenticated Kafka from the functions only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// MSK Serverless listens for IAM-authenticated clients on 9098.
	sg.AddIngressRule(p.Network.Functions, awsec2.Port_Tcp(jsii.Number(9098)), jsii.String("Kafka (IAM) from the functions"), nil)
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
	for _, t := range p.Topics {
		awsmsk.NewCfnTopic(c, jsii.String("Topic-"+t.Name), &awsmsk.CfnTopicProps{
			ClusterArn:        cluster.AttrArn(),
			TopicName:         jsii.String(t.Name),
			PartitionCount:    jsii.Number(float64(t.Partitions)),
			ReplicationFactor: jsii.Number(3),
		})
	}
	return &Kafka{Construct: c, Cluster: cluster, SecurityGroup: sg, Topics: p.Topics, BootstrapBrokers: bootstrapBrokers(c, cluster)}
}

// bootstrapBrokers reads the cluster's bootstrap brokers with
// kafka:GetBootstrapBrokers at deploy time: CloudFormation exposes no
// attribute for them on a serverless cluster.
func bootstrapBrokers(c constructs.Construct, cluster awsmsk.CfnServerlessCluster) *string {
	call := &customresources.AwsSdkCall{
		Service:            jsii.String("Kafka"),
		Action:             jsii.String("getBootstrapBrokers"),
		Parameters:         map[string]any{"ClusterArn": cluster.AttrArn()},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(cluster.AttrArn()),
		OutputPaths:        jsii.Strings("BootstrapBrokerStringSaslIam"),
	}
	cr := customresources.NewAwsCustomResource(c, jsii.String("BootstrapBrokers"), &customresources.AwsCustomResourceProps{
		OnCreate:            call,
		OnUpdate:            call,
		Policy:              customresources.AwsCustomResourcePolicy_FromSdkCalls(&customresources.SdkCallsPolicyOptions{Resources: &[]*string{cluster.AttrArn()}}),
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
	return cr.GetResponseField(jsii.String("BootstrapBrokerStringSaslIam"))
}

// providerID is the construct ID CDK gives the singleton function behind
// every AwsCustomResource of a stack.
const providerID = "AWS679f53fac002430cb0da5b7982bd2287"
