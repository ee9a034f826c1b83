package esm

import (
	"context"
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
