package devstack

import (
	"crypto/rand"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the AWS region the local services are addressed as.
const Region = "us-east-1"

// NewCredentials returns random static AWS credentials for one run, so no
// secret is ever written in the repository.
func NewCredentials() aws.Credentials {
	return aws.Credentials{
		AccessKeyID:     "AKLOCAL" + strings.ToUpper(rand.Text()[:13]),
		SecretAccessKey: (rand.Text() + rand.Text())[:40],
		Source:          "devstack",
	}
}

// awsConfig is a hermetic aws.Config for a local endpoint: static
// credentials, us-east-1, the endpoint as base, and nothing read from the
// environment or ~/.aws.
func awsConfig(url string, creds aws.Credentials) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.StaticCredentialsProvider{Value: creds},
		BaseEndpoint: aws.String(url),
	}
}
