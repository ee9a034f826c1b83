//go:build unix

package lambdaruntime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/lambdaruntime"
	"github.com/shopstream/shopstream/shared/lambdaruntime/testdata/kafkafn/handler"
)

// errorType is the errorType aws-lambda-go reports for err: the name of its
// type, without the pointer.
func errorType(err any) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

func functionError(t *testing.T, err error) *esm.FunctionError {
	t.Helper()
	var fe *esm.FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *esm.FunctionError", err, err)
	}
	return fe
}

// TestSameResponseAsInProcess runs the same handler as a real bootstrap under
// the local Runtime API and in process through aws-lambda-go, and expects the
// same bytes, or the same error.
func TestSameResponseAsInProcess(t *testing.T) {
	type testCase struct {
		name    string
		payload []byte
	}
	cases := []testCase{
		{"all processed", kafkaEvent(t, map[string][]string{
			"transactions-0": {"ok", "ok"}, "transactions-1": {"ok"}})},
		{"partial failures across topics", kafkaEvent(t, map[string][]string{
			"transactions-0": {"ok", "fail", "ok"}, "transactions-1": {"fail"}, "user_events-3": {"ok", "fail"}})},
		{"empty batch", kafkaEvent(t, map[string][]string{})},
		{"handler error", kafkaEvent(t, map[string][]string{"transactions-0": {"ok", "error", "fail"}})},
		{"undecodable payload", []byte(`{"records":5}`)},
		{"short sleep", kafkaEvent(t, map[string][]string{"inventory_updates-2": {"sleep:20", "fail"}})},
	}
	samples, err := filepath.Glob("../../events/payloads/*.json")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no sample payloads in events/payloads: %v", err)
	}
	for _, path := range samples {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, testCase{"sample " + filepath.Base(path), b})
	}

	fn, out := newFunction(t)
	inProcess := lambda.NewHandler(handler.Handle)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := inProcess.Invoke(context.Background(), tc.payload)
			got, err := fn.Invoke(context.Background(), tc.payload)
			if wantErr != nil {
				fe := functionError(t, err)
				if fe.Type != errorType(wantErr) || fe.Message != wantErr.Error() {
					t.Fatalf("function error %s: %q, want %s: %q", fe.Type, fe.Message, errorType(wantErr), wantErr.Error())
				}
				return
			}
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("response\n%s\nwant (in process)\n%s", got, want)
			}
		})
	}
	if pids := out.waitPIDs(t, 1); len(pids) != 1 {
		t.Errorf("function processes %v, want one warm process for every invocation", pids)
	}
}

func TestPanicIsReportedAndProcessReplaced(t *testing.T) {
	fn, out := newFunction(t)
	payload := kafkaEvent(t, map[string][]string{"transactions-4": {"ok", "panic"}})

	var recovered any
	func() {
		defer func() { recovered = recover() }()
		lambda.NewHandler(handler.Handle).Invoke(context.Background(), payload)
	}()
	if recovered == nil {
		t.Fatal("the handler did not panic in process")
	}

	_, err := fn.Invoke(context.Background(), payload)
	fe := functionError(t, err)
	if fe.Type != errorType(recovered) || fe.Message != fmt.Sprint(recovered) {
		t.Fatalf("function error %s: %q, want %s: %q", fe.Type, fe.Message, errorType(recovered), recovered)
	}

	// aws-lambda-go exits after reporting a panic: the next invocation gets
	// a new process.
	resp, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"transactions-4": {"ok"}}))
	if err != nil {
		t.Fatalf("invocation after the panic: %v", err)
	}
	if string(resp) != `{"batchItemFailures":[]}` {
		t.Fatalf("response %s", resp)
	}
	pids := out.waitPIDs(t, 2)
	if len(pids) != 2 || pids[0] == pids[1] {
		t.Fatalf("function processes %v, want the panicked one and its replacement", pids)
	}
	if alive(pids[0]) {
		t.Errorf("the panicked process %d is still running", pids[0])
	}
}

