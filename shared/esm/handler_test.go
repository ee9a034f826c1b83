package esm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

type pointerError struct{ msg string }

func (e *pointerError) Error() string { return e.msg }

type valueError struct{}

func (valueError) Error() string { return "value error" }

// TestHandlerInvokerResponse checks that the response bytes are those the Go
// runtime would send.
func TestHandlerInvokerResponse(t *testing.T) {
	t.Parallel()
	payload := compactFixture(t, "msk-event.json")
	handler := func(_ context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
		var resp kafkabatch.Response
		for _, k := range slices.Sorted(maps.Keys(ev.Records)) {
			rs := ev.Records[k]
			resp.BatchItemFailures = append(resp.BatchItemFailures, kafkabatch.BatchItemFailure{
				ItemIdentifier: kafkabatch.ItemIdentifier{Partition: k, Offset: rs[len(rs)-1].Offset},
			})
		}
		return resp, nil
	}
	want, err := lambda.NewHandler(handler).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewHandlerInvoker(handler).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("response %s, want %s", got, want)
	}

	got, err = NewHandlerInvoker(func(context.Context, events.KafkaEvent) error { return nil }).Invoke(context.Background(), payload)
	if err != nil || string(got) != "null" {
		t.Errorf("error-only handler: %q, %v; want null", got, err)
	}
}

// TestHandlerInvokerErrors checks the error types aws-lambda-go reports.
func TestHandlerInvokerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  any
		wantType string
		wantMsg  string
	}{
		{"errors.New", func() error { return errors.New("out of stock") }, "errorString", "out of stock"},
		{"wrapped", func() error { return fmt.Errorf("apply: %w", errors.New("x")) }, "wrapError", "apply: x"},
		{"pointer type", func() error { return &pointerError{"bad"} }, "pointerError", "bad"},
		{"value type", func() error { return valueError{} }, "valueError", "value error"},
		{"runtime error type", func() error { return messages.InvokeResponse_Error{Type: "Custom.Error", Message: "m"} }, "Custom.Error", "m"},
		{"panic string", func() error { panic("boom") }, "string", "boom"},
		{"panic error", func() error { panic(errors.New("kaput")) }, "errorString", "kaput"},
		{"runtime panic", func() error { var s []int; _ = s[3]; return nil }, "boundsError", "runtime error: index out of range [3] with length 0"},
		{"bad payload", func(events.KafkaEvent) error { return nil }, "SyntaxError", "invalid character"},
		{"not a function", "handler", "errorString", "handler kind string is not func"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := []byte(`{}`)
			if tt.name == "bad payload" {
				payload = []byte(`{"records":x}`)
			}
			_, err := NewHandlerInvoker(tt.handler).Invoke(context.Background(), payload)
			var fe *FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FunctionError", err)
			}
			if fe.Type != tt.wantType || !strings.Contains(fe.Message, tt.wantMsg) {
				t.Errorf("got %s %q, want %s %q", fe.Type, fe.Message, tt.wantType, tt.wantMsg)
			}
		})
	}
}

func TestHandlerInvokerTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	inv := NewHandlerInvoker(func(ctx context.Context) error {
		<-release // ignores ctx, as a stuck function would
		return nil
	}, WithFunctionTimeout(50*time.Millisecond))
	start := time.Now()
	_, err := inv.Invoke(ContextWithRequestID(context.Background(), "req-1"), []byte(`{}`))
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Type != "Sandbox.Timedout" || !strings.Contains(fe.Message, "req-1 Task timed out after 0.05 seconds") {
		t.Fatalf("err = %v, want Sandbox.Timedout", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("timed out after %v, before the function's timeout", d)
	}
}

func TestHandlerInvokerCancel(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	inv := NewHandlerInvoker(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, WithFunctionTimeout(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := inv.Invoke(ctx, []byte(`{}`))
	var fe *FunctionError
	if !errors.Is(err, context.Canceled) || errors.As(err, &fe) {
		t.Errorf("err = %v, want context.Canceled, not a function error", err)
	}
}

func TestHandlerInvokerContext(t *testing.T) {
	t.Parallel()
	var lc *lambdacontext.LambdaContext
	var deadline time.Time
	inv := NewHandlerInvoker(func(ctx context.Context) error {
		lc, _ = lambdacontext.FromContext(ctx)
		deadline, _ = ctx.Deadline()
		return nil
	}, WithInvokedFunctionARN("arn:aws:lambda:us-east-1:000000000000:function:fraud"), WithFunctionTimeout(time.Minute))
	if _, err := inv.Invoke(ContextWithRequestID(context.Background(), "req-42"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if lc == nil || lc.AwsRequestID != "req-42" || lc.InvokedFunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:fraud" {
		t.Errorf("lambda context = %+v", lc)
	}
	if until := time.Until(deadline); until < 50*time.Second || until > time.Minute {
		t.Errorf("deadline in %v, want about a minute", until)
	}
	if _, err := inv.Invoke(context.Background(), []byte(`{}`)); err != nil || len(lc.AwsRequestID) != 36 {
		t.Errorf("request ID without one from the mapping: %q (%v), want a UUID", lc.AwsRequestID, err)
	}
}

func TestHandlerInvokerResponseTooLarge(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", MaxResponseBytes)
	_, err := NewHandlerInvoker(func() (string, error) { return big, nil }).Invoke(context.Background(), []byte(`{}`))
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("err = %v, want Function.ResponseSizeTooLarge", err)
	}
}

// TestHandlerInvokerConcurrent invokes one HandlerInvoker from many
// goroutines: each must get its own response (run with -race).
func TestHandlerInvokerConcurrent(t *testing.T) {
	t.Parallel()
	inv := NewHandlerInvoker(func(_ context.Context, in map[string]int) (map[string]int, error) {
		return map[string]int{"n": in["n"] * 2}, nil
	})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			for j := range 20 {
				n := i*100 + j
				out, err := inv.Invoke(context.Background(), fmt.Appendf(nil, `{"n":%d}`, n))
				if want := fmt.Sprintf(`{"n":%d}`, 2*n); err != nil || string(out) != want {
					t.Errorf("invoke %d: %s, %v; want %s", n, out, err, want)
				}
			}
		})
	}
	wg.Wait()
}
