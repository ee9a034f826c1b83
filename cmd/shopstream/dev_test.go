package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/cmd/shopstream/testdata/checkfn/check"
	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/lambdaapi"
)

// TestDevDrainsAndStops runs the whole local pipeline on generated traffic,
// verifies it against the ground truth, and checks that no process it
// started is left.
func TestDevDrainsAndStops(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stdout, stderr, code := runCLIContext(t, ctx, "dev", "--data-dir", filepath.Join(dir, "run"), "--events", "20000",
		"--seed", "3", "--exit-when-drained", "--verify", "--report", report)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "verify: the final state equals the ground truth") {
		t.Fatalf("no verification line:\n%s", stdout)
	}
	var rep devReport
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Events.Produced != 20000 || rep.Verified == nil || !*rep.Verified || rep.Events.Bad == 0 {
		t.Fatalf("report: %s", b)
	}
	if len(rep.Functions) != len(pipeline) {
		t.Fatalf("report has %d functions, the pipeline %d", len(rep.Functions), len(pipeline))
	}
	if kids := children(t); len(kids) > 0 {
		t.Fatalf("processes left running: %v", kids)
	}
}

// children lists the live child processes of this test binary.
func children(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := strconv.Itoa(os.Getpid())
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == self && f[0] != "Z" {
			out = append(out, e.Name()+" "+s[:i+1])
		}
	}
	return out
}

func TestDevUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"dev", "--exit-when-drained"},
		{"dev", "--kafka-addr", "0.0.0.0:9092"},
		{"dev", "--events", "-1"},
		{"dev", "extra"},
		{"dev", "--functions", "nosuch"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != 2 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and a message", args, code, stderr)
		}
	}
}

// TestDevBinary runs the pipeline with the function's real bootstrap binary
// under the local Runtime API: the same verification must hold.
func TestDevBinary(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stdout, stderr, code := runCLIContext(t, ctx, "dev", "--data-dir", filepath.Join(dir, "run"), "--events", "5000",
		"--seed", "4", "--exit-when-drained", "--verify", "--binary", "--quiet")
	if code != 0 || !strings.Contains(stdout, "equals the ground truth") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if kids := children(t); len(kids) > 0 {
		t.Fatalf("processes left running: %v", kids)
	}
}

func TestInvoke(t *testing.T) {
	for _, binary := range []bool{false, true} {
		args := []string{"invoke", "checkfn", "--event", "../../events/payloads/transactions.json",
			"--data-dir", filepath.Join(t.TempDir(), "run")}
		if binary {
			args = append(args, "--binary")
		}
		stdout, stderr, code := runCLI(t, args...)
		if code != 0 || !strings.Contains(stdout, `"batchItemFailures": []`) {
			t.Fatalf("binary=%v: exit %d\nstdout:\n%s\nstderr:\n%s", binary, code, stdout, stderr)
		}
	}
	if _, stderr, code := runCLI(t, "invoke", "nosuch", "--event", "x.json"); code != 2 || !strings.Contains(stderr, "checkfn") {
		t.Fatalf("unknown function: exit %d, %s", code, stderr)
	}
}

// TestDevLambdaEndpoint points the event source mappings at a Lambda Invoke
// API endpoint, as with LocalStack: the function behind it must see the same
// traffic and the same verification must hold.
func TestDevLambdaEndpoint(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	h, err := check.Handler(cl)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := lambdaapi.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Register(check.Name, esm.NewHandlerInvoker(h)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stdout, stderr, code := runCLIContext(t, ctx, "dev", "--data-dir", filepath.Join(t.TempDir(), "run"), "--events", "5000",
		"--seed", "5", "--exit-when-drained", "--verify", "--quiet", "--kafka-addr", addr, "--lambda-endpoint", srv.URL(),
		"--functions", check.Name)
	if code != 0 || !strings.Contains(stdout, "equals the ground truth") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