func TestCrashMidInvocationThenRecovery(t *testing.T) {
	fn, out := newFunction(t)
	_, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"transactions-0": {"ok", "spawn", "exit", "ok"}}))
	fe := functionError(t, err)
	if fe.Type != "Runtime.ExitError" || !strings.Contains(fe.Message, "exit status 3") || !strings.HasPrefix(fe.Message, "RequestId: ") {
		t.Fatalf("function error %s: %q, want Runtime.ExitError with the exit status", fe.Type, fe.Message)
	}
	// What the crashed process started goes with it.
	child := childPID(t, out)
	waitFor(t, "the crashed process's child to die", func() bool { return !alive(child) })

	resp, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"transactions-0": {"ok", "fail"}}))
	if err != nil {
		t.Fatalf("invocation after the crash: %v", err)
	}
	if want := `{"batchItemFailures":[{"itemIdentifier":{"partition":"transactions-0","offset":101}}]}`; string(resp) != want {
		t.Fatalf("response %s, want %s", resp, want)
	}
	pids := out.waitPIDs(t, 2)
	if len(pids) != 2 || alive(pids[0]) || !alive(pids[1]) {
		t.Fatalf("function processes %v: want the crashed one gone and a new one running", pids)
	}
}

var childLine = regexp.MustCompile(`kafkafn child pid=(\d+)\n`)

// childPID returns the pid of the child process the function started.
func childPID(t *testing.T, out *output) int {
	t.Helper()
	var child int
	waitFor(t, "the child's pid", func() bool {
		m := childLine.FindStringSubmatch(out.String())
		if m != nil {
			child, _ = strconv.Atoi(m[1])
		}
		return m != nil
	})
	t.Cleanup(func() {
		if alive(child) { // the test failed: do not leave the child behind
			syscall.Kill(child, syscall.SIGKILL)
		}
	})
	return child
}

func TestTimeout(t *testing.T) {
	fn, out := newFunction(t, lambdaruntime.WithTimeout(500*time.Millisecond))
	start := time.Now()
	_, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"transactions-0": {"sleep:20000"}}))
	elapsed := time.Since(start)
	fe := functionError(t, err)
	if fe.Type != "Sandbox.Timedout" || !strings.HasSuffix(fe.Message, "Task timed out after 0.50 seconds") {
		t.Fatalf("function error %s: %q", fe.Type, fe.Message)
	}
	if elapsed < 500*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("timed out after %v, want about 500ms", elapsed)
	}
	pids := out.waitPIDs(t, 1)
	if len(pids) != 1 || alive(pids[0]) {
		t.Fatalf("function processes %v: want the timed-out one killed", pids)
	}
	if _, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"transactions-0": {"ok"}})); err != nil {
		t.Fatalf("invocation after the timeout: %v", err)
	}
}

func TestInitFailure(t *testing.T) {
	payload := []byte(`{"records":{}}`)
	t.Run("exit", func(t *testing.T) {
		fn, out := newFunction(t, lambdaruntime.WithEnv(map[string]string{"KAFKAFN_INIT": "exit"}))
		err := fn.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "start function kafkafn") {
			t.Fatalf("Start: %v, want the init failure", err)
		}
		fe := functionError(t, err)
		if fe.Type != "Runtime.ExitError" || !strings.Contains(fe.Message, "exit status 2") || !strings.Contains(fe.Message, "during init") {
			t.Fatalf("function error %s: %q", fe.Type, fe.Message)
		}
		_, err = fn.Invoke(context.Background(), payload)
		if fe := functionError(t, err); fe.Type != "Runtime.ExitError" || !strings.HasPrefix(fe.Message, "RequestId: ") {
			t.Fatalf("Invoke: function error %s: %q", fe.Type, fe.Message)
		}
		if !strings.Contains(out.String(), "kafkafn: TABLE_NAME is not set\n") {
			t.Errorf("the function's stderr is missing from the output:\n%s", out)
		}
		if pids := out.waitPIDs(t, 2); len(pids) != 2 {
			t.Errorf("function processes %v, want a new try per invocation", pids)
		}
	})
	t.Run("init error posted", func(t *testing.T) {
		fn, out := newFunction(t, lambdaruntime.WithEnv(map[string]string{"KAFKAFN_INIT": "post"}))
		_, err := fn.Invoke(context.Background(), payload)
		fe := functionError(t, err)
		if fe.Type != "ConfigError" || fe.Message != "TABLE_NAME is not set" {
			t.Fatalf("function error %s: %q, want the posted document", fe.Type, fe.Message)
		}
		if !strings.Contains(out.String(), "kafkafn: init error posted: 202\n") {
			t.Errorf("the init error was not accepted with 202:\n%s", out)
		}
		pids := out.waitPIDs(t, 1)
		if len(pids) != 1 || alive(pids[0]) {
			t.Errorf("function processes %v: want the failed one gone", pids)
		}
	})
	t.Run("hang", func(t *testing.T) {
		fn, out := newFunction(t, lambdaruntime.WithEnv(map[string]string{"KAFKAFN_INIT": "hang"}),
			lambdaruntime.WithInitTimeout(300*time.Millisecond))
		_, err := fn.Invoke(context.Background(), payload)
		fe := functionError(t, err)
		if fe.Type != "Sandbox.Timedout" || !strings.Contains(fe.Message, "Init timed out after 0.30 seconds") {
			t.Fatalf("function error %s: %q", fe.Type, fe.Message)
		}
		pids := out.waitPIDs(t, 1)
		if len(pids) != 1 || alive(pids[0]) {
			t.Errorf("function processes %v: want the hung one killed", pids)
		}
	})
}

