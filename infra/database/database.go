// Package database is the analytics store: Aurora PostgreSQL Serverless v2
// in the private subnets, reached by the functions through RDS Proxy with
// IAM authentication over TLS. The proxy holds the database credentials (a
// generated Secrets Manager secret, rotated every 30 days); functions never
// see a password, only a 15-minute IAM token they sign themselves.
//
// RDS Proxy rather than the Data API: the analytics function writes
// through pgx (COPY, multi-row upserts, one transaction per batch with its
// offset watermark), which the Data API cannot carry; and many concurrent
// Lambda invocations share the proxy's pooled connections instead of
// opening their own.
package database

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/shopstream/shopstream/infra/network"
)

// Name and User are the database and the role the functions connect as.
const (
	Name = "shopstream"
	User = "shopstream"
	// Port is the cluster's port (not the engine default); the proxy
	// listens on 5432.
	Port      = 5433
	ProxyPort = 5432
)

// Props configure the database.
type Props struct {
	Network *network.Network
	// MinCapacity and MaxCapacity bound the Serverless v2 capacity in ACUs;
	// default 0.5 and 8.
	MinCapacity, MaxCapacity float64
	// Retain protects the cluster from deletion and keeps a snapshot when
	// the stack is deleted.
	Retain bool
}

// Database is the cluster and its proxy.
type Database struct {
	constructs.Construct
	Cluster awsrds.DatabaseCluster
	Proxy   awsrds.DatabaseProxy
}

// New builds the database.
func New(scope constructs.Construct, id string, p Props) *Database {
	c := constructs.NewConstruct(scope, &id)
	vpc := p.Network.Vpc
	clusterSG := awsec2.NewSecurityGroup(c, jsii.String("ClusterSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: vpc, Description: jsii.String("Aurora PostgreSQL: from the proxy and the secret rotation only"), AllowAllOutbound: jsii.Bool(false),
	})
	proxySG := awsec2.NewSecurityGroup(c, jsii.String("ProxySecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: vpc, Description: jsii.String("RDS Proxy: PostgreSQL from the functions only"), AllowAllOutbound: jsii.Bool(false),
	})
	proxySG.AddIngressRule(p.Network.Functions, awsec2.Port_Tcp(jsii.Number(ProxyPort)), jsii.String("PostgreSQL from the functions"), nil)
	proxySG.AddEgressRule(clusterSG, awsec2.Port_Tcp(jsii.Number(Port)), jsii.String("to the cluster"), nil)
	clusterSG.AddIngressRule(proxySG, awsec2.Port_Tcp(jsii.Number(Port)), jsii.String("PostgreSQL from the proxy"), nil)

	removal := awscdk.RemovalPolicy_DESTROY
	if p.Retain {
		removal = awscdk.RemovalPolicy_SNAPSHOT
	}
	minACU, maxACU := p.MinCapacity, p.MaxCapacity
	if minACU == 0 {
		minACU = 0.5
	}
	if maxACU == 0 {
		maxACU = 8
	}
	cluster := awsrds.NewDatabaseCluster(c, jsii.String("Cluster"), &awsrds.DatabaseClusterProps{
		Engine: awsrds.DatabaseClusterEngine_AuroraPostgres(&awsrds.AuroraPostgresClusterEngineProps{
			Version: awsrds.AuroraPostgresEngineVersion_VER_16_6(),
		}),
		Writer:                  awsrds.ClusterInstance_ServerlessV2(jsii.String("Writer"), &awsrds.ServerlessV2ClusterInstanceProps{}),
		ServerlessV2MinCapacity: jsii.Number(minACU),
		ServerlessV2MaxCapacity: jsii.Number(maxACU),
		Vpc:                     vpc,
		VpcSubnets:              network.PrivateSubnets(),
		SecurityGroups:          &[]awsec2.ISecurityGroup{clusterSG},
		Port:                    jsii.Number(Port),
		Credentials:             awsrds.Credentials_FromGeneratedSecret(jsii.String(User), nil),
		DefaultDatabaseName:     jsii.String(Name),
		StorageEncrypted:        jsii.Bool(true),
		IamAuthentication:       jsii.Bool(true),
		DeletionProtection:      jsii.Bool(p.Retain),
		RemovalPolicy:           removal,
		Backup:                  &awsrds.BackupProps{Retention: awscdk.Duration_Days(jsii.Number(7))},
		CloudwatchLogsExports:   jsii.Strings("postgresql"),
		CloudwatchLogsRetention: awslogs.RetentionDays_ONE_MONTH,
	})
	// The rotation function runs in the private subnets and reaches
	// Secrets Manager through the VPC's interface endpoint (in an existing
	// VPC, which has none from the stack, through that VPC's own routes).
	cluster.AddRotationSingleUser(&awsrds.RotationSingleUserOptions{
		AutomaticallyAfter: awscdk.Duration_Days(jsii.Number(30)),
		Endpoint:           p.Network.SecretsManager,
		VpcSubnets:         network.PrivateSubnets(),
	})
	proxy := cluster.AddProxy(jsii.String("Proxy"), &awsrds.DatabaseProxyOptions{
		Secrets:        &[]awssecretsmanager.ISecret{cluster.Secret()},
		Vpc:            vpc,
		VpcSubnets:     network.PrivateSubnets(),
		SecurityGroups: &[]awsec2.ISecurityGroup{proxySG},
		IamAuth:        jsii.Bool(true),
		RequireTLS:     jsii.Bool(true),
	})
	suppress(c, p.Retain)
	return &Database{Construct: c, Cluster: cluster, Proxy: proxy}
}

// GrantConnect lets fn connect through the proxy as User with an IAM token
// and returns the environment the function reads (DB_HOST, DB_PORT,
// DB_NAME, DB_USER).
func (d *Database) GrantConnect(fn awslambda.Function) map[string]*string {
	d.Proxy.GrantConnect(fn, jsii.String(User))
	return map[string]*string{
		"DB_HOST": d.Proxy.Endpoint(),
		"DB_PORT": jsii.String("5432"),
		"DB_NAME": jsii.String(Name),
		"DB_USER": jsii.String(User),
	}
}

func suppress(c constructs.Construct, retain bool) {
	s := []*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-RDS14"), Reason: jsii.String("backtrack exists for Aurora MySQL only; this is Aurora PostgreSQL")},
	}
	if !retain {
		s = append(s, &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-RDS10"),
			Reason: jsii.String("deletion protection follows shopstream:retain=true (production); development stacks are deleted with their database")})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
	// The PostgreSQL log group's retention is set by CDK's shared
	// log-retention function, which needs logs actions on log groups it
	// only learns of at deploy time.
	stack := awscdk.Stack_Of(c)
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String(*stack.Node().Path()+"/"+logRetentionID), &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("CDK's log-retention function logs with AWSLambdaBasicExecutionRole"),
			AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
		{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("CDK's log-retention function sets the retention of the cluster's PostgreSQL log group, whose name RDS chooses at deploy time"),
			AppliesTo: &[]any{"Resource::*"}},
	}, jsii.Bool(true))
}

// logRetentionID is the construct ID of CDK's shared log-retention function.
const logRetentionID = "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"
