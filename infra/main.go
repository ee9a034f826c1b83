// Command infra is the shopstream CDK app: `cdk synth` and `cdk deploy` run it
// (cdk.json: go run ./infra). It only builds the app; the platform package
// composes the stack.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

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
	// shopstream:minPollers and shopstream:maxPollers: provisioned pollers
	// of every event source mapping (defaults 1 and 3).
	minPollers, err1 := intContext(app, "shopstream:minPollers")
	maxPollers, err2 := intContext(app, "shopstream:maxPollers")
	// shopstream:clusterArn and the parameters that go with it: an
	// existing MSK cluster and its VPC (README, Deploying to AWS).
	cluster, err3 := platform.ExistingClusterFromContext(func(name string) any {
		return app.Node().TryGetContext(jsii.String(name))
	})
	var err4 error
	if cluster != nil && target == "localstack" {
		err4 = errors.New("context shopstream:clusterArn is for AWS deployments: the LocalStack variant has no MSK")
	}
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(2)
	}
	platform.NewStack(app, "Shopstream", &platform.StackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("shopstream: real-time e-commerce event processing on MSK, Lambda, DynamoDB, Aurora and an S3 lake"),
		},
		LocalStack:   target == "localstack",
		Retain:       retain == "true",
		KafkaBrokers: brokers,
		MinPollers:   minPollers,
		MaxPollers:   maxPollers,
		Cluster:      cluster,
	})
	app.Synth(nil)
}

// intContext reads a whole-number context value given with -c NAME=N (a
// string) or in cdk.json (a number); absent means 0. Anything else stops
// the synth with the reason.
func intContext(app awscdk.App, name string) (int, error) {
	v := app.Node().TryGetContext(jsii.String(name))
	switch v := v.(type) {
	case nil:
		return 0, nil
	case float64:
		if v >= 1 && v == float64(int(v)) {
			return int(v), nil
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("context %s is %v: want a whole number of at least 1", name, v)
}
