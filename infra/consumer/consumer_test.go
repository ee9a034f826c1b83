package consumer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/shopstream/shopstream/infra/consumer"
	"github.com/shopstream/shopstream/infra/network"
	"github.com/shopstream/shopstream/infra/streaming"
)

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// TestConsumer builds a consumer of two topics in a test stack and checks
// the function, its mappings, its permissions, its alarms, and cdk-nag.
func TestConsumer(t *testing.T) {
	asset := t.TempDir()
	if err := os.WriteFile(filepath.Join(asset, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(nil)
	st := awscdk.NewStack(app, jsii.String("Test"), nil)
	nw := network.New(st, "Network", network.Props{})
	k := streaming.New(st, "Kafka", streaming.Props{Network: nw, Topics: []streaming.Topic{{Name: "transactions", Partitions: 6}, {Name: "inventory_updates", Partitions: 6}}})
	failures := awss3.NewBucket(st, jsii.String("Failures"), &awss3.BucketProps{EnforceSSL: jsii.Bool(true)})
	alarms := awssns.NewTopic(st, jsii.String("Alarms"), nil)
	consumer.New(st, "Inventory", consumer.Props{
		Name: "inventory", AssetDir: asset, Network: nw, Kafka: k,
		Topics: []string{"transactions", "inventory_updates"}, WriteTopics: []string{"inventory_alerts", "dead_letters"},
		Mapping: consumer.Mapping{BatchSize: 5000, MaxBatchingWindow: 2 * time.Second}, Failures: failures,
		Environment: map[string]*string{"STOCK_TABLE": jsii.String("stock")}, ReservedConcurrency: 10, AlarmTopic: alarms,
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	tpl := assertions.Template_FromStack(st, nil)

	tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
		"LoggingConfig":                assertions.Match_ObjectLike(&map[string]any{"LogFormat": "JSON"}),
		"ReservedConcurrentExecutions": 10,
		"VpcConfig":                    assertions.Match_AnyValue(),
		"Environment":                  map[string]any{"Variables": map[string]any{"SHOPSTREAM_FUNCTION": "inventory", "STOCK_TABLE": "stock"}},
	})
	tpl.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(2))
	for _, topic := range []string{"transactions", "inventory_updates"} {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"Topics": []any{topic}, "BatchSize": 5000, "MaximumBatchingWindowInSeconds": 2,
			"StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": 5, "MaximumRecordAgeInSeconds": 21600,
			"BisectBatchOnFunctionError": true, "FunctionResponseTypes": []any{"ReportBatchItemFailures"},
			"AmazonManagedKafkaEventSourceConfig": map[string]any{"ConsumerGroupId": "shopstream-inventory-" + topic},
			"DestinationConfig":                   assertions.Match_ObjectLike(&map[string]any{"OnFailure": assertions.Match_AnyValue()}),
			"ProvisionedPollerConfig":             map[string]any{"MinimumPollers": 1, "MaximumPollers": 3},
		})
	}
	// Kafka actions are scoped to the cluster, the topics and the groups.
	policies := tpl.FindResources(jsii.String("AWS::IAM::Policy"), nil)
	var actions []string
	for _, res := range *policies {
		for _, stmt := range (*res)["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := stmt.(map[string]any)
			acts, _ := s["Action"].([]any)
			if a, ok := s["Action"].(string); ok {
				acts = []any{a}
			}
			for _, a := range acts {
				actions = append(actions, a.(string))
				if strings.HasPrefix(a.(string), "kafka-cluster:") && s["Resource"] == "*" {
					t.Errorf("%s on every resource", a)
				}
			}
		}
	}
	for _, want := range []string{"kafka-cluster:Connect", "kafka-cluster:ReadData", "kafka-cluster:AlterGroup", "kafka-cluster:WriteData"} {
		found := false
		for _, a := range actions {
			found = found || a == want
		}
		if !found {
			t.Errorf("no %s granted (have %v)", want, actions)
		}
	}
	tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(3))
	tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
		"MetricName": "OffsetLag", "Namespace": "AWS/Lambda", "AlarmActions": assertions.Match_AnyValue(),
	})

	msgs := assertions.Annotations_FromStack(st).FindError(jsii.String("/Test/Inventory/*"),
		assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, m := range *msgs {
		t.Errorf("cdk-nag: %s: %v", *m.Id, m.Entry.Data)
	}
}
