package lambdaapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/lambdaapi"
	"github.com/shopstream/shopstream/shared/lambdaruntime"
)

// bootstrap is lambdaruntime's kafkafn test function, built once per run.
var bootstrap string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdaapi-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "make a directory for the test function:", err)
		os.Exit(1)
	}
	bootstrap = filepath.Join(dir, "bootstrap")
	const pkg = "github.com/shopstream/shopstream/shared/lambdaruntime/testdata/kafkafn"
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the test function (go build -tags lambda.norpc %s): %v\n%s", pkg, err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestEndToEnd invokes a real bootstrap as Lambda would be invoked: the SDK
// Invoker calls the Server, which runs the function under lambdaruntime.
func TestEndToEnd(t *testing.T) {
	logs := &syncWriter{w: &strings.Builder{}}
	kafkafn, err := lambdaruntime.New("kafkafn", bootstrap, lambdaruntime.WithOutput(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer kafkafn.Close()
	inspect, err := lambdaruntime.New("inspect", bootstrap,
		lambdaruntime.WithEnv(map[string]string{"KAFKAFN_MODE": "inspect"}), lambdaruntime.WithOutput(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer inspect.Close()
	_, client := newServer(t, map[string]esm.Invoker{"kafkafn": kafkafn, "inspect": inspect})
	defer func() {
		if t.Failed() {
			t.Logf("function output:\n%s", logs)
		}
	}()
	ctx := context.Background()
	inv := lambdaapi.NewInvoker(client, "kafkafn")

	batch := func(values ...string) []byte {
		var recs []string
		for i, v := range values {
			recs = append(recs, fmt.Sprintf(`{"topic":"transactions","partition":2,"offset":%d,"timestamp":1773482849187,"timestampType":"CREATE_TIME","value":%q,"headers":[]}`,
				40+i, base64.StdEncoding.EncodeToString([]byte(v))))
		}
		return []byte(`{"eventSource":"aws:kafka","records":{"transactions-2":[` + strings.Join(recs, ",") + `]}}`)
	}

	got, err := inv.Invoke(ctx, batch("ok", "fail", "ok"))
	if want := `{"batchItemFailures":[{"itemIdentifier":{"partition":"transactions-2","offset":41}}]}`; err != nil || string(got) != want {
		t.Fatalf("partial batch: %s, %v; want %s", got, err, want)
	}
	for _, tc := range []struct {
		value string
		want  esm.FunctionError
	}{
		{"error", esm.FunctionError{Type: "TransientError", Message: "transient failure at transactions-2@40"}},
		{"panic", esm.FunctionError{Type: "string", Message: "poison record at transactions-2@40"}},
	} {
		_, err := inv.Invoke(ctx, batch(tc.value))
		var fe *esm.FunctionError
		if !errors.As(err, &fe) || *fe != tc.want {
			t.Errorf("%s: error %v, want %v", tc.value, err, &tc.want)
		}
	}
	_, err = inv.Invoke(ctx, batch("exit"))
	var fe *esm.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" {
		t.Errorf("exit: error %v, want a Runtime.ExitError", err)
	}

	// The client context of an Invoke reaches the function.
	out, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:  aws.String("inspect"),
		ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"custom":{"shop":"s-042"}}`))),
		Payload:       []byte(`{}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen map[string]string
	if err := json.Unmarshal(out.Payload, &seen); err != nil || seen["client_custom"] != "s-042" || seen["function_name"] != "inspect" {
		t.Fatalf("the function saw %v (%v)", seen, err)
	}
	if id, _ := middleware.GetRequestIDMetadata(out.ResultMetadata); id == "" || seen["request_id"] != id {
		t.Errorf("the function saw request ID %q, the caller got %q", seen["request_id"], id)
	}
}
