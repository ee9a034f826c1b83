package platform_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/shopstream/shopstream/infra/pipeline"
	"github.com/shopstream/shopstream/infra/platform"
	"github.com/shopstream/shopstream/shared/lake"
)

var (
	template  assertions.Template
	nagErrors []string
	assetRoot string
)

// TestMain synthesizes the stack once, with the cdk-nag AwsSolutions pack
// applied, and closes the jsii runtime at the end.
func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	var err error
	if assetRoot, err = os.MkdirTemp("", "shopstream-assets-"); err != nil {
		panic(err)
	}
	for _, f := range pipeline.Functions() {
		dir := filepath.Join(assetRoot, f.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			panic(err)
		}
	}
	app := awscdk.NewApp(nil)
	st := platform.NewStack(app, "Test", &platform.StackProps{AssetRoot: assetRoot})
	template = synthWithNag(app, st, "")
	code := m.Run()
	jsii.Close()
	os.RemoveAll(assetRoot)
	os.Exit(code)
}

// synthWithNag applies the cdk-nag AwsSolutions pack to app, synthesizes
// st and records its unsuppressed findings, prefixed with variant, in
// nagErrors.
func synthWithNag(app awscdk.App, st *platform.Stack, variant string) assertions.Template {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	tpl := assertions.Template_FromStack(st.Stack, nil)
	for _, kind := range []string{"Error", "Warning"} {
		var msgs *[]*cxapi.SynthesisMessage
		match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		if kind == "Error" {
			msgs = assertions.Annotations_FromStack(st.Stack).FindError(jsii.String("*"), match)
		} else {
			msgs = assertions.Annotations_FromStack(st.Stack).FindWarning(jsii.String("*"), match)
		}
		for _, msg := range *msgs {
			nagErrors = append(nagErrors, variant+kind+" "+*msg.Id+": "+strings.SplitN(jsiiString(msg.Entry.Data), "\n", 2)[0])
		}
	}
	return tpl
}

func jsiiString(v any) string {
	if s, ok := v.(*string); ok && s != nil {
		return *s
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// TestNag: the AwsSolutions pack finds nothing unsuppressed, in the stack
// that creates its cluster and in those on an existing cluster.
func TestNag(t *testing.T) {
	// The variants on an existing cluster add their findings.
	existingTemplate(t)
	plaintextTemplate(t)
	for _, e := range nagErrors {
		t.Error(e)
	}
}

func TestKafka(t *testing.T) {
	template.ResourceCountIs(jsii.String("AWS::MSK::ServerlessCluster"), jsii.Number(1))
	template.HasResourceProperties(jsii.String("AWS::MSK::ServerlessCluster"), map[string]any{
		"ClientAuthentication": map[string]any{"Sasl": map[string]any{"Iam": map[string]any{"Enabled": true}}},
	})
	// AWS::MSK::Topic exists for MSK Provisioned only: the topics of the
	// serverless cluster are a deploy step, listed in an output.
	template.ResourceCountIs(jsii.String("AWS::MSK::Topic"), jsii.Number(0))
	template.HasOutput(jsii.String("KafkaTopics"), map[string]any{"Value": topicList()})
	template.HasOutput(jsii.String("KafkaBootstrapBrokers"), map[string]any{"Value": assertions.Match_AnyValue()})
	// Brokers admit Kafka over IAM (9098) from the functions' group and
	// from their own group, which the event source mappings' pollers use;
	// that group may reach itself on 9098 and nothing else.
	brokers := logicalID(t, template, "AWS::EC2::SecurityGroup", "MSK Serverless brokers")
	functions := logicalID(t, template, "AWS::EC2::SecurityGroup", "shopstream Lambda functions")
	for _, from := range []string{functions, brokers} {
		template.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{
			"FromPort": 9098, "ToPort": 9098, "IpProtocol": "tcp",
			"GroupId":               map[string]any{"Fn::GetAtt": []any{brokers, "GroupId"}},
			"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{from, "GroupId"}},
		})
	}
	template.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupEgress"), map[string]any{
		"FromPort": 9098, "ToPort": 9098, "IpProtocol": "tcp",
		"GroupId":                    map[string]any{"Fn::GetAtt": []any{brokers, "GroupId"}},
		"DestinationSecurityGroupId": map[string]any{"Fn::GetAtt": []any{brokers, "GroupId"}},
	})
}

// topicList is the KafkaTopics output the stack should show.
func topicList() string {
	var parts []string
	for _, t := range platform.Topics {
		parts = append(parts, fmt.Sprintf("%s:%d", t.Name, t.Partitions))
	}
	return strings.Join(parts, " ")
}

