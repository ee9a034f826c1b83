package platform_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/shopstream/shopstream/infra/pipeline"
	"github.com/shopstream/shopstream/infra/platform"
)

const (
	clusterARN   = "arn:aws:kafka:eu-west-1:123456789012:cluster/shop-events/0d6c1f7e-3f2a-4c5b-9e8d-7a6b5c4d3e2f-7"
	topicPrefix  = "arn:aws:kafka:eu-west-1:123456789012:topic/shop-events/0d6c1f7e-3f2a-4c5b-9e8d-7a6b5c4d3e2f-7/"
	groupPrefix  = "arn:aws:kafka:eu-west-1:123456789012:group/shop-events/0d6c1f7e-3f2a-4c5b-9e8d-7a6b5c4d3e2f-7/"
	existingVpc  = "vpc-0a1b2c3d4e5f60718"
	clusterGroup = "sg-0123456789abcdef0"
	clientGroup  = "sg-0fedcba9876543210"
)

var existingSubnets = []any{"subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"}

// existingContext is the context of a deploy onto an existing IAM cluster,
// as cdk.json would give it (lists as JSON arrays).
func existingContext() map[string]any {
	return map[string]any{
		platform.CtxClusterARN:             clusterARN,
		platform.CtxVpcID:                  existingVpc,
		platform.CtxSubnetIDs:              existingSubnets,
		platform.CtxAvailabilityZones:      []any{"eu-west-1a", "eu-west-1b"},
		platform.CtxClusterSecurityGroupID: clusterGroup,
		platform.CtxCreateTopics:           true,
		platform.CtxReplicationFactor:      float64(2),
	}
}

// synthExisting synthesizes the stack from ctx, read as main reads it, with
// cdk-nag; its findings join the others in TestNag.
func synthExisting(t *testing.T, id string, ctx map[string]any) assertions.Template {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	cluster, err := platform.ExistingClusterFromContext(func(name string) any { return app.Node().TryGetContext(jsii.String(name)) })
	if err != nil {
		t.Fatal(err)
	}
	if cluster == nil {
		t.Fatal("no existing cluster read from the context")
	}
	st := platform.NewStack(app, id, &platform.StackProps{AssetRoot: assetRoot, Cluster: cluster})
	return synthWithNag(app, st, id+": ")
}

var (
	existingOnce sync.Once
	existingTpl  assertions.Template
)

// existingTemplate is the stack on the existing IAM cluster of
// existingContext, synthesized once.
func existingTemplate(t *testing.T) assertions.Template {
	existingOnce.Do(func() { existingTpl = synthExisting(t, "Existing", existingContext()) })
	if existingTpl == nil {
		t.Fatal("the existing-cluster stack did not synthesize")
	}
	return existingTpl
}

