package esm

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// DefaultFunctionTimeout is the timeout of a HandlerInvoker's function when
// none is set: Lambda's default function timeout.
const DefaultFunctionTimeout = 3 * time.Second

// MaxResponseBytes is the largest response of a synchronous invocation;
// HandlerInvoker turns a larger one into a Function.ResponseSizeTooLarge
// error, as Lambda does.
const MaxResponseBytes = 6*1024*1024 + 100

// HandlerInvoker is an Invoker that runs a Go Lambda handler in this process,
// through aws-lambda-go's lambda.NewHandler: the handler is any function
// lambda.Start accepts, the payload is decoded into its event type and its
// response encoded as the Go runtime would, so the response bytes are
// exactly what the function would send from Lambda.
//
// Each invocation gets a context with the function's deadline and a
// lambdacontext.LambdaContext carrying the request ID (the mapping's, see
// ContextWithRequestID) and the function ARN. The handler failing becomes a
// *FunctionError whose Type is what aws-lambda-go reports: the Go type name
// of a returned error ("errorString" for errors.New) or of a panic's value
// ("string" for panic("...")), or the Type of a messages.InvokeResponse_Error.
// A handler still running at the timeout gives a "Sandbox.Timedout" error;
// Lambda would stop its sandbox, but a goroutine cannot be stopped, so the
// handler keeps running in the background, with its context cancelled.
//
// Like Lambda's execution environments, one handler instance serves one
// invocation at a time, and concurrent invocations get instances of their
// own (lambda.NewHandler's response buffers are not safe for concurrent
// use). An instance whose handler panicked or timed out is dropped, as
// Lambda drops the environment. Unlike Lambda, all instances share the
// process and its globals.
type HandlerInvoker struct {
	handler any
	opts    []lambda.Option
	timeout time.Duration
	arn     string

	mu   sync.Mutex
	idle []lambda.Handler
}

var _ Invoker = (*HandlerInvoker)(nil)

// HandlerOption configures a HandlerInvoker.
type HandlerOption func(*HandlerInvoker)

// WithFunctionTimeout sets the function's timeout. Default
// DefaultFunctionTimeout (3 s), Lambda's default.
func WithFunctionTimeout(d time.Duration) HandlerOption {
	return func(h *HandlerInvoker) {
		if d > 0 {
			h.timeout = d
		}
	}
}

// WithInvokedFunctionARN sets the InvokedFunctionArn the handler finds in its
// lambdacontext. Default: empty.
func WithInvokedFunctionARN(arn string) HandlerOption {
	return func(h *HandlerInvoker) { h.arn = arn }
}

// WithLambdaOptions passes options to lambda.NewHandlerWithOptions, as
// lambda.StartWithOptions would. Default: none.
func WithLambdaOptions(opts ...lambda.Option) HandlerOption {
	return func(h *HandlerInvoker) { h.opts = append(h.opts, opts...) }
}

// NewHandlerInvoker returns an Invoker running handler, a function of a
// shape lambda.Start accepts, such as
// func(context.Context, events.KafkaEvent) (kafkabatch.Response, error). A
// handler of another shape fails every invocation with the error
// aws-lambda-go gives for it.
func NewHandlerInvoker(handler any, opts ...HandlerOption) *HandlerInvoker {
	h := &HandlerInvoker{handler: handler, timeout: DefaultFunctionTimeout}
	for _, o := range opts {
		o(h)
	}
	return h
}

type handlerResult struct {
	out []byte
	err error
	ok  bool // the handler returned normally: its instance can be reused
}

// Invoke implements Invoker.
func (h *HandlerInvoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, ok := RequestIDFromContext(ctx)
	if !ok {
		id = newRequestID()
	}
	fctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	fctx = lambdacontext.NewContext(fctx, &lambdacontext.LambdaContext{AwsRequestID: id, InvokedFunctionArn: h.arn})

	inst := h.instance()
	in := bytes.Clone(payload) // the handler owns its payload, as in Lambda
	done := make(chan handlerResult, 1)
	go func() {
		res := handlerResult{}
		defer func() {
			if v := recover(); v != nil {
				res = handlerResult{err: panicError(v)}
			}
			done <- res
		}()
		out, err := inst.Invoke(fctx, in)
		if err != nil {
			res = handlerResult{err: returnedError(err), ok: true}
			return
		}
		res = handlerResult{out: bytes.Clone(out), ok: true}
	}()

	select {
	case res := <-done:
		if res.ok {
			h.release(inst)
		}
		if res.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err() // stopped, not failed
			}
			return nil, res.err
		}
		if len(res.out) > MaxResponseBytes {
			return nil, &FunctionError{
				Type:    "Function.ResponseSizeTooLarge",
				Message: fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", len(res.out), MaxResponseBytes),
			}
		}
		return res.out, nil
	case <-fctx.Done():
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &FunctionError{
			Type:    "Sandbox.Timedout",
			Message: fmt.Sprintf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format(timeLayout), id, h.timeout.Seconds()),
		}
	}
}

// instance returns an idle handler instance, or a new one.
func (h *HandlerInvoker) instance() lambda.Handler {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.idle); n > 0 {
		inst := h.idle[n-1]
		h.idle = h.idle[:n-1]
		return inst
	}
	return lambda.NewHandlerWithOptions(h.handler, h.opts...)
}

// release makes inst idle.
func (h *HandlerInvoker) release(inst lambda.Handler) {
	h.mu.Lock()
	h.idle = append(h.idle, inst)
	h.mu.Unlock()
}

// returnedError is the FunctionError aws-lambda-go reports for an error the
// handler returned.
func returnedError(err error) *FunctionError {
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return &FunctionError{Type: ive.Type, Message: ive.Message}
	}
	return &FunctionError{Type: typeName(err), Message: err.Error()}
}

// panicError is the FunctionError aws-lambda-go reports for a handler that
// panicked with v.
func panicError(v any) *FunctionError {
	if ive, ok := v.(messages.InvokeResponse_Error); ok {
		return &FunctionError{Type: ive.Type, Message: ive.Message}
	}
	return &FunctionError{Type: typeName(v), Message: fmt.Sprintf("%v", v)}
}

// typeName is the name aws-lambda-go gives the type of v: the name of its
// type, or of the type it points to.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}
