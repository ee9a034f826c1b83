// Package lambdaruntime runs a Lambda function's real bootstrap binary on
// this machine, under a local implementation of the Lambda Runtime API
// (2018-06-01), as the provided.al2023 runtime runs it in Lambda.
//
// A Function is an esm.Invoker: each invocation is handed to a function
// process through GET /runtime/invocation/next and answered through
// POST /runtime/invocation/{id}/response or /error, with the headers,
// environment, error documents and status codes Lambda uses. Each process has
// its own Runtime API on a loopback port, handles one invocation at a time,
// and is replaced after it crashes, exits or times out:
//
//	fn, err := lambdaruntime.New("inventory", "bin/inventory/bootstrap",
//		lambdaruntime.WithEnv(map[string]string{"AWS_ENDPOINT_URL": endpoint}),
//		lambdaruntime.WithTimeout(30*time.Second),
//		lambdaruntime.WithOutput(logs))
//	...
//	defer fn.Close()
//	resp, err := fn.Invoke(ctx, kafkaEventJSON)
//
// The function's ARN is arn:aws:lambda:REGION:000000000000:function:NAME.
//
// The internal extension aws-lambda-go registers for
// lambda.WithEnableSIGTERM is accepted, so that Close's SIGTERM reaches the
// function's handlers; INVOKE events for extensions are not offered.
package lambdaruntime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shopstream/shopstream/shared/esm"
)

// ErrClosed is the error of an invocation made, or cut short, by Close.
var ErrClosed = errors.New("function closed")

var _ esm.Invoker = (*Function)(nil)

// Function runs one function's bootstrap under the local Runtime API. It is
// safe for concurrent use.
type Function struct {
	name      string
	bootstrap string
	arn       string
	info      functionInfo
	cfg       config
	out       *lineWriter

	idle    chan *sandbox // the sandboxes not handling an invocation
	closing chan struct{} // closed when Close begins

	mu       sync.Mutex
	closed   bool
	procs    map[*process]struct{} // every started process not yet reaped
	inflight sync.WaitGroup        // invocations and starts in progress
}

// sandbox is one slot of concurrency: at most one process at a time, which
// handles at most one invocation at a time. Only the goroutine that took the
// sandbox from Function.idle touches it.
type sandbox struct {
	proc *process
}

var functionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// reserved are the variables New refuses in WithEnv: the Runtime API sets
// them, from options where they are configurable.
var reserved = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_MAX_CONCURRENCY",
	"LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ",
}

// New returns a Function named name (Lambda's function name rules) that runs
// the executable bootstrap. It starts no process: the first invocation, or
// Start, does.
func New(name, bootstrap string, opts ...Option) (*Function, error) {
	cfg := config{
		env:         map[string]string{},
		timeout:     3 * time.Second,
		initTimeout: 10 * time.Second,
		grace:       2 * time.Second,
		memoryMB:    128,
		region:      "us-east-1",
		version:     "$LATEST",
		handler:     "bootstrap",
		concurrency: 1,
		output:      os.Stderr,
	}
	for _, o := range opts {
		o(&cfg)
	}
	fail := func(format string, args ...any) (*Function, error) {
		return nil, fmt.Errorf("new function %q: %s", name, fmt.Sprintf(format, args...))
	}
	if !functionName.MatchString(name) {
		return fail("a function name is 1 to 64 letters, digits, hyphens and underscores")
	}
	abs, err := filepath.Abs(bootstrap)
	if err != nil {
		return fail("bootstrap: %v", err)
	}
	st, err := os.Stat(abs)
	switch {
	case err != nil:
		return fail("bootstrap: %v", err)
	case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
		return fail("bootstrap %s is not an executable file", abs)
	}
	if cfg.taskRoot == "" {
		cfg.taskRoot = filepath.Dir(abs)
	}
	for _, k := range reserved {
		if _, ok := cfg.env[k]; ok {
			return fail("environment variable %s is reserved: the runtime API sets it", k)
		}
	}
	switch {
	case cfg.timeout <= 0:
		return fail("timeout %v is not positive", cfg.timeout)
	case cfg.initTimeout <= 0:
		return fail("init timeout %v is not positive", cfg.initTimeout)
	case cfg.grace < 0:
		return fail("shutdown grace %v is negative", cfg.grace)
	case cfg.concurrency < 1:
		return fail("concurrency %d is less than 1", cfg.concurrency)
	case cfg.memoryMB < 1:
		return fail("memory size %d MB is less than 1", cfg.memoryMB)
	case cfg.output == nil:
		return fail("output writer is nil")
	}

	f := &Function{
		name:      name,
		bootstrap: abs,
		arn:       fmt.Sprintf("arn:aws:lambda:%s:000000000000:function:%s", cfg.region, name),
		info:      functionInfo{FunctionName: name, FunctionVersion: cfg.version, Handler: cfg.handler},
		cfg:       cfg,
		out:       &lineWriter{w: cfg.output},
		idle:      make(chan *sandbox, cfg.concurrency),
		closing:   make(chan struct{}),
		procs:     map[*process]struct{}{},
	}
	for range cfg.concurrency {
		f.idle <- &sandbox{}
	}
	return f, nil
}