// inspect invokes an inspect-mode function and returns what it saw.
func inspect(ctx context.Context, t *testing.T, fn *lambdaruntime.Function, sleep time.Duration) map[string]string {
	t.Helper()
	resp, err := fn.Invoke(ctx, []byte(fmt.Sprintf(`{"sleep_ms":%d}`, sleep.Milliseconds())))
	if err != nil {
		t.Errorf("Invoke: %v", err)
		return nil
	}
	var seen map[string]string
	if err := json.Unmarshal(resp, &seen); err != nil {
		t.Errorf("response %s: %v", resp, err)
	}
	return seen
}

func TestConcurrency(t *testing.T) {
	const sleep = 500 * time.Millisecond
	// run makes n invocations at once and returns how long they took and
	// the pids that handled them.
	run := func(t *testing.T, fn *lambdaruntime.Function, n int) (time.Duration, []string) {
		var mu sync.Mutex
		var pids []string
		var wg sync.WaitGroup
		start := time.Now()
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				seen := inspect(context.Background(), t, fn, sleep)
				mu.Lock()
				pids = append(pids, seen["pid"])
				mu.Unlock()
			}()
		}
		wg.Wait()
		slices.Sort(pids)
		return time.Since(start), slices.Compact(pids)
	}
	inspectMode := lambdaruntime.WithEnv(map[string]string{"KAFKAFN_MODE": "inspect"})

	t.Run("two processes", func(t *testing.T) {
		fn, out := newFunction(t, inspectMode, lambdaruntime.WithConcurrency(2))
		if err := fn.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if pids := out.waitPIDs(t, 2); len(pids) != 2 {
			t.Fatalf("Start started processes %v, want 2", pids)
		}
		elapsed, pids := run(t, fn, 2)
		if len(pids) != 2 || elapsed >= 2*sleep {
			t.Fatalf("2 invocations took %v on processes %v: want them side by side on 2 processes", elapsed, pids)
		}
		elapsed, pids = run(t, fn, 4)
		if len(pids) != 2 || elapsed < 2*sleep {
			t.Fatalf("4 invocations took %v on processes %v: want two rounds on the 2 processes", elapsed, pids)
		}
	})
	t.Run("one process by default", func(t *testing.T) {
		fn, _ := newFunction(t, inspectMode)
		elapsed, pids := run(t, fn, 2)
		if len(pids) != 1 || elapsed < 2*sleep {
			t.Fatalf("2 invocations took %v on processes %v: want one after the other on one process", elapsed, pids)
		}
	})
}

