package lambdaapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/lambdaapi"
	"github.com/shopstream/shopstream/shared/lambdaruntime"
)

// invokerFunc is an esm.Invoker of our own for the server to serve.
type invokerFunc func(ctx context.Context, payload []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// newServer starts a Server with functions registered, closed at the end of
// the test, and returns an SDK client of it.
func newServer(t *testing.T, functions map[string]esm.Invoker) (*lambdaapi.Server, *lambda.Client) {
	t.Helper()
	srv, err := lambdaapi.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for name, inv := range functions {
		if err := srv.Register(name, inv); err != nil {
			t.Fatal(err)
		}
	}
	return srv, newClient(srv)
}

// newClient is an SDK Lambda client of srv, configured as for any endpoint.
func newClient(srv *lambdaapi.Server, opts ...func(*lambda.Options)) *lambda.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local-secret", ""),
	}
	return lambda.NewFromConfig(cfg, append([]func(*lambda.Options){func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(srv.URL())
	}}, opts...)...)
}

// echo answers with the payload it got, wrapped.
var echo = invokerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
	return append(append([]byte(`{"got":`), payload...), '}'), nil
})

func TestInvokerThroughServer(t *testing.T) {
	var calls atomic.Int32
	_, client := newServer(t, map[string]esm.Invoker{
		"fraud": invokerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
			calls.Add(1)
			return echo(ctx, payload)
		}),
		"inventory": invokerFunc(func(context.Context, []byte) ([]byte, error) {
			return nil, &esm.FunctionError{Type: "TransientError", Message: "stock table unreachable"}
		}),
		"lake": invokerFunc(func(context.Context, []byte) ([]byte, error) {
			return []byte(`{"batchItemFailures":[{"itemIdentifier":{"partition":"transactions-0","offset":7}}]}`), nil
		}),
	})
	payload := []byte(`{"eventSource":"aws:kafka","records":{"transactions-0":[]}}`)

	t.Run("response", func(t *testing.T) {
		got, err := lambdaapi.NewInvoker(client, "fraud").Invoke(context.Background(), payload)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"got":` + string(payload) + `}`; string(got) != want {
			t.Fatalf("response %s, want %s", got, want)
		}
	})
	t.Run("partial batch response", func(t *testing.T) {
		got, err := lambdaapi.NewInvoker(client, "lake").Invoke(context.Background(), payload)
		if err != nil || string(got) != `{"batchItemFailures":[{"itemIdentifier":{"partition":"transactions-0","offset":7}}]}` {
			t.Fatalf("response %s, error %v", got, err)
		}
	})
	t.Run("function error", func(t *testing.T) {
		_, err := lambdaapi.NewInvoker(client, "inventory").Invoke(context.Background(), payload)
		var fe *esm.FunctionError
		if !errors.As(err, &fe) || *fe != (esm.FunctionError{Type: "TransientError", Message: "stock table unreachable"}) {
			t.Fatalf("error %v, want the function's error", err)
		}
	})
	t.Run("names and qualifiers", func(t *testing.T) {
		for _, tc := range []struct{ function, qualifier string }{
			{"fraud", "$LATEST"},
			{"fraud:$LATEST", ""},
			{"arn:aws:lambda:us-east-1:000000000000:function:fraud", ""},
			{"arn:aws:lambda:us-east-1:000000000000:function:fraud:$LATEST", "$LATEST"},
			{"000000000000:function:fraud", ""},
		} {
			if _, err := lambdaapi.NewInvoker(client, tc.function, lambdaapi.WithQualifier(tc.qualifier)).Invoke(context.Background(), payload); err != nil {
				t.Errorf("%s qualifier %q: %v", tc.function, tc.qualifier, err)
			}
		}
	})
	t.Run("unknown function", func(t *testing.T) {
		for _, tc := range []struct{ function, qualifier, arn string }{
			{"payments", "", "arn:aws:lambda:us-east-1:000000000000:function:payments"},
			{"fraud", "live", "arn:aws:lambda:us-east-1:000000000000:function:fraud:live"},
		} {
			_, err := lambdaapi.NewInvoker(client, tc.function, lambdaapi.WithQualifier(tc.qualifier)).Invoke(context.Background(), payload)
			var nf *types.ResourceNotFoundException
			var fe *esm.FunctionError
			if !errors.Is(err, lambdaapi.ErrFunctionNotFound) || !errors.As(err, &nf) || errors.As(err, &fe) {
				t.Fatalf("%s: error %v, want ErrFunctionNotFound and the SDK's ResourceNotFoundException", tc.function, err)
			}
			if got := aws.ToString(nf.Message); got != "Function not found: "+tc.arn {
				t.Errorf("message %q", got)
			}
		}
	})
	t.Run("concurrent invocations", func(t *testing.T) {
		before := calls.Load()
		inv := lambdaapi.NewInvoker(client, "fraud")
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := []byte(fmt.Sprintf(`{"n":%d}`, i))
				got, err := inv.Invoke(context.Background(), p)
				if err != nil || string(got) != `{"got":`+string(p)+`}` {
					t.Errorf("invocation %d: %s, %v", i, got, err)
				}
			}()
		}
		wg.Wait()
		if n := calls.Load() - before; n != 20 {
			t.Errorf("%d calls reached the function, want 20", n)
		}
	})
}

// TestServerProtocol checks the server's answers as the SDK sees them.
func TestServerProtocol(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var seen lambdaruntime.Metadata
	srv, client := newServer(t, map[string]esm.Invoker{
		"fraud": invokerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
			calls.Add(1)
			mu.Lock()
			seen, _ = lambdaruntime.FromContext(ctx)
			mu.Unlock()
			return echo(ctx, payload)
		}),
		"broken": invokerFunc(func(context.Context, []byte) ([]byte, error) {
			return nil, errors.New("dial bootstrap: connection refused")
		}),
		"failing": invokerFunc(func(context.Context, []byte) ([]byte, error) {
			return nil, &esm.FunctionError{Type: "Sandbox.Timedout", Message: "Task timed out after 3.00 seconds"}
		}),
	})
	ctx := context.Background()

	t.Run("request response", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fraud"), Payload: []byte(`{"a":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != http.StatusOK || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil || string(out.Payload) != `{"got":{"a":1}}` {
			t.Fatalf("output: status %d, version %q, function error %v, payload %s",
				out.StatusCode, aws.ToString(out.ExecutedVersion), out.FunctionError, out.Payload)
		}
	})
	t.Run("empty payload is an empty object", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fraud")})
		if err != nil || string(out.Payload) != `{"got":{}}` {
			t.Fatalf("output %v, error %v", out, err)
		}
	})
	t.Run("function error", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("failing"), Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"errorMessage":"Task timed out after 3.00 seconds","errorType":"Sandbox.Timedout"}`
		if out.StatusCode != http.StatusOK || aws.ToString(out.FunctionError) != "Unhandled" || string(out.Payload) != want {
			t.Fatalf("output: status %d, function error %q, payload %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		before := calls.Load()
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fraud"), InvocationType: types.InvocationTypeDryRun})
		if err != nil || out.StatusCode != http.StatusNoContent || calls.Load() != before {
			t.Fatalf("dry run: %v, %v; calls %d -> %d", out, err, before, calls.Load())
		}
		_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("payments"), InvocationType: types.InvocationTypeDryRun})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("dry run of an unknown function: %v", err)
		}
	})
	t.Run("client context and trace", func(t *testing.T) {
		cc := `{"custom":{"shop":"s-042"}}`
		_, err := client.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:  aws.String("fraud"),
			ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(cc))),
			Payload:       []byte(`{}`),
		})
		mu.Lock()
		defer mu.Unlock()
		if err != nil || seen.ClientContext != cc {
			t.Fatalf("client context %q, error %v", seen.ClientContext, err)
		}
	})

	refused := []struct {
		name string
		in   lambda.InvokeInput
		want any
	}{
		{"event invocation", lambda.InvokeInput{FunctionName: aws.String("fraud"), InvocationType: types.InvocationTypeEvent},
			new(*types.InvalidParameterValueException)},
		{"payload not JSON", lambda.InvokeInput{FunctionName: aws.String("fraud"), Payload: []byte("order o-1")},
			new(*types.InvalidRequestContentException)},
		{"payload too large", lambda.InvokeInput{FunctionName: aws.String("fraud"), Payload: bytes.Repeat([]byte(" "), lambdaapi.MaxPayloadSize+1)},
			new(*types.RequestTooLargeException)},
		{"qualifiers disagree", lambda.InvokeInput{FunctionName: aws.String("fraud:live"), Qualifier: aws.String("$LATEST")},
			new(*types.InvalidParameterValueException)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			_, err := client.Invoke(ctx, &tc.in)
			if !errors.As(err, tc.want) || calls.Load() != before {
				t.Fatalf("error %v, want %T, and no invocation", err, tc.want)
			}
		})
	}

	t.Run("invoker failure is a service error", func(t *testing.T) {
		client := newClient(srv, func(o *lambda.Options) { o.Retryer = aws.NopRetryer{} })
		_, err := lambdaapi.NewInvoker(client, "broken").Invoke(ctx, []byte(`{}`))
		var se *types.ServiceException
		var fe *esm.FunctionError
		if !errors.As(err, &se) || errors.As(err, &fe) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("error %v, want a ServiceException that is not a function error", err)
		}
	})
}

func TestNewServerListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		if srv, err := lambdaapi.NewServer(lambdaapi.WithAddr(addr)); err == nil {
			srv.Close()
			t.Errorf("NewServer(%q) listened", addr)
		}
	}
	srv, err := lambdaapi.NewServer(lambdaapi.WithAddr("localhost:0"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
}

func TestRegisterRefusesBadNames(t *testing.T) {
	srv, _ := newServer(t, nil)
	if err := srv.Register("fraud detector", echo); err == nil {
		t.Error("registered a name with a space")
	}
	if err := srv.Register("fraud", nil); err == nil {
		t.Error("registered a nil invoker")
	}
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
