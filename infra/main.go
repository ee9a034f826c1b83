// Command infra is the shopstream CDK app: `cdk synth` and `cdk deploy` run it
// (cdk.json: go run ./infra). It only builds the app; the platform package
// composes the stack.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/shopstream/shopstream/infra/platform"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	// Context: shopstream:target=localstack builds the LocalStack variant;
	// shopstream:retain=true keeps stateful resources on stack deletion.
	target, _ := app.Node().TryGetContext(jsii.String("shopstream:target")).(string)
	retain, _ := app.Node().TryGetContext(jsii.String("shopstream:retain")).(string)
	// shopstream:kafkaBrokers: the brokers the LocalStack variant's
	// functions produce to (default kafka:19092 on the compose network).
	brokers, _ := app.Node().TryGetContext(jsii.String("shopstream:kafkaBrokers")).(string)
	platform.NewStack(app, "Shopstream", &platform.StackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("shopstream: real-time e-commerce event processing on MSK, Lambda, DynamoDB, Aurora and an S3 lake"),
		},
		LocalStack:   target == "localstack",
		Retain:       retain == "true",
		KafkaBrokers: brokers,
	})
	app.Synth(nil)
}
