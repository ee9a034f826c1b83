package dynamotest

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/shared/devstack"
)

func TestMain(m *testing.M) { Main(m) }

func createTable(t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPutGet(t *testing.T) {
	t.Parallel()
	c := Client(t)
	table := TableName(t, "stock")
	createTable(t, c, table)
	_, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"id": &types.AttributeValueMemberS{Value: "sku-1"}, "qty": &types.AttributeValueMemberN{Value: "7"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "sku-1"}},
		UpdateExpression:          aws.String("ADD qty :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberN{Value: "-2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "sku-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := out.Item["qty"].(*types.AttributeValueMemberN); !ok || q.Value != "5" {
		t.Errorf("qty = %v, want 5", out.Item["qty"])
	}
}

func TestTransactionConflict(t *testing.T) {
	t.Parallel()
	c := Client(t)
	table := TableName(t, "alerts")
	createTable(t, c, table)
	put := func() error {
		_, err := c.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{
			Put: &types.Put{TableName: aws.String(table), ConditionExpression: aws.String("attribute_not_exists(id)"),
				Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "a-1"}}},
		}}})
		return err
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	var canceled *types.TransactionCanceledException
	if err := put(); !errors.As(err, &canceled) {
		t.Errorf("second conditional put: %v, want TransactionCanceledException", err)
	}
}

func TestTableNamesAreUniqueAndValid(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	seen := map[string]bool{}
	for range 100 {
		n := TableName(t, "orders/with spaces")
		if !valid.MatchString(n) || seen[n] {
			t.Fatalf("TableName = %q: invalid or repeated", n)
		}
		seen[n] = true
	}
	c := Client(t)
	out, err := c.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range out.TableNames {
		if seen[name] {
			t.Errorf("table %s exists before it was created", name)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	cfg := Config(t)
	if cfg.Region != "us-east-1" {
		t.Errorf("region %q, want us-east-1", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		t.Errorf("credentials %v, %v: want static ones", creds.AccessKeyID, err)
	}
	if cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != Server(t).URL {
		t.Errorf("endpoint %v, want %s", cfg.BaseEndpoint, Server(t).URL)
	}
}

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	s := Server(t)
	addrs, err := devstack.ListenAddrs(s.Port)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) == 0 {
		t.Fatalf("nothing listens on %d", s.Port)
	}
	for _, a := range addrs {
		if !a.IsLoopback() {
			t.Errorf("DynamoDB Local listens on %s:%d", a, s.Port)
		}
	}
	if !s.Loopback {
		t.Error("DynamoDB Local runs without the loopback shim")
	}
}

// TestToolsReused checks that asking for the tools again, as a second start
// does, installs nothing.
func TestToolsReused(t *testing.T) {
	t.Parallel()
	Server(t) // installed by now
	tools := &devstack.Tools{Dir: os.Getenv(devstack.ToolsDirEnv)}
	files, err := tools.DynamoDBLocal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(files.Jar)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if _, err := tools.DynamoDBLocal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := tools.LoopbackShim(t.Context()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("finding installed tools took %s", took)
	}
	after, err := os.Stat(files.Jar)
	if err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("DynamoDBLocal.jar changed: %v -> %v (%v)", before.ModTime(), after.ModTime(), err)
	}
}

// TestFailsWithInstallHint runs a test of this binary on a machine without
// Java (an empty PATH): it must fail, not skip, and say what to install.
func TestFailsWithInstallHint(t *testing.T) {
	t.Parallel()
	out, err := runWithoutJava(t)
	if err == nil {
		t.Fatalf("test passed without Java:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestPutGet", "DynamoDB Local needs Java 17 or newer: apt-get install openjdk-17-jre-headless"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--- SKIP") {
		t.Errorf("a test was skipped:\n%s", out)
	}
}

func runWithoutJava(t *testing.T) (string, error) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPutGet$", "-test.v")
	cmd.Env = []string{"PATH=", "HOME=" + t.TempDir(), devstack.ToolsDirEnv + "=" + os.Getenv(devstack.ToolsDirEnv)}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