// TestExistingCluster: no cluster and no VPC of the stack's own; every
// mapping reads the given cluster; the functions run in the given subnets;
// the cluster's security group admits them; the topics are created on it;
// the stack is bound to the cluster's region and account; cdk-nag finds
// nothing.
func TestExistingCluster(t *testing.T) {
	tpl := existingTemplate(t)
	for _, typ := range []string{"AWS::MSK::ServerlessCluster", "AWS::MSK::Cluster", "AWS::EC2::VPC", "AWS::EC2::Subnet",
		"AWS::EC2::VPCEndpoint", "AWS::EC2::FlowLog"} {
		tpl.ResourceCountIs(jsii.String(typ), jsii.Number(0))
	}
	mappings := 0
	for _, f := range pipeline.Functions() {
		mappings += len(f.Topics)
	}
	tpl.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(float64(mappings)))
	tpl.AllResourcesProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{"EventSourceArn": clusterARN})

	functions := logicalID(t, tpl, "AWS::EC2::SecurityGroup", "shopstream Lambda functions")
	fns := tpl.FindResources(jsii.String("AWS::Lambda::Function"), &map[string]any{
		"Properties": map[string]any{"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
			"SHOPSTREAM_FUNCTION": assertions.Match_AnyValue()})}},
	})
	if len(*fns) != len(pipeline.Functions()) {
		t.Errorf("%d functions, want %d", len(*fns), len(pipeline.Functions()))
	}
	for id, res := range *fns {
		props := (*res)["Properties"].(map[string]any)
		vpc := props["VpcConfig"].(map[string]any)
		if !equalJSON(vpc["SubnetIds"], existingSubnets) {
			t.Errorf("function %s in subnets %v, want %v", id, vpc["SubnetIds"], existingSubnets)
		}
		if !equalJSON(vpc["SecurityGroupIds"], []any{map[string]any{"Fn::GetAtt": []any{functions, "GroupId"}}}) {
			t.Errorf("function %s in groups %v, want the functions' group only", id, vpc["SecurityGroupIds"])
		}
		vars := props["Environment"].(map[string]any)["Variables"].(map[string]any)
		if vars["KAFKA_AUTH"] != "iam" || vars["KAFKA_BROKERS"] == nil {
			t.Errorf("function %s: KAFKA_AUTH %v KAFKA_BROKERS %v", id, vars["KAFKA_AUTH"], vars["KAFKA_BROKERS"])
		}
	}
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
		"GroupDescription": assertions.Match_StringLikeRegexp(jsii.String("^shopstream Lambda functions")), "VpcId": existingVpc,
	})
	// The cluster's group admits the functions' group on the IAM port.
	tpl.ResourceCountIs(jsii.String("AWS::EC2::SecurityGroupIngress"), jsii.Number(1+databaseIngressRules(t, tpl)))
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{
		"GroupId": clusterGroup, "FromPort": 9098, "ToPort": 9098, "IpProtocol": "tcp",
		"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{functions, "GroupId"}},
	})
	// The database lives in the given subnets too.
	tpl.HasResourceProperties(jsii.String("AWS::RDS::DBSubnetGroup"), map[string]any{"SubnetIds": existingSubnets})

	tpl.ResourceCountIs(jsii.String("AWS::MSK::Topic"), jsii.Number(float64(len(platform.Topics))))
	for _, topic := range platform.Topics {
		tpl.HasResourceProperties(jsii.String("AWS::MSK::Topic"), map[string]any{
			"ClusterArn": clusterARN, "TopicName": topic.Name, "PartitionCount": topic.Partitions, "ReplicationFactor": 2,
		})
	}
	tpl.HasOutput(jsii.String("KafkaTopics"), map[string]any{"Value": topicList()})

	// The bootstrap brokers are read from the given cluster: its IAM
	// listeners.
	lookup, _ := json.Marshal(tpl.FindResources(jsii.String("Custom::AWS"), nil))
	for _, want := range []string{clusterARN, "getBootstrapBrokers", "BootstrapBrokerStringSaslIam"} {
		if !strings.Contains(string(lookup), want) {
			t.Errorf("the bootstrap broker lookup does not mention %s: %s", want, lookup)
		}
	}
	// Deploying elsewhere fails before anything is created.
	rules, _ := json.Marshal(tpl.ToJSON())
	for _, want := range []string{`"Rules"`, `"eu-west-1"`, `"123456789012"`, `"AWS::Region"`, `"AWS::AccountId"`} {
		if !strings.Contains(string(rules), want) {
			t.Errorf("no rule on %s in the template", want)
		}
	}
}

// databaseIngressRules counts the ingress rules of the database's own
// security groups, which are not the cluster's business.
func databaseIngressRules(t *testing.T, tpl assertions.Template) float64 {
	n := 0
	for _, res := range *tpl.FindResources(jsii.String("AWS::EC2::SecurityGroupIngress"), nil) {
		props := (*res)["Properties"].(map[string]any)
		if props["GroupId"] != clusterGroup {
			n++
		}
	}
	return float64(n)
}

// TestExistingClusterIAM: every kafka-cluster permission names the given
// cluster, one of its topics or one of its consumer groups, spelled from the
// cluster's ARN; each function reads its own topics through its own groups.
func TestExistingClusterIAM(t *testing.T) {
	tpl := existingTemplate(t)
	actions := map[string]bool{}
	var resources []string
	for _, res := range *tpl.FindResources(jsii.String("AWS::IAM::Policy"), nil) {
		for _, stmt := range (*res)["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := stmt.(map[string]any)
			kafka := false
			for _, a := range asList(s["Action"]) {
				if strings.HasPrefix(a.(string), "kafka-cluster:") || strings.HasPrefix(a.(string), "kafka:") {
					kafka = true
					actions[a.(string)] = true
				}
			}
			if !kafka {
				continue
			}
			for _, r := range asList(s["Resource"]) {
				str, ok := r.(string)
				if !ok || !(str == clusterARN || strings.HasPrefix(str, topicPrefix) || strings.HasPrefix(str, groupPrefix)) {
					t.Errorf("Kafka permission %v on %v, outside the given cluster", s["Action"], r)
				}
				resources = append(resources, str)
			}
		}
	}
	for _, want := range []string{"kafka-cluster:Connect", "kafka-cluster:ReadData", "kafka-cluster:WriteData", "kafka-cluster:AlterGroup",
		"kafka:GetBootstrapBrokers"} {
		if !actions[want] {
			t.Errorf("no %s granted", want)
		}
	}
	have := strings.Join(resources, "\n")
	for _, want := range []string{topicPrefix + "customer_feedback", topicPrefix + "support_alerts",
		groupPrefix + "shopstream-support-customer_feedback", groupPrefix + "shopstream-fraud-transactions"} {
		if !strings.Contains(have, want) {
			t.Errorf("no permission on %s", want)
		}
	}
}

