package esm

import (
	"context"
	"crypto/rand"
	"fmt"
)

// Invoker invokes one function synchronously with one payload, as the event
// source mapping's poller does.
//
// Invoke returns the function's response payload (for a Kafka event source,
// a partial batch response or nothing). When the function itself fails — its
// handler returned an error, it panicked, its process crashed or exited, it
// ran past its timeout — Invoke returns a *FunctionError. Any other error
// means the invocation could not be made at all (the function could not be
// reached, ctx ended). The mapping treats both as a failed batch.
//
// Invoke must be safe for concurrent use: the mapping may have one batch in
// flight per partition.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// FunctionError is a failure of the function itself, as the Lambda service
// reports it (X-Amz-Function-Error, or the Runtime API's error document).
type FunctionError struct {
	// Type is the error type the runtime reported ("errorString",
	// "Runtime.ExitError", "Sandbox.Timedout", ...).
	Type string
	// Message is the error message the runtime reported.
	Message string
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke calls f(ctx, payload).
func (f InvokerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

type requestIDKey struct{}

// ContextWithRequestID returns ctx carrying the request ID the mapping gave
// an invocation. An Invoker that can choose the invocation's request ID (as
// HandlerInvoker does, and a local Runtime API can) uses it, so that the
// function's logs and the on-failure record name the same request.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the request ID ctx carries, if any.
func RequestIDFromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(requestIDKey{}).(string)
	return id, ok && id != ""
}

// newRequestID returns a random request ID, a UUID as Lambda's are.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