// Name returns the function's name.
func (f *Function) Name() string { return f.name }

// Invoke runs one invocation of the function with payload, as Lambda's
// synchronous Invoke does, and returns the function's response. It waits for
// a free process, starting one when none runs.
//
// A function failure — an error the runtime reported, a panic, a process that
// exited or failed to initialise, a timeout — is a *esm.FunctionError. Any
// other error means the invocation could not be made. When ctx ends first,
// Invoke returns ctx's error at once; an invocation that already has its
// process runs on to its end, as in Lambda. The request ID is the one ctx
// carries (esm.ContextWithRequestID), else a new one; other metadata for the
// runtime comes from ctx too (see NewContext).
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayloadSize {
		return nil, fmt.Errorf("invoke %s: payload of %d bytes exceeds the %d-byte limit",
			f.name, len(payload), MaxPayloadSize)
	}
	id, ok := esm.RequestIDFromContext(ctx)
	if !ok {
		id = newRequestID()
	}
	inv := &invocation{
		id:      id,
		payload: bytes.Clone(payload), // the invocation may outlive this call
		arn:     f.arn,
		meta:    metadataFrom(ctx),
		result:  make(chan result, 1),
	}
	sb, err := f.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.name, err)
	}
	type outcome struct {
		payload []byte
		err     error
	}
	done := make(chan outcome, 1)
	go func() {
		defer f.inflight.Done()
		payload, err := f.invoke(sb, inv)
		f.idle <- sb
		done <- outcome{payload, err}
	}()
	select {
	case o := <-done:
		var fe *esm.FunctionError
		if o.err != nil && !errors.As(o.err, &fe) {
			return nil, fmt.Errorf("invoke %s: %w", f.name, o.err)
		}
		return o.payload, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s: %w", f.name, ctx.Err())
	}
}

// Start starts every process the function may run (see WithConcurrency) and
// waits for each to initialise, so that a function that cannot start says so
// now rather than on its first invocation. It is optional: Invoke starts
// processes as it needs them.
func (f *Function) Start(ctx context.Context) error {
	// Hold every sandbox until all are warm, so that none is warmed twice
	// while another is skipped.
	var held []*sandbox
	var errs []error
	for range f.cfg.concurrency {
		sb, err := f.acquire(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		held = append(held, sb)
	}
	warmErrs := make([]error, len(held))
	var wg sync.WaitGroup
	for i, sb := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			warmErrs[i] = f.warm(sb)
		}()
	}
	wg.Wait()
	for _, sb := range held {
		f.idle <- sb
		f.inflight.Done()
	}
	if err := errors.Join(append(errs, warmErrs...)...); err != nil {
		return fmt.Errorf("start function %s: %w", f.name, err)
	}
	return nil
}

// Close stops every process — SIGTERM, then SIGKILL after the shutdown grace
// (see WithShutdownGrace) — and waits for them to be reaped and for every
// invocation in progress to end with ErrClosed. Invocations after Close fail
// with ErrClosed. Close is safe to call more than once.
func (f *Function) Close() error {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.closing)
	}
	procs := slices.Collect(maps.Keys(f.procs))
	f.mu.Unlock()

	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(f.cfg.grace)
		}()
	}
	wg.Wait()
	f.inflight.Wait()
	return nil
}

// acquire takes a free sandbox and counts the work it is taken for in
// f.inflight; the caller returns the sandbox to f.idle and calls
// f.inflight.Done.
func (f *Function) acquire(ctx context.Context) (*sandbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var sb *sandbox
	select {
	case sb = <-f.idle:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-f.closing:
		return nil, ErrClosed
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		f.idle <- sb
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		f.idle <- sb
		return nil, err
	}
	f.inflight.Add(1)
	return sb, nil
}

// warm makes sure sb has an initialised process.
func (f *Function) warm(sb *sandbox) error {
	if sb.proc != nil && !sb.proc.hasExited() {
		return nil
	}
	sb.proc = nil
	p, err := f.startProcess()
	if err != nil {
		return err
	}
	if err := f.awaitInit(p, ""); err != nil {
		return err
	}
	sb.proc = p
	return nil
}