// TestExistingClusterUnauthenticated: on a cluster without IAM
// authentication the functions produce in plaintext, join a group the
// cluster admits, and get no kafka-cluster permission (IAM is not
// consulted); the topics are left to a deploy step.
func TestExistingClusterUnauthenticated(t *testing.T) {
	tpl := plaintextTemplate(t)
	tpl.ResourceCountIs(jsii.String("AWS::MSK::Topic"), jsii.Number(0))
	tpl.AllResourcesProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{"EventSourceArn": clusterARN})
	for _, f := range pipeline.Functions() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				"SHOPSTREAM_FUNCTION": f.Name, "KAFKA_AUTH": "none"})},
			"VpcConfig": map[string]any{"SubnetIds": existingSubnets,
				"SecurityGroupIds": assertions.Match_ArrayWith(&[]any{clientGroup})},
		})
	}
	policies, _ := json.Marshal(tpl.FindResources(jsii.String("AWS::IAM::Policy"), nil))
	if strings.Contains(string(policies), "kafka-cluster:") {
		t.Error("kafka-cluster permissions granted for a cluster without IAM authentication")
	}
	for _, res := range *tpl.FindResources(jsii.String("AWS::EC2::SecurityGroupIngress"), nil) {
		if g := (*res)["Properties"].(map[string]any)["GroupId"]; g == clientGroup {
			t.Errorf("the stack changed the client group %s", clientGroup)
		}
	}
	lookup, _ := json.Marshal(tpl.FindResources(jsii.String("Custom::AWS"), nil))
	if !strings.Contains(string(lookup), `BootstrapBrokerString\"`) || strings.Contains(string(lookup), "SaslIam") {
		t.Errorf("the lookup does not read the plaintext brokers: %s", lookup)
	}
}

// plaintextContext is the context of a deploy onto an unauthenticated
// cluster whose clients' group the functions join, lists as
// comma-separated strings (as -c gives them).
func plaintextContext() map[string]any {
	ctx := existingContext()
	delete(ctx, platform.CtxClusterSecurityGroupID)
	delete(ctx, platform.CtxCreateTopics)
	delete(ctx, platform.CtxReplicationFactor)
	ctx[platform.CtxClientSecurityGroupID] = clientGroup
	ctx[platform.CtxClusterAuth] = "none"
	ctx[platform.CtxSubnetIDs] = strings.Join([]string{existingSubnets[0].(string), existingSubnets[1].(string)}, ", ")
	ctx[platform.CtxAvailabilityZones] = "eu-west-1a,eu-west-1b"
	return ctx
}

var (
	plaintextOnce sync.Once
	plaintextTpl  assertions.Template
)

// plaintextTemplate is the stack on the unauthenticated cluster of
// plaintextContext, synthesized once.
func plaintextTemplate(t *testing.T) assertions.Template {
	plaintextOnce.Do(func() { plaintextTpl = synthExisting(t, "Plaintext", plaintextContext()) })
	if plaintextTpl == nil {
		t.Fatal("the unauthenticated-cluster stack did not synthesize")
	}
	return plaintextTpl
}

