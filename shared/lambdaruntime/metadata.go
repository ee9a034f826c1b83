package lambdaruntime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// Metadata is what the Runtime API passes to the runtime beside the payload
// of one invocation. The zero value is an invocation without client context
// or Cognito identity and with a new trace id.
type Metadata struct {
	// TraceID is the X-Ray trace header (Lambda-Runtime-Trace-Id, which
	// aws-lambda-go puts in _X_AMZN_TRACE_ID). Default: a new, unsampled
	// root trace id.
	TraceID string
	// ClientContext is the JSON client context (Lambda-Runtime-Client-Context),
	// decoded from the Invoke API's base64 X-Amz-Client-Context. Default: none.
	ClientContext string
	// CognitoIdentity is the JSON Cognito identity
	// (Lambda-Runtime-Cognito-Identity). Default: none.
	CognitoIdentity string
}

type metadataKey struct{}

// NewContext returns a copy of ctx that carries m to Function.Invoke, which
// passes it on to the runtime with the invocation.
func NewContext(ctx context.Context, m Metadata) context.Context {
	return context.WithValue(ctx, metadataKey{}, m)
}

// FromContext returns the Metadata ctx carries, if any.
func FromContext(ctx context.Context) (Metadata, bool) {
	m, ok := ctx.Value(metadataKey{}).(Metadata)
	return m, ok
}

// metadataFrom returns the Metadata ctx carries, with a trace id filled in.
func metadataFrom(ctx context.Context) Metadata {
	m, _ := FromContext(ctx)
	if m.TraceID == "" {
		m.TraceID = newTraceID(time.Now())
	}
	return m
}

// newRequestID returns a random (version 4) UUID, the shape of Lambda's
// request ids.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomHex returns n random bytes in hexadecimal.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newTraceID returns an unsampled X-Ray trace header with a new root id.
func newTraceID(now time.Time) string {
	return fmt.Sprintf("Root=1-%08x-%s;Sampled=0", now.Unix(), randomHex(12))
}