// invoke runs inv on sb's process, starting one when needed.
func (f *Function) invoke(sb *sandbox, inv *invocation) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		if sb.proc == nil || sb.proc.hasExited() {
			sb.proc = nil
			p, err := f.startProcess()
			if err != nil {
				return nil, err
			}
			if err := f.awaitInit(p, inv.id); err != nil {
				return nil, err
			}
			sb.proc = p
		}
		p := sb.proc

		// The deadline covers the wait for the runtime to ask for the
		// invocation: until it does, it is still busy with the last one.
		inv.deadline = time.Now().Add(f.cfg.timeout)
		timer := time.NewTimer(f.cfg.timeout)
		select {
		case p.api.invocations <- inv:
		case <-p.exited:
			// It exited between invocations, as aws-lambda-go does after
			// reporting a panic: the invocation was never handed over.
			timer.Stop()
			sb.proc = nil
			if attempt < 3 {
				continue
			}
			return nil, &esm.FunctionError{Type: "Runtime.ExitError",
				Message: fmt.Sprintf("RequestId: %s Error: %s", inv.id, p.exitReason())}
		case <-timer.C:
			p.kill()
			sb.proc = nil
			return nil, f.timedOut(inv.id)
		case <-f.closing:
			timer.Stop()
			<-p.exited
			return nil, ErrClosed
		}
		payload, err := f.await(sb, p, inv, timer)
		timer.Stop()
		return payload, err
	}
}

// await waits for the answer to inv, which p holds.
func (f *Function) await(sb *sandbox, p *process, inv *invocation, timer *time.Timer) ([]byte, error) {
	answered := func(res result) ([]byte, error) {
		if res.err != nil {
			return nil, res.err
		}
		return res.payload, nil
	}
	select {
	case res := <-inv.result:
		return answered(res)
	case <-p.exited:
		sb.proc = nil
		select {
		case res := <-inv.result: // answered, then exited
			return answered(res)
		default:
		}
		return nil, &esm.FunctionError{Type: "Runtime.ExitError",
			Message: fmt.Sprintf("RequestId: %s Error: %s", inv.id, p.exitReason())}
	case <-timer.C:
		p.kill()
		sb.proc = nil
		return nil, f.timedOut(inv.id)
	case <-f.closing:
		<-p.exited
		sb.proc = nil
		select {
		case res := <-inv.result:
			return answered(res)
		default:
		}
		return nil, ErrClosed
	}
}

func (f *Function) timedOut(requestID string) *esm.FunctionError {
	return &esm.FunctionError{Type: "Sandbox.Timedout",
		Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, f.cfg.timeout.Seconds())}
}

// initErrorExitWait is how long a runtime that reported an init error has to
// exit by itself before it is killed.
const initErrorExitWait = 500 * time.Millisecond

// awaitInit waits for a new process to initialise: to ask for its first
// invocation. A process that reports an init error, exits or takes longer
// than the init timeout is killed, and its failure returned as a
// *esm.FunctionError.
func (f *Function) awaitInit(p *process, requestID string) error {
	prefix := "Error: "
	if requestID != "" {
		prefix = "RequestId: " + requestID + " Error: "
	}
	timer := time.NewTimer(f.cfg.initTimeout)
	defer timer.Stop()
	select {
	case <-p.api.ready:
		return nil
	case fe := <-p.api.initErr:
		// A runtime exits after reporting an init error; give it a moment
		// to do so, and its last lines to reach the output, then kill it.
		exit := time.NewTimer(initErrorExitWait)
		defer exit.Stop()
		select {
		case <-p.exited:
		case <-exit.C:
			p.kill()
		}
		return fe
	case <-p.exited:
		select {
		case fe := <-p.api.initErr:
			return fe
		default:
		}
		return &esm.FunctionError{Type: "Runtime.ExitError",
			Message: prefix + p.exitReason() + " during init, before taking an invocation"}
	case <-timer.C:
		p.kill()
		return &esm.FunctionError{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("%sInit timed out after %.2f seconds", prefix, f.cfg.initTimeout.Seconds())}
	case <-f.closing:
		<-p.exited
		return ErrClosed
	}
}

// environ is the environment of a function process whose Runtime API is at
// api: what Lambda gives a provided.al2023 function, the caller's variables,
// and this machine's PATH.
func (f *Function) environ(api string) []string {
	now := time.Now().UTC()
	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          api,
		"AWS_LAMBDA_FUNCTION_NAME":        f.name,
		"AWS_LAMBDA_FUNCTION_VERSION":     f.cfg.version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.cfg.memoryMB),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + f.name,
		"AWS_LAMBDA_LOG_STREAM_NAME": fmt.Sprintf("%s/[%s]%s",
			now.Format("2006/01/02"), f.cfg.version, randomHex(16)),
		"AWS_REGION":         f.cfg.region,
		"AWS_DEFAULT_REGION": f.cfg.region,
		"_HANDLER":           f.cfg.handler,
		"LAMBDA_TASK_ROOT":   f.cfg.taskRoot,
		"TZ":                 ":UTC",
		"LANG":               "en_US.UTF-8",
		"PATH":               os.Getenv("PATH"),
	}
	if f.cfg.logFormat != "" {
		env["AWS_LAMBDA_LOG_FORMAT"] = f.cfg.logFormat
	}
	if f.cfg.logLevel != "" {
		env["AWS_LAMBDA_LOG_LEVEL"] = f.cfg.logLevel
	}
	maps.Copy(env, f.cfg.env)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