var requestID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestEnvironmentAndInvocationMetadata(t *testing.T) {
	t.Setenv("LAMBDARUNTIME_TEST_SECRET", "must not leak")
	fn, _ := newFunction(t,
		lambdaruntime.WithEnv(map[string]string{
			"KAFKAFN_MODE":          "inspect",
			"AWS_ENDPOINT_URL":      "http://127.0.0.1:4566",
			"AWS_ACCESS_KEY_ID":     "local",
			"AWS_SECRET_ACCESS_KEY": "local-secret",
		}),
		lambdaruntime.WithRegion("eu-west-1"),
		lambdaruntime.WithMemorySize(512),
		lambdaruntime.WithTimeout(5*time.Second),
		lambdaruntime.WithLogFormat("JSON"),
		lambdaruntime.WithLogLevel("DEBUG"))
	trace := "Root=1-67890abc-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
	ctx := lambdaruntime.NewContext(context.Background(), lambdaruntime.Metadata{
		TraceID:         trace,
		ClientContext:   `{"client":{"app_title":"shop"},"custom":{"shop":"s-042"},"env":{}}`,
		CognitoIdentity: `{"cognitoIdentityId":"eu-west-1:1234","cognitoIdentityPoolId":"eu-west-1:pool"}`,
	})
	seen := inspect(ctx, t, fn, 0)
	taskRoot := filepath.Dir(bootstrap)
	want := map[string]string{
		"env.AWS_LAMBDA_FUNCTION_NAME":        "kafkafn",
		"env.AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"env.AWS_REGION":                      "eu-west-1",
		"env.AWS_DEFAULT_REGION":              "eu-west-1",
		"env._HANDLER":                        "bootstrap",
		"env.LAMBDA_TASK_ROOT":                taskRoot,
		"env.AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"env.AWS_LAMBDA_LOG_LEVEL":            "DEBUG",
		"env.AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/kafkafn",
		"env.TZ":                              ":UTC",
		"env.AWS_ENDPOINT_URL":                "http://127.0.0.1:4566",
		"env.AWS_ACCESS_KEY_ID":               "local",
		"env.AWS_SECRET_ACCESS_KEY":           "local-secret",
		"env._X_AMZN_TRACE_ID":                trace,
		"function_name":                       "kafkafn",
		"memory_mb":                           "512",
		"function_arn":                        "arn:aws:lambda:eu-west-1:000000000000:function:kafkafn",
		"client_custom":                       "s-042",
		"cognito_identity_id":                 "eu-west-1:1234",
		"local_zone":                          "UTC",
		"cwd":                                 taskRoot,
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("%s = %q, want %q", k, seen[k], v)
		}
	}
	if !strings.HasPrefix(seen["env.AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want a loopback address", seen["env.AWS_LAMBDA_RUNTIME_API"])
	}
	if !requestID.MatchString(seen["request_id"]) {
		t.Errorf("request id %q is not a UUID", seen["request_id"])
	}
	if d, err := strconv.Atoi(seen["deadline_in_ms"]); err != nil || d <= 0 || d > 5000 {
		t.Errorf("deadline in %q ms, want within the 5s timeout", seen["deadline_in_ms"])
	}
	if _, ok := seen["env.LAMBDARUNTIME_TEST_SECRET"]; ok {
		t.Error("the test's environment leaked into the function's")
	}

	// The request ID is the caller's when it gives one.
	if seen := inspect(esm.ContextWithRequestID(ctx, "4f3c2a10-5b8e-4f61-9a2d-3e4f5a6b7c8d"), t, fn, 0); seen["request_id"] != "4f3c2a10-5b8e-4f61-9a2d-3e4f5a6b7c8d" {
		t.Errorf("request id %q, want the caller's", seen["request_id"])
	}

	// Without metadata, each invocation gets a trace id of its own.
	a, b := inspect(context.Background(), t, fn, 0), inspect(context.Background(), t, fn, 0)
	if !strings.HasPrefix(a["env._X_AMZN_TRACE_ID"], "Root=1-") || a["env._X_AMZN_TRACE_ID"] == b["env._X_AMZN_TRACE_ID"] {
		t.Errorf("trace ids %q and %q: want a new root per invocation", a["env._X_AMZN_TRACE_ID"], b["env._X_AMZN_TRACE_ID"])
	}
	if a["request_id"] == b["request_id"] {
		t.Errorf("two invocations share request id %s", a["request_id"])
	}
}

func TestOutputIsCopiedLineByLine(t *testing.T) {
	fn, out := newFunction(t)
	if _, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"user_events-0": {"log:order o-1 accepted"}})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both lines", func() bool {
		s := out.String()
		return strings.Contains(s, "stdout: order o-1 accepted\n") && strings.Contains(s, "stderr: order o-1 accepted\n")
	})
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, w := range out.writes {
		if strings.Count(w, "\n") != 1 || !strings.HasSuffix(w, "\n") {
			t.Errorf("write %q is not one whole line", w)
		}
	}
}

