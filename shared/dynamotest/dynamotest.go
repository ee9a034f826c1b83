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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shopstream/shopstream/shared/devstack"
)

var shared struct {
	mu     sync.Mutex
	done   bool // a start was tried
	server *devstack.DynamoDB
	dir    string
	err    error
}

// Main runs the tests, stops the server, and exits. A process of the
// server still alive after Stop makes the run fail.
func Main(m *testing.M) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "dynamotest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Server returns the test binary's DynamoDB Local, starting it on first
// use. It fails t when the server cannot start.
func Server(t testing.TB) *devstack.DynamoDB {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.done {
		shared.done = true
		shared.server, shared.dir, shared.err = start(t)
	}
	if shared.err != nil {
		t.Fatalf("dynamotest: DynamoDB Local did not start: %v", shared.err)
	}
	return shared.server
}

func start(t testing.TB) (*devstack.DynamoDB, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a first install included
	defer cancel()
	dir, err := os.MkdirTemp("", "dynamotest-")
	if err != nil {
		return nil, "", err
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	d, err := devstack.StartDynamoDB(ctx, devstack.DynamoDBConfig{
		Dir:    dir,
		Tools:  &devstack.Tools{Dir: os.Getenv(devstack.ToolsDirEnv), Logger: logger},
		Logger: logger,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	return d, dir, nil
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
func Stop() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.server == nil {
		return nil
	}
	pids := devstack.ProcessTree(shared.server.Process().Pid())
	err := shared.server.Stop()
	_ = os.RemoveAll(shared.dir)
	shared.server = nil
	if err != nil {
		return err
	}
	return leftovers(pids)
}

// leftovers reports processes of pids still alive a moment after a stop.
func leftovers(pids []int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var alive []int
		for _, p := range pids {
			if devstack.ProcessAlive(p) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still alive after stop", alive)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
