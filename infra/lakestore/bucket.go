// Package lakestore is the S3 bucket of the Parquet lake, and the bucket of
// its access logs.
package lakestore

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configure the lake.
type Props struct {
	// Retain keeps the buckets when the stack is deleted; default false for
	// development stacks, set it for production.
	Retain bool
}

// Lake is the lake bucket.
type Lake struct {
	constructs.Construct
	Bucket awss3.Bucket
	Logs   awss3.Bucket
}

// New builds the lake: encrypted, TLS only, no public access, versioned (a
// retried batch overwrites its own object), moved to cheaper storage as it
// ages; server access logs in a second bucket.
func New(scope constructs.Construct, id string, p Props) *Lake {
	c := constructs.NewConstruct(scope, &id)
	removal := awscdk.RemovalPolicy_DESTROY
	if p.Retain {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	logs := awss3.NewBucket(c, jsii.String("AccessLogs"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		RemovalPolicy:     removal,
		AutoDeleteObjects: jsii.Bool(!p.Retain),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
	})
	bucket := awss3.NewBucket(c, jsii.String("Bucket"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("lake/"),
		RemovalPolicy:          removal,
		AutoDeleteObjects:      jsii.Bool(!p.Retain),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("cheaper-storage-as-it-ages"),
			Transitions: &[]*awss3.Transition{
				{StorageClass: awss3.StorageClass_INTELLIGENT_TIERING(), TransitionAfter: awscdk.Duration_Days(jsii.Number(30))},
			},
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(7)),
		}},
	})
	return &Lake{Construct: c, Bucket: bucket, Logs: logs}
}
