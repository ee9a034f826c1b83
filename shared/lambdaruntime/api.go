package lambdaruntime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopstream/shopstream/shared/esm"
)

// MaxPayloadSize is the largest invocation payload, and the largest response,
// Lambda accepts for a synchronous invocation: 6 MB.
const MaxPayloadSize = 6 * 1024 * 1024

// Runtime API header names, as aws-lambda-go and the other runtime clients
// read and send them.
const (
	headerRequestID       = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS      = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID         = "Lambda-Runtime-Trace-Id"
	headerClientContext   = "Lambda-Runtime-Client-Context"
	headerCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	headerErrorType       = "Lambda-Runtime-Function-Error-Type"
	headerErrorBody       = "Lambda-Runtime-Function-Error-Body" // a trailer, base64

	headerExtensionName = "Lambda-Extension-Name"
	headerExtensionID   = "Lambda-Extension-Identifier"
)

// Error types of the Runtime API's own error documents.
const (
	errInvalidStateTransition = "InvalidStateTransition"
	errInvalidRequestID       = "InvalidRequestID"
	errRequestEntityTooLarge  = "RequestEntityTooLarge"
	errTruncatedHTTPRequest   = "TruncatedHTTPRequest"
	errInternalServerError    = "InternalServerError"
)

// runtimeState is where a runtime is in its lifecycle, as the Runtime API
// sees it. It decides which calls are valid (403 InvalidStateTransition for
// the others).
type runtimeState int

const (
	stateInitializing runtimeState = iota // started, has not called /next yet
	stateReady                            // waiting in /next for an invocation
	stateInvoking                         // holds an invocation, has not answered it
	stateResponded                        // answered, has not called /next again
	stateClosed                           // init failed or the environment is shutting down
)

var stateNames = [...]string{"Initializing", "Ready", "Invoking", "Responded", "Closed"}

func (s runtimeState) String() string { return stateNames[s] }

// invocation is one invocation handed to a runtime through /next.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	arn      string
	meta     Metadata
	result   chan result // buffered 1; receives exactly one result
}

// result is what the runtime answered: a payload or a function error.
type result struct {
	payload []byte
	err     *esm.FunctionError
}

// errorDocument is the JSON error document the Runtime API takes from a
// runtime and gives back in its own error responses.
type errorDocument struct {
	ErrorMessage string          `json:"errorMessage"`
	ErrorType    string          `json:"errorType"`
	StackTrace   json.RawMessage `json:"stackTrace,omitempty"`
}

// functionInfo is what the extensions API tells an extension at registration.
type functionInfo struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
}

// runtimeAPI serves the Lambda Runtime API (2018-06-01) for one execution
// environment, that is for one function process, on a loopback port.
//
// The process manager hands invocations to the runtime by sending them on
// invocations, which a runtime waiting in /next receives; the runtime's answer
// arrives on the invocation's result channel. ready is closed when the runtime
// first calls /next (its init is done); initErr receives the error document of
// /init/error.
type runtimeAPI struct {
	ln   net.Listener
	srv  *http.Server
	info functionInfo

	invocations chan *invocation
	ready       chan struct{}
	initErr     chan *esm.FunctionError
	shutdown    chan struct{} // closed when the environment begins shutting down
	done        chan struct{} // closed when the server is closed

	mu           sync.Mutex
	state        runtimeState
	current      *invocation
	shutdownAt   time.Time       // the deadline SHUTDOWN events announce
	extensions   map[string]bool // identifier -> registered for SHUTDOWN
	shutdownOnce sync.Once
	closeOnce    sync.Once
}

// newRuntimeAPI listens on a free loopback port and serves the Runtime API.
func newRuntimeAPI(info functionInfo) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the runtime API: %w", err)
	}
	a := &runtimeAPI{
		ln:          ln,
		info:        info,
		invocations: make(chan *invocation),
		ready:       make(chan struct{}),
		initErr:     make(chan *esm.FunctionError, 1),
		shutdown:    make(chan struct{}),
		done:        make(chan struct{}),
		extensions:  map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", a.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", a.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", a.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", a.handleInitError)
	mux.HandleFunc("POST /2020-01-01/extension/register", a.handleExtensionRegister)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", a.handleExtensionNext)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(ln) //nolint:errcheck // returns http.ErrServerClosed on close
	return a, nil
}

// addr is the host:port a runtime finds in AWS_LAMBDA_RUNTIME_API.
func (a *runtimeAPI) addr() string { return a.ln.Addr().String() }

// beginShutdown answers the extensions waiting for a SHUTDOWN event; deadline
// is when the environment will be killed.
func (a *runtimeAPI) beginShutdown(deadline time.Time) {
	a.shutdownOnce.Do(func() {
		a.mu.Lock()
		a.shutdownAt = deadline
		a.mu.Unlock()
		close(a.shutdown)
	})
}

