// Package network is the VPC the functions and the Kafka cluster live in:
// private subnets only, no NAT, and gateway endpoints for S3 and DynamoDB so
// that traffic to them stays inside AWS's network. With an existing Kafka
// cluster it is that cluster's VPC instead, imported from its ids without a
// lookup.
package network

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configure the network.
type Props struct {
	// MaxAzs is the number of availability zones; default 2. The stack stays
	// environment-agnostic, so synth needs no lookup.
	MaxAzs int
	// Existing, when set, is a VPC the stack uses instead of building one.
	Existing *Existing
}

// Existing is a VPC the stack does not own: the VPC of an existing Kafka
// cluster. The stack adds the functions' security group to it and nothing
// else: no endpoints and no flow logs, which belong to the VPC's owner. Its
// subnets must reach S3, DynamoDB, SNS and Secrets Manager (a NAT gateway or
// the VPC's own endpoints).
type Existing struct {
	VpcID string
	// SubnetIDs are the private subnets the functions (and the database)
	// are placed in.
	SubnetIDs []string
	// AvailabilityZones are the subnets' zones, in the same order (one per
	// subnet, or one per group of subnets when there are more subnets than
	// zones).
	AvailabilityZones []string
}

// Network is the VPC and what the functions need to reach from it.
type Network struct {
	constructs.Construct
	Vpc awsec2.IVpc
	// Functions is the security group of the Lambda functions; it allows
	// all egress inside the VPC and no ingress.
	Functions awsec2.SecurityGroup
	// SecretsManager and SNS are the interface endpoints the private
	// subnets reach those services through (secret rotation; alerts); nil
	// in an existing VPC.
	SecretsManager, SNS awsec2.InterfaceVpcEndpoint
}

// New builds the network.
func New(scope constructs.Construct, id string, p Props) *Network {
	c := constructs.NewConstruct(scope, &id)
	if p.Existing != nil {
		return existing(c, p.Existing)
	}
	azs := p.MaxAzs
	if azs == 0 {
		azs = 2
	}
	flowLogs := awslogs.NewLogGroup(c, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	vpc := awsec2.NewVpc(c, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(float64(azs)),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name:       jsii.String("Private"),
			SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED,
			CidrMask:   jsii.Number(20),
		}},
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"All": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_REJECT,
			},
		},
		GatewayEndpoints: &map[string]*awsec2.GatewayVpcEndpointOptions{
			"S3":       {Service: awsec2.GatewayVpcEndpointAwsService_S3()},
			"DynamoDB": {Service: awsec2.GatewayVpcEndpointAwsService_DYNAMODB()},
		},
		RestrictDefaultSecurityGroup: jsii.Bool(true),
	})
	sg := awsec2.NewSecurityGroup(c, jsii.String("Functions"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("shopstream Lambda functions: no ingress"),
		AllowAllOutbound: jsii.Bool(true),
	})
	endpoint := func(id string, svc awsec2.InterfaceVpcEndpointAwsService) awsec2.InterfaceVpcEndpoint {
		// HTTPS from the functions only; other clients (secret rotation)
		// are admitted by the constructs that add them.
		esg := awsec2.NewSecurityGroup(c, jsii.String(id+"Endpoint"), &awsec2.SecurityGroupProps{
			Vpc: vpc, Description: jsii.String(id + " interface endpoint: HTTPS from the functions"), AllowAllOutbound: jsii.Bool(false),
		})
		esg.AddIngressRule(sg, awsec2.Port_Tcp(jsii.Number(443)), jsii.String("HTTPS from the functions"), nil)
		return vpc.AddInterfaceEndpoint(jsii.String(id), &awsec2.InterfaceVpcEndpointOptions{
			Service: svc, Subnets: PrivateSubnets(), PrivateDnsEnabled: jsii.Bool(true),
			Open: jsii.Bool(false), SecurityGroups: &[]awsec2.ISecurityGroup{esg},
		})
	}
	return &Network{Construct: c, Vpc: vpc, Functions: sg,
		SecretsManager: endpoint("SecretsManager", awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()),
		SNS:            endpoint("SNS", awsec2.InterfaceVpcEndpointAwsService_SNS())}
}

// existing imports the VPC from its ids. Its subnets are imported as
// isolated ones so that PrivateSubnets selects them as it selects the
// stack's own; whether they route to a NAT gateway does not matter to the
// stack.
func existing(c constructs.Construct, e *Existing) *Network {
	vpc := awsec2.Vpc_FromVpcAttributes(c, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:             jsii.String(e.VpcID),
		AvailabilityZones: jsii.Strings(e.AvailabilityZones...),
		IsolatedSubnetIds: jsii.Strings(e.SubnetIDs...),
	})
	sg := awsec2.NewSecurityGroup(c, jsii.String("Functions"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("shopstream Lambda functions: no ingress"),
		AllowAllOutbound: jsii.Bool(true),
	})
	return &Network{Construct: c, Vpc: vpc, Functions: sg}
}

// PrivateSubnets selects the subnets functions and brokers are placed in.
func PrivateSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
}