// logicalID returns the logical ID of the one resource of a type whose
// Description (or GroupDescription) starts with desc.
func logicalID(t *testing.T, tpl assertions.Template, typ, desc string) string {
	t.Helper()
	var ids []string
	for id, res := range *tpl.FindResources(jsii.String(typ), nil) {
		props, _ := (*res)["Properties"].(map[string]any)
		d, _ := props["GroupDescription"].(string)
		if d == "" {
			d, _ = props["Description"].(string)
		}
		if strings.HasPrefix(d, desc) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d resources %s described %q: %v", len(ids), typ, desc, ids)
	}
	return ids[0]
}

// TestAlertPublishers: the functions that publish alerts to SNS (fraud and
// support) get the topic's ARN and sns:Publish on that topic alone; no
// other function may publish.
func TestAlertPublishers(t *testing.T) {
	topic := logicalID(t, template, "AWS::SNS::Topic", "")
	publishers := map[string]bool{}
	for _, f := range pipeline.Functions() {
		if f.Alerts {
			publishers[f.Name] = true
		}
	}
	for _, name := range []string{"fraud", "support"} {
		if !publishers[name] {
			t.Errorf("function %s does not publish alerts", name)
		}
	}
	// Role of each function, by project name.
	roles := map[string]string{}
	for _, res := range *template.FindResources(jsii.String("AWS::Lambda::Function"), nil) {
		props := (*res)["Properties"].(map[string]any)
		env, _ := props["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		name, _ := vars["SHOPSTREAM_FUNCTION"].(string)
		if name == "" {
			continue
		}
		roles[name] = props["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		arn, has := vars["ALERTS_TOPIC_ARN"]
		if publishers[name] != has {
			t.Errorf("function %s: ALERTS_TOPIC_ARN set %v, publishes alerts %v", name, has, publishers[name])
		}
		if has && !reflect.DeepEqual(arn, map[string]any{"Ref": topic}) {
			t.Errorf("function %s: ALERTS_TOPIC_ARN %v, want the alerts topic %s", name, arn, topic)
		}
	}
	// Roles granted sns:Publish, and on what.
	granted := map[string]bool{}
	for _, res := range *template.FindResources(jsii.String("AWS::IAM::Policy"), nil) {
		props := (*res)["Properties"].(map[string]any)
		for _, stmt := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := stmt.(map[string]any)
			if !hasAction(s["Action"], "sns:Publish") {
				continue
			}
			for _, r := range props["Roles"].([]any) {
				ref, _ := r.(map[string]any)["Ref"].(string)
				granted[ref] = true
				if !reflect.DeepEqual(s["Resource"], map[string]any{"Ref": topic}) {
					t.Errorf("role %s: sns:Publish on %v, want the alerts topic only", ref, s["Resource"])
				}
			}
		}
	}
	for name, role := range roles {
		if granted[role] != publishers[name] {
			t.Errorf("function %s: sns:Publish granted %v, publishes alerts %v", name, granted[role], publishers[name])
		}
	}
}

func hasAction(v any, action string) bool {
	switch v := v.(type) {
	case string:
		return v == action
	case []any:
		for _, a := range v {
			if a == action {
				return true
			}
		}
	}
	return false
}

func TestNetwork(t *testing.T) {
	template.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(0))
	template.ResourceCountIs(jsii.String("AWS::EC2::InternetGateway"), jsii.Number(0))
	// Gateways for S3 and DynamoDB; interfaces for Secrets Manager (secret
	// rotation) and SNS (alerts).
	template.ResourceCountIs(jsii.String("AWS::EC2::VPCEndpoint"), jsii.Number(4))
	template.ResourceCountIs(jsii.String("AWS::EC2::FlowLog"), jsii.Number(1))
}

func TestLakeBucket(t *testing.T) {
	template.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
			map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
		"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true,
			"IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"LoggingConfiguration":    assertions.Match_ObjectLike(&map[string]any{"LogFilePrefix": "lake/"}),
	})
	// TLS only: a Deny on aws:SecureTransport false.
	template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			"Action": "s3:*", "Principal": map[string]any{"AWS": "*"}, "Resource": assertions.Match_AnyValue(),
		}})},
	})
}

func TestAlerts(t *testing.T) {
	template.HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{
		"KmsMasterKeyId": assertions.Match_AnyValue(),
	})
}

