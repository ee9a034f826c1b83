// Package dynamotest provides DynamoDB Local to tests, as httptest provides
// HTTP servers: one server per test binary, started on first use (and
// installed into the tools directory first if needed), shared by every test
// and stopped by [Main] when the tests end. Tests isolate themselves by
// table names ([TableName]) and run in parallel.
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
//	func TestStore(t *testing.T) {
//		t.Parallel()
//		client := dynamotest.Client(t)
//		table := dynamotest.TableName(t, "orders")
//		...
//	}
//
// When the server cannot start, every test that asks for it fails with the
// reason and how to install what is missing; none is skipped. The tools
// directory is $SHOPSTREAM_TOOLS_DIR when set, else the default of
// devstack.DefaultToolsDir.
package dynamotest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/servertest"
)

var shared = &servertest.Once[*devstack.DynamoDB]{
	Name:    "dynamotest",
	What:    "DynamoDB Local",
	Timeout: 10 * time.Minute, // a first install included
	Start: func(ctx context.Context, dir string, logger *slog.Logger) (*devstack.DynamoDB, error) {
		return devstack.StartDynamoDB(ctx, devstack.DynamoDBConfig{
			Dir:    dir,
			Tools:  &devstack.Tools{Dir: os.Getenv(devstack.ToolsDirEnv), Logger: logger},
			Logger: logger,
		})
	},
}

// Main runs the tests, stops the server, and exits. A process of the
// server still alive after Stop makes the run fail.
func Main(m *testing.M) { shared.Main(m) }

// Server returns the test binary's server, starting it on first use. It
// fails t when the server cannot start.
func Server(t testing.TB) *devstack.DynamoDB {
	t.Helper()
	return shared.Get(t)
}

// Config returns an aws.Config for the server: region us-east-1, static
// credentials and the server's URL as base endpoint.
func Config(t testing.TB) aws.Config {
	t.Helper()
	return Server(t).Config()
}

// Client returns a DynamoDB client for the server.
func Client(t testing.TB) *dynamodb.Client {
	t.Helper()
	return Server(t).Client()
}

var seq atomic.Int64

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// TableName returns a table name unique to this call in the test binary:
// base, the test's name and a sequence number, such as
// "orders.TestStore-3". Tables live until the server stops.
func TableName(t testing.TB, base string) string {
	name := unsafe.ReplaceAllString(base+"."+t.Name(), "_")
	suffix := fmt.Sprintf("-%d", seq.Add(1))
	if len(name)+len(suffix) > 255 {
		name = name[:255-len(suffix)]
	}
	return strings.Trim(name, "_") + suffix
}

// Stop stops the server, if one was started, removes its folder, and
// reports a process of it still alive. Main calls it.
func Stop() error { return shared.Stop() }