// close stops the server and fails every call still in progress.
func (a *runtimeAPI) close() {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.state = stateClosed
		a.mu.Unlock()
		close(a.done)
		a.srv.Close()
	})
}

func (a *runtimeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	switch a.state {
	case stateClosed:
		a.mu.Unlock()
		renderError(w, http.StatusInternalServerError, errInternalServerError, "the execution environment is shutting down")
		return
	case stateInvoking:
		id := a.current.id
		a.mu.Unlock()
		renderError(w, http.StatusForbidden, errInvalidStateTransition,
			fmt.Sprintf("State transition from Invoking to Ready failed for runtime: invocation %s has not been answered", id))
		return
	}
	first := a.state == stateInitializing
	a.state = stateReady
	a.mu.Unlock()
	if first {
		close(a.ready)
	}

	select {
	case inv := <-a.invocations:
		a.mu.Lock()
		a.state, a.current = stateInvoking, inv
		a.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadlineMS, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerFunctionARN, inv.arn)
		h.Set(headerTraceID, inv.meta.TraceID)
		if inv.meta.ClientContext != "" {
			h.Set(headerClientContext, inv.meta.ClientContext)
		}
		if inv.meta.CognitoIdentity != "" {
			h.Set(headerCognitoIdentity, inv.meta.CognitoIdentity)
		}
		h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
		w.WriteHeader(http.StatusOK)
		w.Write(inv.payload) //nolint:errcheck // a runtime gone mid-write is seen by its exit
	case <-r.Context().Done():
	case <-a.done:
		renderError(w, http.StatusInternalServerError, errInternalServerError, "the execution environment is shutting down")
	}
}

// checkInvoking answers 403 or 400 unless the runtime holds the invocation id;
// it reports whether the call may go on.
func (a *runtimeAPI) checkInvoking(w http.ResponseWriter, id, to string) bool {
	a.mu.Lock()
	state, current := a.state, a.current
	a.mu.Unlock()
	switch {
	case state == stateClosed:
		renderError(w, http.StatusInternalServerError, errInternalServerError, "the execution environment is shutting down")
		return false
	case state != stateInvoking:
		renderError(w, http.StatusForbidden, errInvalidStateTransition,
			fmt.Sprintf("State transition from %s to %s failed for runtime", state, to))
		return false
	case current.id != id:
		renderError(w, http.StatusBadRequest, errInvalidRequestID, "Invalid request ID")
		return false
	}
	return true
}

// answer records res as the answer to invocation id, unless another call
// answered it first; it reports whether res was recorded.
func (a *runtimeAPI) answer(w http.ResponseWriter, id, to string, res result) bool {
	a.mu.Lock()
	if a.state != stateInvoking || a.current.id != id {
		a.mu.Unlock()
		return a.checkInvoking(w, id, to) // renders why
	}
	inv := a.current
	a.state, a.current = stateResponded, nil
	a.mu.Unlock()
	inv.result <- res
	return true
}

func (a *runtimeAPI) handleResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !a.checkInvoking(w, id, "Responded") {
		return
	}
	body, size, err := readLimited(r.Body, MaxPayloadSize)
	if err != nil {
		renderError(w, http.StatusBadRequest, errTruncatedHTTPRequest, fmt.Sprintf("read the response body: %v", err))
		return
	}
	var res result
	status := http.StatusAccepted
	switch {
	case r.Trailer.Get(headerErrorType) != "":
		// The runtime failed while streaming its response (aws-lambda-go
		// does this when the handler's io.Reader fails).
		res.err = trailerError(r.Trailer.Get(headerErrorType), r.Trailer.Get(headerErrorBody))
	case size > MaxPayloadSize:
		res.err = &esm.FunctionError{
			Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).",
				size, MaxPayloadSize),
		}
		status = http.StatusRequestEntityTooLarge
	default:
		res.payload = body
	}
	if !a.answer(w, id, "Responded", res) {
		return
	}
	if status == http.StatusRequestEntityTooLarge {
		renderError(w, status, errRequestEntityTooLarge,
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxPayloadSize))
		return
	}
	renderAccepted(w)
}

func (a *runtimeAPI) handleError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !a.checkInvoking(w, id, "Responded") {
		return
	}
	body, _, err := readLimited(r.Body, MaxPayloadSize)
	if err != nil {
		renderError(w, http.StatusBadRequest, errTruncatedHTTPRequest, fmt.Sprintf("read the error body: %v", err))
		return
	}
	if !a.answer(w, id, "Responded", result{err: parseErrorDocument(body, r.Header.Get(headerErrorType))}) {
		return
	}
	renderAccepted(w)
}

