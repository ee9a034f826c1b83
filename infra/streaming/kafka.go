// Package streaming is the Kafka cluster: Amazon MSK Serverless with IAM
// authentication, its topics, and the security group clients use.
package streaming

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsmsk"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

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
	return &Kafka{Construct: c, Cluster: cluster, SecurityGroup: sg, Topics: p.Topics}
}
