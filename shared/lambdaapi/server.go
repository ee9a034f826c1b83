package lambdaapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/lambdaruntime"
)

// MaxPayloadSize is the largest payload the Invoke API takes for a
// synchronous invocation: 6 MB.
const MaxPayloadSize = 6 * 1024 * 1024

// Server is a minimal Lambda Invoke API on a loopback address, backed by
// registered esm.Invokers: POST /2015-03-31/functions/{FunctionName}/invocations
// with the RequestResponse and DryRun invocation types, answered with
// Lambda's status codes, headers and error shapes, so that the AWS SDK, the
// AWS CLI and Invoker can call local functions as they call Lambda.
//
// Functions are served as their $LATEST version; requests are not
// authenticated (the server listens on loopback only).
type Server struct {
	ln     net.Listener
	srv    *http.Server
	region string

	mu        sync.RWMutex
	functions map[string]esm.Invoker
}

// ServerOption configures a Server.
type ServerOption func(*serverConfig)

type serverConfig struct {
	addr   string
	region string
}

// WithAddr sets the address the server listens on, which must be a loopback
// address. Default: "127.0.0.1:0", a free port.
func WithAddr(addr string) ServerOption { return func(c *serverConfig) { c.addr = addr } }

// WithRegion sets the region of the function ARNs in the server's messages.
// Default: "us-east-1".
func WithRegion(region string) ServerOption { return func(c *serverConfig) { c.region = region } }

// NewServer listens and starts serving. Close stops it.
func NewServer(opts ...ServerOption) (*Server, error) {
	cfg := serverConfig{addr: "127.0.0.1:0", region: "us-east-1"}
	for _, o := range opts {
		o(&cfg)
	}
	host, _, err := net.SplitHostPort(cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("start the Lambda Invoke API: address %q: %w", cfg.addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("start the Lambda Invoke API: address %q is not a loopback address", cfg.addr)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("start the Lambda Invoke API: %w", err)
	}
	s := &Server{ln: ln, region: cfg.region, functions: map[string]esm.Invoker{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{FunctionName}/invocations", s.handleInvoke)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		renderError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // returns http.ErrServerClosed on Close
	return s, nil
}

// URL is the server's endpoint, for an SDK client's BaseEndpoint or
// AWS_ENDPOINT_URL_LAMBDA: "http://127.0.0.1:port".
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Register serves function name through inv, replacing any function of that
// name. It may be called while the server serves.
func (s *Server) Register(name string, inv esm.Invoker) error {
	if !functionName.MatchString(name) {
		return fmt.Errorf("register function %q: a function name is 1 to 64 letters, digits, hyphens and underscores", name)
	}
	if inv == nil {
		return fmt.Errorf("register function %q: nil invoker", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.functions[name] = inv
	return nil
}

// Close stops the server; invocations in progress see their context end.
func (s *Server) Close() error {
	if err := s.srv.Close(); err != nil {
		return fmt.Errorf("close the Lambda Invoke API: %w", err)
	}
	return nil
}

var (
	functionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	qualifier    = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]{1,128})$`)
)

func (s *Server) handleInvoke(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	name, qual, err := parseFunctionName(r.PathValue("FunctionName"))
	if err != nil {
		renderError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		if qual != "" && qual != q {
			renderError(w, http.StatusBadRequest, "InvalidParameterValueException",
				"The derived qualifier from the function name does not match the specified qualifier.")
			return
		}
		qual = q
	}
	if qual != "" && !qualifier.MatchString(qual) {
		renderError(w, http.StatusBadRequest, "ValidationException",
			fmt.Sprintf("1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint", qual))
		return
	}
	s.mu.RLock()
	inv, ok := s.functions[name]
	s.mu.RUnlock()
	if !ok || (qual != "" && qual != "$LATEST") {
		arn := fmt.Sprintf("arn:aws:lambda:%s:000000000000:function:%s", s.region, name)
		if qual != "" {
			arn += ":" + qual
		}
		renderError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
		return
	}

	switch t := r.Header.Get("X-Amz-Invocation-Type"); t {
	case "", "RequestResponse":
	case "DryRun":
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		renderError(w, http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("Invocation type %q is not supported by the local Lambda Invoke API: use RequestResponse or DryRun", t))
		return
	}

	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadSize+1))
	switch {
	case err != nil:
		renderError(w, http.StatusBadRequest, "InvalidRequestContentException", "read the request body: "+err.Error())
		return
	case len(payload) > MaxPayloadSize:
		renderError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayloadSize))
		return
	case len(bytes.TrimSpace(payload)) == 0:
		payload = []byte("{}")
	case !json.Valid(payload):
		renderError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}

	ctx, err := invocationContext(r)
	if err != nil {
		renderError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	// The function sees the request ID the caller gets back.
	ctx = esm.ContextWithRequestID(ctx, requestID)
	resp, err := inv.Invoke(ctx, payload)
	var fe *esm.FunctionError
	switch {
	case errors.As(err, &fe):
		doc, _ := json.Marshal(errorDocument{ErrorMessage: fe.Message, ErrorType: fe.Type})
		resp = doc
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	case err != nil && r.Context().Err() != nil:
		return // the caller is gone
	case err != nil:
		renderError(w, http.StatusInternalServerError, "ServiceException",
			fmt.Sprintf("invoke function %s: %v", name, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.WriteHeader(http.StatusOK)
	w.Write(resp) //nolint:errcheck // the caller's connection is its own concern
}

// invocationContext carries the request's client context (base64 JSON in
// X-Amz-Client-Context) and trace header to a lambdaruntime.Function.
func invocationContext(r *http.Request) (context.Context, error) {
	var m lambdaruntime.Metadata
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		b, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(b) {
			return nil, errors.New("client context (X-Amz-Client-Context) must be base64-encoded JSON")
		}
		m.ClientContext = string(b)
	}
	m.TraceID = r.Header.Get("X-Amzn-Trace-Id")
	if m == (lambdaruntime.Metadata{}) {
		return r.Context(), nil
	}
	return lambdaruntime.NewContext(r.Context(), m), nil
}

// parseFunctionName reads the forms the Invoke API takes: "name",
// "name:qualifier", "arn:aws:lambda:region:account:function:name[:qualifier]"
// and "account:function:name[:qualifier]".
func parseFunctionName(s string) (name, qual string, err error) {
	parts := strings.Split(s, ":")
	switch {
	case strings.HasPrefix(s, "arn:"):
		if (len(parts) == 7 || len(parts) == 8) && parts[2] == "lambda" && parts[5] == "function" {
			name = parts[6]
			if len(parts) == 8 {
				qual = parts[7]
			}
		}
	case len(parts) >= 3 && parts[1] == "function":
		if len(parts) <= 4 {
			name = parts[2]
			if len(parts) == 4 {
				qual = parts[3]
			}
		}
	case len(parts) <= 2:
		name = parts[0]
		if len(parts) == 2 {
			qual = parts[1]
		}
	}
	if !functionName.MatchString(name) {
		return "", "", fmt.Errorf("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: "+
			"a function name, name:qualifier, or function ARN", s)
	}
	return name, qual, nil
}

// renderError writes an Invoke API error the way Lambda does: its type in
// X-Amzn-ErrorType, and a JSON body with Type and Message.
func renderError(w http.ResponseWriter, status int, typ, msg string) {
	fault := "User"
	if status >= 500 {
		fault = "Service"
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"Type"`
		Message string `json:"Message"`
	}{fault, msg})
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the caller's connection is its own concern
}

// newRequestID returns a random (version 4) UUID.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