// TestExistingClusterContextErrors: every unusable context stops the synth
// with the reason, before any construct is built.
func TestExistingClusterContextErrors(t *testing.T) {
	with := func(change func(map[string]any)) map[string]any {
		ctx := existingContext()
		change(ctx)
		return ctx
	}
	for _, tc := range []struct {
		name string
		ctx  map[string]any
		want []string
	}{
		{"malformed ARN", with(func(c map[string]any) {
			c[platform.CtxClusterARN] = "arn:aws:kafka:eu-west-1:123456789012:topic/shop-events/x"
		}),
			[]string{platform.CtxClusterARN, "want arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID"}},
		{"ARN of another service", with(func(c map[string]any) { c[platform.CtxClusterARN] = "arn:aws:sns:eu-west-1:123456789012:cluster/a/b" }),
			[]string{platform.CtxClusterARN}},
		{"short account", with(func(c map[string]any) { c[platform.CtxClusterARN] = "arn:aws:kafka:eu-west-1:1234:cluster/a/b" }),
			[]string{platform.CtxClusterARN}},
		{"no VPC", with(func(c map[string]any) { delete(c, platform.CtxVpcID) }),
			[]string{platform.CtxClusterARN + " needs " + platform.CtxVpcID}},
		{"no subnets", with(func(c map[string]any) { delete(c, platform.CtxSubnetIDs) }),
			[]string{platform.CtxClusterARN + " needs " + platform.CtxSubnetIDs}},
		{"empty subnet list", with(func(c map[string]any) { c[platform.CtxSubnetIDs] = " , " }),
			[]string{platform.CtxClusterARN + " needs " + platform.CtxSubnetIDs}},
		{"no zones", with(func(c map[string]any) { delete(c, platform.CtxAvailabilityZones) }),
			[]string{platform.CtxClusterARN + " needs " + platform.CtxAvailabilityZones}},
		{"no security group", with(func(c map[string]any) { delete(c, platform.CtxClusterSecurityGroupID) }),
			[]string{platform.CtxClusterSecurityGroupID, platform.CtxClientSecurityGroupID}},
		{"malformed ids", with(func(c map[string]any) {
			c[platform.CtxVpcID] = "vpc-xyz"
			c[platform.CtxSubnetIDs] = []any{"subnet-0aaaaaaaaaaaaaaaa", "sub-1"}
			c[platform.CtxClusterSecurityGroupID] = "0123"
		}), []string{`"vpc-xyz"`, `"sub-1" is not a subnet id`, `"0123": want a security group id`}},
		{"repeated subnet", with(func(c map[string]any) { c[platform.CtxSubnetIDs] = []any{existingSubnets[0], existingSubnets[0]} }),
			[]string{"given twice"}},
		{"zone of another region", with(func(c map[string]any) { c[platform.CtxAvailabilityZones] = []any{"eu-west-1a", "us-east-1b"} }),
			[]string{`"us-east-1b" is not an availability zone of the cluster's region eu-west-1`}},
		{"zone id instead of name", with(func(c map[string]any) { c[platform.CtxAvailabilityZones] = "euw1-az1,euw1-az2" }),
			[]string{`"euw1-az1" is not an availability zone`}},
		{"subnets over zones", with(func(c map[string]any) { c[platform.CtxAvailabilityZones] = "eu-west-1a,eu-west-1b,eu-west-1c" }),
			[]string{"2 subnets over 3 availability zones"}},
		{"SCRAM", with(func(c map[string]any) { c[platform.CtxClusterAuth] = "scram" }),
			[]string{platform.CtxClusterAuth, "SASL/SCRAM"}},
		{"not a bool", with(func(c map[string]any) { c[platform.CtxCreateTopics] = "yes please" }),
			[]string{platform.CtxCreateTopics, "want true or false"}},
		{"replication without topics", with(func(c map[string]any) { delete(c, platform.CtxCreateTopics) }),
			[]string{platform.CtxReplicationFactor, platform.CtxCreateTopics + "=true"}},
		{"replication factor zero", with(func(c map[string]any) { c[platform.CtxReplicationFactor] = "0" }),
			[]string{platform.CtxReplicationFactor, "at least 1"}},
		{"subnets of the wrong type", with(func(c map[string]any) { c[platform.CtxSubnetIDs] = float64(3) }),
			[]string{platform.CtxSubnetIDs, "comma-separated"}},
		{"VPC without a cluster", map[string]any{platform.CtxVpcID: existingVpc, platform.CtxSubnetIDs: "subnet-0aaaaaaaaaaaaaaaa"},
			[]string{platform.CtxVpcID + " needs " + platform.CtxClusterARN, platform.CtxSubnetIDs + " needs " + platform.CtxClusterARN}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := platform.ExistingClusterFromContext(func(name string) any { return tc.ctx[name] })
			if err == nil {
				t.Fatalf("no error; read %+v", got)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	// Nothing given: the stack creates its own cluster.
	if got, err := platform.ExistingClusterFromContext(func(string) any { return nil }); got != nil || err != nil {
		t.Errorf("no context: %+v, %v", got, err)
	}
	// The full context reads back as given.
	got, err := platform.ExistingClusterFromContext(func(name string) any { return existingContext()[name] })
	if err != nil {
		t.Fatal(err)
	}
	if got.Kafka.ClusterARN != clusterARN || got.Kafka.Auth != "iam" || !got.Kafka.CreateTopics || got.Kafka.ReplicationFactor != 2 ||
		got.Kafka.ClusterSecurityGroupID != clusterGroup || got.Network.VpcID != existingVpc ||
		strings.Join(got.Network.SubnetIDs, ",") != "subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb" ||
		strings.Join(got.Network.AvailabilityZones, ",") != "eu-west-1a,eu-west-1b" {
		t.Errorf("read %+v", got)
	}
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
