package lambdaruntime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/esm"
)

// apiClient calls a runtimeAPI as a runtime does.
type apiClient struct {
	t    *testing.T
	base string
}

func newAPI(t *testing.T) (*runtimeAPI, *apiClient) {
	t.Helper()
	a, err := newRuntimeAPI(functionInfo{FunctionName: "fraud", FunctionVersion: "$LATEST", Handler: "bootstrap"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	return a, &apiClient{t: t, base: "http://" + a.addr()}
}

// do makes a request and returns the status and the body.
func (c *apiClient) do(req *http.Request) (int, http.Header, []byte) {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func (c *apiClient) post(path string, body []byte, header map[string]string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	status, _, b := c.do(req)
	return status, b
}

// next calls /next while inv is handed over, and returns the response.
func (c *apiClient) next(a *runtimeAPI, inv *invocation) (http.Header, []byte) {
	c.t.Helper()
	go func() { a.invocations <- inv }()
	req, _ := http.NewRequest(http.MethodGet, c.base+"/2018-06-01/runtime/invocation/next", nil)
	status, h, body := c.do(req)
	if status != http.StatusOK {
		c.t.Fatalf("next: status %d: %s", status, body)
	}
	return h, body
}

func newInvocation(payload string) *invocation {
	return &invocation{
		id:       newRequestID(),
		payload:  []byte(payload),
		deadline: time.Now().Add(3 * time.Second),
		arn:      "arn:aws:lambda:us-east-1:000000000000:function:fraud",
		meta:     Metadata{TraceID: newTraceID(time.Now())},
		result:   make(chan result, 1),
	}
}

// wantError checks a Runtime API error response.
func wantError(t *testing.T, what string, status int, body []byte, wantStatus int, wantType string) {
	t.Helper()
	var doc errorDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%s: body %q is not an error document: %v", what, body, err)
	}
	if status != wantStatus || doc.ErrorType != wantType || doc.ErrorMessage == "" {
		t.Fatalf("%s: %d %s: %q, want %d %s", what, status, doc.ErrorType, doc.ErrorMessage, wantStatus, wantType)
	}
}

func TestRuntimeAPIProtocol(t *testing.T) {
	a, c := newAPI(t)
	responsePath := func(id string) string { return "/2018-06-01/runtime/invocation/" + id + "/response" }
	errorPath := func(id string) string { return "/2018-06-01/runtime/invocation/" + id + "/error" }

	status, body := c.post(responsePath("not-yet"), []byte(`{}`), nil)
	wantError(t, "response before next", status, body, http.StatusForbidden, "InvalidStateTransition")

	// next hands the invocation over with Lambda's headers.
	inv := newInvocation(`{"records":{}}`)
	inv.meta.ClientContext = `{"custom":{"shop":"s-1"}}`
	inv.meta.CognitoIdentity = `{"cognitoIdentityId":"id-1"}`
	h, got := c.next(a, inv)
	select {
	case <-a.ready:
	default:
		t.Fatal("the first next did not mark the runtime ready")
	}
	if string(got) != `{"records":{}}` {
		t.Errorf("payload %q", got)
	}
	for name, want := range map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       inv.id,
		"Lambda-Runtime-Deadline-Ms":          strconv.FormatInt(inv.deadline.UnixMilli(), 10),
		"Lambda-Runtime-Invoked-Function-Arn": inv.arn,
		"Lambda-Runtime-Trace-Id":             inv.meta.TraceID,
		"Lambda-Runtime-Client-Context":       inv.meta.ClientContext,
		"Lambda-Runtime-Cognito-Identity":     inv.meta.CognitoIdentity,
		"Content-Type":                        "application/json",
	} {
		if h.Get(name) != want {
			t.Errorf("header %s = %q, want %q", name, h.Get(name), want)
		}
	}

	status, body = c.post(responsePath("someone-else"), []byte(`{}`), nil)
	wantError(t, "response for another request id", status, body, http.StatusBadRequest, "InvalidRequestID")
	status, body = c.post("/2018-06-01/runtime/init/error", []byte(`{}`), nil)
	wantError(t, "init error after init", status, body, http.StatusForbidden, "InvalidStateTransition")
	req, _ := http.NewRequest(http.MethodGet, c.base+"/2018-06-01/runtime/invocation/next", nil)
	status, _, body = c.do(req)
	wantError(t, "next while invoking", status, body, http.StatusForbidden, "InvalidStateTransition")

	status, body = c.post(responsePath(inv.id), []byte(`{"batchItemFailures":[]}`), map[string]string{"Content-Type": "application/json"})
	if status != http.StatusAccepted || string(body) != `{"status":"OK"}` {
		t.Fatalf("response: %d %s, want 202", status, body)
	}
	if res := <-inv.result; string(res.payload) != `{"batchItemFailures":[]}` || res.err != nil {
		t.Fatalf("result %+v", res)
	}
	status, body = c.post(responsePath(inv.id), []byte(`{}`), nil)
	wantError(t, "second response", status, body, http.StatusForbidden, "InvalidStateTransition")

	// An error document: its errorType wins over the header, which is the
	// fallback.
	inv = newInvocation(`{}`)
	c.next(a, inv)
	status, _ = c.post(errorPath(inv.id), []byte(`{"errorMessage":"stock table unreachable","errorType":"TransientError","stackTrace":[]}`),
		map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.Unknown"})
	if res := <-inv.result; status != http.StatusAccepted || *res.err != (esm.FunctionError{Type: "TransientError", Message: "stock table unreachable"}) {
		t.Fatalf("error: %d, result %+v", status, res.err)
	}
	inv = newInvocation(`{}`)
	c.next(a, inv)
	c.post(errorPath(inv.id), []byte(`out of memory`), map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.OutOfMemory"})
	if res := <-inv.result; *res.err != (esm.FunctionError{Type: "Runtime.OutOfMemory", Message: "out of memory"}) {
		t.Fatalf("error without a document: result %+v", res.err)
	}

	// A response over 6 MB is refused with 413 and fails the invocation.
	inv = newInvocation(`{}`)
	c.next(a, inv)
	status, body = c.post(responsePath(inv.id), bytes.Repeat([]byte("x"), MaxPayloadSize+1), nil)
	wantError(t, "response too large", status, body, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	if res := <-inv.result; res.err == nil || res.err.Type != "Function.ResponseSizeTooLarge" {
		t.Fatalf("result of a response too large: %+v", res)
	}

	// A response that fails mid-stream reports its error in trailers, as
	// aws-lambda-go does when a handler's io.Reader fails.
	inv = newInvocation(`{}`)
	c.next(a, inv)
	doc := base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"read report: disk gone","errorType":"PathError"}`))
	trailer := http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
	req, _ = http.NewRequest(http.MethodPost, c.base+responsePath(inv.id), &trailingReader{
		r: strings.NewReader(`{"partial":`),
		set: func() {
			trailer.Set("Lambda-Runtime-Function-Error-Type", "PathError")
			trailer.Set("Lambda-Runtime-Function-Error-Body", doc)
		},
	})
	req.Trailer = trailer
	if status, _, body := c.do(req); status != http.StatusAccepted {
		t.Fatalf("failed stream: %d %s", status, body)
	}
	if res := <-inv.result; res.err == nil || *res.err != (esm.FunctionError{Type: "PathError", Message: "read report: disk gone"}) {
		t.Fatalf("result of a failed stream: %+v", res)
	}

	// Routes and methods Lambda does not serve.
	req, _ = http.NewRequest(http.MethodGet, c.base+responsePath(inv.id), nil)
	if status, _, _ := c.do(req); status != http.StatusMethodNotAllowed {
		t.Errorf("GET on a response: status %d, want 405", status)
	}
	req, _ = http.NewRequest(http.MethodGet, c.base+"/2018-06-01/runtime/invocations", nil)
	if status, _, _ := c.do(req); status != http.StatusNotFound {
		t.Errorf("unknown path: status %d, want 404", status)
	}
}

// trailingReader is a request body that sets its trailers when it ends.
type trailingReader struct {
	r   io.Reader
	set func()
}

func (t *trailingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err == io.EOF {
		t.set()
	}
	return n, err
}

func (t *trailingReader) Close() error { return nil }

func TestRuntimeAPIInitError(t *testing.T) {
	a, c := newAPI(t)
	status, body := c.post("/2018-06-01/runtime/init/error", []byte(`{"errorMessage":"TABLE_NAME is not set","errorType":"ConfigError"}`), nil)
	if status != http.StatusAccepted {
		t.Fatalf("init error: %d %s", status, body)
	}
	if fe := <-a.initErr; *fe != (esm.FunctionError{Type: "ConfigError", Message: "TABLE_NAME is not set"}) {
		t.Fatalf("init error %+v", fe)
	}
	// The environment is unusable now: 500, and the runtime should exit.
	req, _ := http.NewRequest(http.MethodGet, c.base+"/2018-06-01/runtime/invocation/next", nil)
	status, _, body = c.do(req)
	wantError(t, "next after an init error", status, body, http.StatusInternalServerError, "InternalServerError")
	status, body = c.post("/2018-06-01/runtime/init/error", []byte(`{}`), nil)
	wantError(t, "second init error", status, body, http.StatusInternalServerError, "InternalServerError")
}

func TestRuntimeAPIExtensions(t *testing.T) {
	a, c := newAPI(t)
	register := func(events string) (int, string, []byte) {
		req, _ := http.NewRequest(http.MethodPost, c.base+"/2020-01-01/extension/register", strings.NewReader(`{"events":`+events+`}`))
		req.Header.Set("Lambda-Extension-Name", "GoLangEnableSIGTERM")
		status, h, body := c.do(req)
		return status, h.Get("Lambda-Extension-Identifier"), body
	}
	status, _, body := register(`["INVOKE","SHUTDOWN"]`)
	wantError(t, "register for INVOKE", status, body, http.StatusBadRequest, "Extension.InvalidEventType")

	status, id, body := register(`["SHUTDOWN"]`)
	var info functionInfo
	if err := json.Unmarshal(body, &info); err != nil || status != http.StatusOK || id == "" || info.FunctionName != "fraud" || info.Handler != "bootstrap" {
		t.Fatalf("register: %d id %q %s", status, id, body)
	}
	status, quiet, _ := register(`[]`)
	if status != http.StatusOK || quiet == "" {
		t.Fatalf("register for nothing: %d", status)
	}

	events := make(chan []byte, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, c.base+"/2020-01-01/extension/event/next", nil)
		req.Header.Set("Lambda-Extension-Identifier", id)
		_, _, body := c.do(req)
		events <- body
	}()
	c.next(a, newInvocation(`{}`)) // init is over
	status, _, body = register(`[]`)
	wantError(t, "register after init", status, body, http.StatusForbidden, "Extension.RegistrationClosed")

	select {
	case b := <-events:
		t.Fatalf("an event before shutdown: %s", b)
	case <-time.After(50 * time.Millisecond):
	}
	a.beginShutdown(time.Now().Add(time.Second))
	var ev struct {
		EventType  string `json:"eventType"`
		DeadlineMS int64  `json:"deadlineMs"`
	}
	if err := json.Unmarshal(<-events, &ev); err != nil || ev.EventType != "SHUTDOWN" || ev.DeadlineMS <= time.Now().UnixMilli() {
		t.Fatalf("shutdown event %+v: %v", ev, err)
	}

	req, _ := http.NewRequest(http.MethodGet, c.base+"/2020-01-01/extension/event/next", nil)
	req.Header.Set("Lambda-Extension-Identifier", "unknown")
	status, _, body = c.do(req)
	wantError(t, "next for an unknown extension", status, body, http.StatusForbidden, "Extension.UnknownExtensionIdentifier")
}
