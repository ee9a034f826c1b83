//go:build unix

package lambdaruntime_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shopstream/shopstream/shared/lambdaruntime"
)

// bootstrap is the kafkafn test function, built once per test run.
var bootstrap string

const (
	parentEnv    = "LAMBDARUNTIME_TEST_PARENT"
	bootstrapEnv = "LAMBDARUNTIME_TEST_BOOTSTRAP"
)

func TestMain(m *testing.M) {
	if os.Getenv(parentEnv) == "1" {
		runParent()
		return
	}
	dir, err := os.MkdirTemp("", "lambdaruntime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "make a directory for the test function:", err)
		os.Exit(1)
	}
	bootstrap = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "./testdata/kafkafn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the test function (go build -tags lambda.norpc ./testdata/kafkafn): %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runParent is the test binary run as the parent of a function process, for
// the parent-death test: it starts a function whose init never ends (so that
// it never notices its Runtime API is gone), copies its output to stdout and
// waits to be killed.
func runParent() {
	fn, err := lambdaruntime.New("orphan", os.Getenv(bootstrapEnv),
		lambdaruntime.WithEnv(map[string]string{"KAFKAFN_INIT": "hang"}),
		lambdaruntime.WithInitTimeout(time.Hour),
		lambdaruntime.WithOutput(os.Stdout))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go fn.Start(context.Background())
	time.Sleep(time.Hour)
}

// output collects what the function processes write, one Write per entry.
type output struct {
	mu     sync.Mutex
	writes []string
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes = append(o.writes, string(p))
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.writes, "")
}

var pidLine = regexp.MustCompile(`(?m)^kafkafn pid=(\d+)$`)

// pids returns the pids of the function processes started so far, in order.
func (o *output) pids() []int {
	var pids []int
	for _, m := range pidLine.FindAllStringSubmatch(o.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// waitPIDs waits for the pids of n function processes to reach the output
// (a live process's lines may trail its calls to the Runtime API) and
// returns all the pids seen.
func (o *output) waitPIDs(t *testing.T, n int) []int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(o.pids()) < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return o.pids()
}

// waitFor waits up to 5 seconds for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether process pid exists and is not a zombie (a dead
// process its new parent has not reaped yet).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if os.IsNotExist(err) {
			return false
		}
		return syscall.Kill(pid, 0) == nil
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	fields := strings.Fields(string(rest))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// newFunction returns a kafkafn Function whose output the test collects; it
// is closed when the test ends.
func newFunction(t *testing.T, opts ...lambdaruntime.Option) (*lambdaruntime.Function, *output) {
	t.Helper()
	out := &output{}
	fn, err := lambdaruntime.New("kafkafn", bootstrap, append([]lambdaruntime.Option{lambdaruntime.WithOutput(out)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fn.Close()
		if t.Failed() {
			t.Logf("function output:\n%s", out)
		}
	})
	return fn, out
}

// kafkaEvent builds an MSK event source mapping payload whose records, per
// "topic-N" partition, have the given values, from offset 100 on.
func kafkaEvent(t *testing.T, values map[string][]string) []byte {
	t.Helper()
	ev := events.KafkaEvent{
		EventSource:      "aws:kafka",
		EventSourceARN:   "arn:aws:kafka:us-east-1:123456789012:cluster/shopstream/7d3c2a10-5b8e-4f61-9a2d-3e4f5a6b7c8d-s1",
		BootstrapServers: "b-1.shopstream.kafka.us-east-1.amazonaws.com:9098",
		Records:          map[string][]events.KafkaRecord{},
	}
	ts := time.Date(2026, 3, 14, 10, 7, 29, 0, time.UTC)
	for _, key := range slices.Sorted(maps.Keys(values)) {
		i := strings.LastIndexByte(key, '-')
		partition, err := strconv.ParseInt(key[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("partition key %q is not topic-N", key)
		}
		for j, v := range values[key] {
			ev.Records[key] = append(ev.Records[key], events.KafkaRecord{
				Topic:         key[:i],
				Partition:     partition,
				Offset:        int64(100 + j),
				Timestamp:     events.MilliSecondsEpochTime{Time: ts.Add(time.Duration(j) * time.Millisecond)},
				TimestampType: "CREATE_TIME",
				Key:           base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("u-%06d", j))),
				Value:         base64.StdEncoding.EncodeToString([]byte(v)),
				Headers: []map[string]events.JSONNumberBytes{
					{"content-type": events.JSONNumberBytes("application/json")},
				},
			})
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readLines returns a channel of the lines of r.
func readLines(r *bufio.Scanner) <-chan string {
	c := make(chan string)
	go func() {
		defer close(c)
		for r.Scan() {
			c <- r.Text()
		}
	}()
	return c
}