// TestFunctions: every function is deployed with one mapping per topic, its
// own tables (on-demand, point-in-time recovery, the keys and TTL of its
// local tables) and the brokers to produce to.
func TestFunctions(t *testing.T) {
	mappings, tables := 0, 0
	for _, f := range pipeline.Functions() {
		mappings += len(f.Topics)
		tables += len(f.Tables)
		template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Runtime": "provided.al2023", "Architectures": []any{"arm64"},
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				"SHOPSTREAM_FUNCTION": f.Name, "KAFKA_AUTH": "iam", "KAFKA_BROKERS": assertions.Match_AnyValue()})},
		})
		for _, topic := range f.Topics {
			template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
				"Topics":                              []any{topic},
				"AmazonManagedKafkaEventSourceConfig": map[string]any{"ConsumerGroupId": "shopstream-" + f.Name + "-" + topic},
			})
		}
		for _, spec := range f.Tables {
			keys := []any{map[string]any{"AttributeName": spec.PartitionKey, "KeyType": "HASH"}}
			if spec.SortKey != "" {
				keys = append(keys, map[string]any{"AttributeName": spec.SortKey, "KeyType": "RANGE"})
			}
			props := map[string]any{"KeySchema": keys, "BillingMode": "PAY_PER_REQUEST"}
			if spec.TTL != "" {
				props["TimeToLiveSpecification"] = map[string]any{"AttributeName": spec.TTL, "Enabled": true}
			}
			template.HasResourceProperties(jsii.String("AWS::DynamoDB::GlobalTable"), props)
			// The function learns the deployed name through the variable
			// its main reads.
			template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
					"SHOPSTREAM_FUNCTION": f.Name, spec.Env: assertions.Match_AnyValue()})},
			})
		}
	}
	template.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(float64(mappings)))
	template.ResourceCountIs(jsii.String("AWS::DynamoDB::GlobalTable"), jsii.Number(float64(tables)))
	template.AllResourcesProperties(jsii.String("AWS::DynamoDB::GlobalTable"), map[string]any{
		"Replicas": []any{assertions.Match_ObjectLike(&map[string]any{
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true}})},
	})
	// The recommendations read path is an IAM-authenticated function URL.
	template.HasResourceProperties(jsii.String("AWS::Lambda::Url"), map[string]any{"AuthType": "AWS_IAM"})
	// The brokers come from the cluster at deploy time.
	template.HasResourceProperties(jsii.String("Custom::AWS"), map[string]any{
		"Create": assertions.Match_AnyValue(),
	})
}

// TestDatabase: Aurora PostgreSQL Serverless v2, encrypted, with IAM
// authentication, behind an RDS Proxy that requires IAM and TLS; its secret
// rotates; the analytics function connects through the proxy and runs the
// migrations as a custom resource on deploy.
func TestDatabase(t *testing.T) {
	template.HasResourceProperties(jsii.String("AWS::RDS::DBCluster"), map[string]any{
		"Engine": "aurora-postgresql", "StorageEncrypted": true, "EnableIAMDatabaseAuthentication": true,
		"ServerlessV2ScalingConfiguration": map[string]any{"MinCapacity": 0.5, "MaxCapacity": 8},
		"Port":                             5433, "DatabaseName": "shopstream",
	})
	template.HasResourceProperties(jsii.String("AWS::RDS::DBInstance"), map[string]any{"DBInstanceClass": "db.serverless"})
	template.HasResourceProperties(jsii.String("AWS::RDS::DBProxy"), map[string]any{
		"EngineFamily": "POSTGRESQL", "RequireTLS": true,
		"Auth": []any{assertions.Match_ObjectLike(&map[string]any{"IAMAuth": "REQUIRED", "AuthScheme": "SECRETS"})},
	})
	template.ResourceCountIs(jsii.String("AWS::SecretsManager::RotationSchedule"), jsii.Number(1))
	template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
			"SHOPSTREAM_FUNCTION": "analytics", "DB_HOST": assertions.Match_AnyValue(), "DB_USER": "shopstream", "DB_PORT": "5432"})},
	})
	template.HasResourceProperties(jsii.String("Custom::ShopstreamMigrations"), map[string]any{
		"Function": "analytics", "Schema": assertions.Match_StringLikeRegexp(jsii.String("^[0-9a-f]{16}$")),
	})
	template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
		"MetricName": "ACUUtilization", "Threshold": 90,
	})
}

// TestPollersFromContext: the provisioned pollers given to the stack apply
// to every event source mapping.
func TestPollersFromContext(t *testing.T) {
	app := awscdk.NewApp(nil)
	st := platform.NewStack(app, "Pollers", &platform.StackProps{AssetRoot: assetRoot, MinPollers: 2, MaxPollers: 7})
	tpl := assertions.Template_FromStack(st.Stack, nil)
	tpl.AllResourcesProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
		"ProvisionedPollerConfig": map[string]any{"MinimumPollers": 2, "MaximumPollers": 7},
	})
}

