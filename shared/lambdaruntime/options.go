package lambdaruntime

import (
	"io"
	"time"
)

// Option configures a Function.
type Option func(*config)

type config struct {
	env         map[string]string
	timeout     time.Duration
	initTimeout time.Duration
	grace       time.Duration
	memoryMB    int
	region      string
	version     string
	handler     string
	taskRoot    string
	logFormat   string
	logLevel    string
	concurrency int
	output      io.Writer
}

// WithEnv adds the function's own environment variables, such as
// AWS_ENDPOINT_URL, table names and credentials (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Later calls add to earlier ones.
// Default: none. The variables the Runtime API sets itself are refused by New:
// they have options of their own.
//
// The function process gets no other variable of this process's environment
// than PATH, as a Lambda function gets none of the machine's.
func WithEnv(env map[string]string) Option {
	return func(c *config) {
		for k, v := range env {
			c.env[k] = v
		}
	}
}

// WithTimeout sets the function timeout: an invocation not answered within it
// is stopped by killing the process, and fails with a *esm.FunctionError of
// type "Sandbox.Timedout". Default: 3 seconds, Lambda's default.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithInitTimeout sets how long a new process may take to initialise, that is
// to first ask for an invocation. Default: 10 seconds, Lambda's init limit.
func WithInitTimeout(d time.Duration) Option { return func(c *config) { c.initTimeout = d } }

// WithShutdownGrace sets how long Close waits after SIGTERM before it kills a
// process with SIGKILL. Default: 2 seconds.
func WithShutdownGrace(d time.Duration) Option { return func(c *config) { c.grace = d } }

// WithMemorySize sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB. It is not
// enforced. Default: 128.
func WithMemorySize(mb int) Option { return func(c *config) { c.memoryMB = mb } }

// WithRegion sets AWS_REGION and AWS_DEFAULT_REGION, and the region of the
// function ARN. Default: "us-east-1".
func WithRegion(region string) Option { return func(c *config) { c.region = region } }

// WithVersion sets AWS_LAMBDA_FUNCTION_VERSION. Default: "$LATEST".
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithHandler sets _HANDLER, the function's handler setting. Default:
// "bootstrap", what the project's functions are deployed with.
func WithHandler(h string) Option { return func(c *config) { c.handler = h } }

// WithTaskRoot sets LAMBDA_TASK_ROOT, which is also the process's working
// directory. Default: the directory that holds the bootstrap.
func WithTaskRoot(dir string) Option { return func(c *config) { c.taskRoot = dir } }

// WithLogFormat sets AWS_LAMBDA_LOG_FORMAT ("JSON" or "Text"). Default: unset.
func WithLogFormat(format string) Option { return func(c *config) { c.logFormat = format } }

// WithLogLevel sets AWS_LAMBDA_LOG_LEVEL ("DEBUG", "INFO", "WARN", "ERROR", ...).
// Default: unset.
func WithLogLevel(level string) Option { return func(c *config) { c.logLevel = level } }

// WithConcurrency sets how many processes may run at once, each handling one
// invocation at a time, as reserved concurrency does. Invocations beyond it
// wait for a free process. Default: 1.
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithOutput sets where the processes' stdout and stderr go, copied a whole
// line per Write and one Write at a time. Default: os.Stderr.
func WithOutput(w io.Writer) Option { return func(c *config) { c.output = w } }