func TestInvokeReturnsWhenContextEnds(t *testing.T) {
	fn, _ := newFunction(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := fn.Invoke(ctx, kafkaEvent(t, map[string][]string{"transactions-0": {"sleep:1000"}}))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 900*time.Millisecond {
		t.Fatalf("Invoke: %v after %v, want the context's error at once", err, time.Since(start))
	}
	// The invocation runs on to its end, then the process is free again.
	if _, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"transactions-0": {"ok"}})); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("second invocation done after %v: it did not wait for the first to end", elapsed)
	}
}

func TestCloseStopsEveryProcess(t *testing.T) {
	fn, out := newFunction(t, lambdaruntime.WithConcurrency(2), lambdaruntime.WithShutdownGrace(time.Second))
	if err := fn.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"transactions-0": {"spawn"}})); err != nil {
		t.Fatal(err)
	}
	child := childPID(t, out)
	pids := out.waitPIDs(t, 2)
	if len(pids) != 2 || !alive(pids[0]) || !alive(pids[1]) || !alive(child) {
		t.Fatalf("processes %v and child %d: want all running before Close", pids, child)
	}

	// An invocation in progress ends with ErrClosed.
	inflight := make(chan error, 1)
	go func() {
		_, err := fn.Invoke(context.Background(), kafkaEvent(t, map[string][]string{"transactions-0": {"sleep:10000"}}))
		inflight <- err
	}()
	time.Sleep(100 * time.Millisecond)

	if err := fn.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("function process %d still running after Close", pid)
		}
	}
	waitFor(t, "the function's child to die", func() bool { return !alive(child) })
	select {
	case err := <-inflight:
		if !errors.Is(err, lambdaruntime.ErrClosed) {
			t.Errorf("invocation in progress: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the invocation in progress did not end")
	}
	if _, err := fn.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, lambdaruntime.ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
	if err := fn.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseSendsSIGTERMFirst(t *testing.T) {
	fn, out := newFunction(t, lambdaruntime.WithEnv(map[string]string{"KAFKAFN_SIGTERM": "1"}),
		lambdaruntime.WithShutdownGrace(500*time.Millisecond))
	if err := fn.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := fn.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kafkafn: SIGTERM received, flushing\n") {
		t.Fatalf("the function's SIGTERM handler did not run:\n%s", out)
	}
	if strings.Contains(out.String(), "WARNING") {
		t.Errorf("aws-lambda-go could not register its SIGTERM extension:\n%s", out)
	}
	// aws-lambda-go keeps running after its SIGTERM handlers: SIGKILL
	// follows after the grace period.
	if elapsed := time.Since(start); elapsed < 500*time.Millisecond {
		t.Errorf("Close returned after %v, before the grace period", elapsed)
	}
	if pids := out.waitPIDs(t, 1); len(pids) != 1 || alive(pids[0]) {
		t.Errorf("function processes %v: want all gone", pids)
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	notExecutable := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, function, bootstrap string
		opts                      []lambdaruntime.Option
		want                      string
	}{
		{"bad name", "fraud detector", bootstrap, nil, "function name"},
		{"missing bootstrap", "fraud", filepath.Join(t.TempDir(), "nope"), nil, "no such file"},
		{"not executable", "fraud", notExecutable, nil, "not an executable"},
		{"reserved variable", "fraud", bootstrap, []lambdaruntime.Option{lambdaruntime.WithEnv(map[string]string{"AWS_REGION": "eu-west-1"})}, "AWS_REGION is reserved"},
		{"runtime API variable", "fraud", bootstrap, []lambdaruntime.Option{lambdaruntime.WithEnv(map[string]string{"AWS_LAMBDA_RUNTIME_API": "x"})}, "reserved"},
		{"zero timeout", "fraud", bootstrap, []lambdaruntime.Option{lambdaruntime.WithTimeout(0)}, "timeout"},
		{"no concurrency", "fraud", bootstrap, []lambdaruntime.Option{lambdaruntime.WithConcurrency(0)}, "concurrency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lambdaruntime.New(tc.function, tc.bootstrap, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestPayloadLimit(t *testing.T) {
	fn, out := newFunction(t)
	_, err := fn.Invoke(context.Background(), make([]byte, lambdaruntime.MaxPayloadSize+1))
	var fe *esm.FunctionError
	if err == nil || errors.As(err, &fe) {
		t.Fatalf("Invoke: %v, want a refusal that is not a function error", err)
	}
	if pids := out.pids(); len(pids) != 0 {
		t.Errorf("a process started for a refused payload: %v", pids)
	}
}