// TestNamedQueries: the example queries `shopstream query` runs locally are
// the workgroup's named queries, word for word.
func TestNamedQueries(t *testing.T) {
	qs := lake.Queries()
	if len(qs) == 0 {
		t.Fatal("no example queries")
	}
	template.ResourceCountIs(jsii.String("AWS::Athena::NamedQuery"), jsii.Number(float64(len(qs))))
	for _, q := range qs {
		template.HasResourceProperties(jsii.String("AWS::Athena::NamedQuery"), map[string]any{
			"Name": q.Name, "QueryString": q.SQL, "Database": "shopstream",
		})
	}
}

// TestDashboard: one dashboard whose widgets show every function's offset
// lag and dead letters.
func TestDashboard(t *testing.T) {
	template.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1))
	for _, d := range *template.FindResources(jsii.String("AWS::CloudWatch::Dashboard"), nil) {
		body, err := json.Marshal((*d)["Properties"].(map[string]any)["DashboardBody"])
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"OffsetLag", "DeadLetters", "Records"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("dashboard shows no %s", want)
			}
		}
		for _, f := range pipeline.Functions() {
			if !strings.Contains(string(body), `\"Function\",\"`+f.Name+`\"`) {
				t.Errorf("dashboard has no metrics of function %s", f.Name)
			}
		}
	}
}

// TestNagRuns: the same pack flags a bucket that breaks its rules, so an
// empty finding list above means compliance, not a pack that did not run.
func TestNagRuns(t *testing.T) {
	app := awscdk.NewApp(nil)
	st := awscdk.NewStack(app, jsii.String("Bad"), nil)
	awss3.NewBucket(st, jsii.String("Open"), &awss3.BucketProps{})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	msgs := assertions.Annotations_FromStack(st).FindError(jsii.String("*"),
		assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-S1[:0]")))
	if len(*msgs) == 0 {
		t.Fatal("cdk-nag found nothing wrong with a bucket without access logs or TLS enforcement")
	}
}

// TestLocalStackVariant: the LocalStack build has no VPC and no MSK cluster.
func TestLocalStackVariant(t *testing.T) {
	app := awscdk.NewApp(nil)
	st := platform.NewStack(app, "Local", &platform.StackProps{LocalStack: true, AssetRoot: assetRoot})
	tpl := assertions.Template_FromStack(st.Stack, nil)
	tpl.ResourceCountIs(jsii.String("AWS::MSK::ServerlessCluster"), jsii.Number(0))
	tpl.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(0))
	tpl.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(1))
	// The functions carry their project names, which the event source
	// mapping emulator invokes, and produce to the compose broker.
	tpl.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(0))
	for _, f := range pipeline.Functions() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"FunctionName": f.Name,
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				"KAFKA_BROKERS": "kafka:19092", "KAFKA_AUTH": "none"})},
		})
	}
}

// TestGlueMatchesLake: every Glue table has exactly the columns, in order and
// with the types, of the Parquet files the lake function writes, and the
// partition keys of its object keys.
func TestGlueMatchesLake(t *testing.T) {
	tables := template.FindResources(jsii.String("AWS::Glue::Table"), nil)
	got := map[string]map[string]any{}
	for _, res := range *tables {
		in := (*res)["Properties"].(map[string]any)["TableInput"].(map[string]any)
		got[in["Name"].(string)] = in
	}
	want := lake.Tables()
	if len(got) != len(want) || len(want) < 6 {
		t.Fatalf("%d Glue tables, the lake writes %d", len(got), len(want))
	}
	for _, lt := range want {
		in, ok := got[lt.Name]
		if !ok {
			t.Errorf("no Glue table %s", lt.Name)
			continue
		}
		cols, err := lt.Columns()
		if err != nil {
			t.Fatal(err)
		}
		gcols := in["StorageDescriptor"].(map[string]any)["Columns"].([]any)
		if len(gcols) != len(cols) {
			t.Errorf("%s: %d Glue columns, %d in the files", lt.Name, len(gcols), len(cols))
			continue
		}
		// The file schema, read independently of Columns(): names in file order.
		fields := lt.Schema().Fields()
		for i, c := range cols {
			g := gcols[i].(map[string]any)
			if g["Name"] != c.Name || g["Type"] != c.Type || fields[i].Name() != c.Name {
				t.Errorf("%s column %d: Glue %v %v, files %s %s", lt.Name, i, g["Name"], g["Type"], fields[i].Name(), c.Type)
			}
		}
		var keys []string
		for _, k := range in["PartitionKeys"].([]any) {
			keys = append(keys, k.(map[string]any)["Name"].(string))
		}
		if strings.Join(keys, ",") != strings.Join(lake.PartitionKeys(), ",") {
			t.Errorf("%s: partition keys %v, object keys use %v", lt.Name, keys, lake.PartitionKeys())
		}
	}
}