func (a *runtimeAPI) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _, err := readLimited(r.Body, MaxPayloadSize)
	if err != nil {
		renderError(w, http.StatusBadRequest, errTruncatedHTTPRequest, fmt.Sprintf("read the error body: %v", err))
		return
	}
	a.mu.Lock()
	state := a.state
	if state == stateInitializing {
		a.state = stateClosed
	}
	a.mu.Unlock()
	switch state {
	case stateInitializing:
	case stateClosed:
		renderError(w, http.StatusInternalServerError, errInternalServerError, "the execution environment is shutting down")
		return
	default:
		renderError(w, http.StatusForbidden, errInvalidStateTransition,
			fmt.Sprintf("State transition from %s to InitError failed for runtime", state))
		return
	}
	a.initErr <- parseErrorDocument(body, r.Header.Get(headerErrorType))
	renderAccepted(w)
}

// handleExtensionRegister registers an internal extension, such as the one
// aws-lambda-go registers for lambda.WithEnableSIGTERM. Only SHUTDOWN events
// are offered: INVOKE events are not.
func (a *runtimeAPI) handleExtensionRegister(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(headerExtensionName) == "" {
		renderError(w, http.StatusForbidden, "Extension.InvalidExtensionName", "missing "+headerExtensionName+" header")
		return
	}
	var req struct {
		Events []string `json:"events"`
	}
	body, _, err := readLimited(r.Body, 64*1024)
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		renderError(w, http.StatusBadRequest, "InvalidRequestFormat", fmt.Sprintf("read the registration: %v", err))
		return
	}
	shutdown := false
	for _, e := range req.Events {
		switch e {
		case "SHUTDOWN":
			shutdown = true
		default:
			renderError(w, http.StatusBadRequest, "Extension.InvalidEventType",
				fmt.Sprintf("event type %q is not offered by this runtime API (only SHUTDOWN is)", e))
			return
		}
	}
	a.mu.Lock()
	if a.state != stateInitializing {
		a.mu.Unlock()
		renderError(w, http.StatusForbidden, "Extension.RegistrationClosed", "extensions register during init only")
		return
	}
	id := newRequestID()
	a.extensions[id] = shutdown
	a.mu.Unlock()
	w.Header().Set(headerExtensionID, id)
	renderJSON(w, http.StatusOK, a.info)
}

// handleExtensionNext blocks until the environment shuts down, and then sends
// a SHUTDOWN event to the extensions registered for one.
func (a *runtimeAPI) handleExtensionNext(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(headerExtensionID)
	a.mu.Lock()
	shutdown, ok := a.extensions[id]
	a.mu.Unlock()
	if !ok {
		renderError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "unknown extension identifier")
		return
	}
	select {
	case <-r.Context().Done():
	case <-a.done:
	case <-a.shutdown:
		if !shutdown {
			// Not registered for SHUTDOWN: nothing ever comes.
			select {
			case <-r.Context().Done():
			case <-a.done:
			}
			return
		}
		a.mu.Lock()
		deadline := a.shutdownAt
		a.mu.Unlock()
		renderJSON(w, http.StatusOK, map[string]any{
			"eventType":      "SHUTDOWN",
			"shutdownReason": "spindown",
			"deadlineMs":     deadline.UnixMilli(),
		})
	}
}

// parseErrorDocument reads a runtime's error document. The error type is the
// document's errorType, else the Lambda-Runtime-Function-Error-Type header,
// else "Unhandled"; a body that is not a JSON document is the message.
func parseErrorDocument(body []byte, headerType string) *esm.FunctionError {
	var doc errorDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		doc = errorDocument{ErrorMessage: strings.TrimSpace(string(body))}
	}
	fe := &esm.FunctionError{Type: doc.ErrorType, Message: doc.ErrorMessage}
	if fe.Type == "" {
		fe.Type = headerType
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

// trailerError reads the error a runtime sent in the trailers of a streamed
// response.
func trailerError(typ, body64 string) *esm.FunctionError {
	body, err := base64.StdEncoding.DecodeString(body64)
	if err != nil || len(body) == 0 {
		return &esm.FunctionError{Type: typ, Message: "the runtime failed while sending its response"}
	}
	return parseErrorDocument(body, typ)
}

// readLimited reads r up to limit bytes and counts, without keeping, the rest:
// size is the full length, body the first min(size, limit) bytes.
func readLimited(r io.Reader, limit int64) (body []byte, size int64, err error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit))
	if err != nil {
		return nil, n, err
	}
	rest, err := io.Copy(io.Discard, r)
	if err != nil {
		return nil, n + rest, err
	}
	return buf.Bytes(), n + rest, nil
}

func renderAccepted(w http.ResponseWriter) {
	renderJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func renderError(w http.ResponseWriter, status int, typ, msg string) {
	renderJSON(w, status, errorDocument{ErrorMessage: msg, ErrorType: typ})
}

func renderJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // our own types: cannot happen
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the runtime's connection is its own concern
}
