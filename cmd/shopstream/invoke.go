package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/lambdaapi"
	"github.com/shopstream/shopstream/shared/lambdaruntime"
)

func runInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	eventPath := fs.String("event", "", "the payload to invoke the function with (a `FILE` such as events/payloads/transactions.json)")
	binary := fs.Bool("binary", false, "run the function's real bootstrap binary under a local Lambda Runtime API instead of in process")
	endpoint := fs.String("lambda-endpoint", "", "invoke the function deployed behind this Lambda Invoke API `URL` (LocalStack: http://localhost:4566) instead")
	dataDir := fs.String("data-dir", filepath.Join(".shopstream", "invoke"), "run `directory` of the local services")
	timeout := fs.Duration("timeout", 60*time.Second, "the function's timeout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: shopstream invoke FUNCTION --event FILE [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs one function once on a payload against freshly started local services and")
		fmt.Fprintln(stderr, "prints its response on stdout and its logs on stderr.")
		fmt.Fprintf(stderr, "Functions: %s\n\n", strings.Join(functionNames(), ", "))
		fs.PrintDefaults()
	}
	// The function name comes first; flags may follow it.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" || *eventPath == "" {
		return usageError{"give a function and --event FILE"}
	}
	f, ok := findFunction(name)
	if !ok {
		known := strings.Join(functionNames(), ", ")
		if known == "" {
			known = "none yet"
		}
		return usageError{fmt.Sprintf("unknown function %q (known: %s)", name, known)}
	}
	payload, err := os.ReadFile(*eventPath)
	if err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	if !json.Valid(payload) {
		return fmt.Errorf("event %s is not JSON", *eventPath)
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	stack, err := devstack.Start(ctx, devstack.Config{RunDir: *dataDir, Logger: logger,
		Kafka: devstack.KafkaConfig{Topics: derivedTopics, Logger: logger}})
	if err != nil {
		return err
	}
	defer stack.Stop()
	client, err := kgo.NewClient(kgo.SeedBrokers(stack.Kafka.Brokers...))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	env := &devEnv{Stack: stack, Kafka: client, Logger: logger, Env: stack.Env()}
	if f.Setup != nil {
		if err := f.Setup(ctx, env); err != nil {
			return fmt.Errorf("%s setup: %w", f.Name, err)
		}
	}
	inv, closeInv, err := functionInvoker(ctx, f, env, *dataDir, invokeMode{Binary: *binary, LambdaEndpoint: *endpoint}, *timeout, stderr)
	if err != nil {
		return err
	}
	defer closeInv()
	start := time.Now()
	resp, err := inv.Invoke(ctx, payload)
	elapsed := time.Since(start)
	var fe *esm.FunctionError
	if errors.As(err, &fe) {
		fmt.Fprintf(stderr, "invoke %s: function error after %s: %s: %s\n", f.Name, elapsed.Round(time.Millisecond), fe.Type, fe.Message)
		return fmt.Errorf("function %s failed", f.Name)
	}
	if err != nil {
		return fmt.Errorf("invoke %s: %w", f.Name, err)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, resp, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(resp)
	}
	fmt.Fprintln(stdout, pretty.String())
	fmt.Fprintf(stderr, "invoke %s: ok in %s\n", f.Name, elapsed.Round(time.Millisecond))
	return nil
}

// invokeMode says how a function is invoked.
type invokeMode struct {
	// Binary runs the function's bootstrap binary under the local Runtime API.
	Binary bool
	// LambdaEndpoint, when set, invokes the function deployed at this Lambda
	// Invoke API endpoint (LocalStack, or a Server), by name.
	LambdaEndpoint string
}

// functionInvoker returns an invoker of f: its handler in process, its
// bootstrap binary under the local Runtime API, or the function of that
// name behind a Lambda Invoke API endpoint.
func functionInvoker(ctx context.Context, f pipelineFunction, env *devEnv, dataDir string, mode invokeMode,
	timeout time.Duration, logs io.Writer) (esm.Invoker, func(), error) {
	if mode.LambdaEndpoint != "" {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(envOr("AWS_REGION", "us-east-1")))
		if err != nil {
			return nil, nil, fmt.Errorf("AWS configuration: %w", err)
		}
		client := lambda.NewFromConfig(cfg, func(o *lambda.Options) {
			o.BaseEndpoint = aws.String(mode.LambdaEndpoint)
			o.HTTPClient = &http.Client{Timeout: timeout + 10*time.Second}
		})
		return lambdaapi.NewInvoker(client, f.Name), func() {}, nil
	}
	if !mode.Binary {
		h, err := f.Handler(ctx, env)
		if err != nil {
			return nil, nil, fmt.Errorf("%s handler: %w", f.Name, err)
		}
		return esm.NewHandlerInvoker(h, esm.WithFunctionTimeout(timeout)), func() {}, nil
	}
	bootstrap, err := buildBootstrap(ctx, f.pkg(), filepath.Join(dataDir, "functions", f.Name))
	if err != nil {
		return nil, nil, err
	}
	vars := map[string]string{}
	for _, kv := range env.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "AWS_REGION" || k == "AWS_DEFAULT_REGION" {
			continue // the runtime sets these
		}
		vars[k] = v
	}
	fn, err := lambdaruntime.New(f.Name, bootstrap, lambdaruntime.WithEnv(vars), lambdaruntime.WithTimeout(timeout),
		lambdaruntime.WithOutput(logs))
	if err != nil {
		return nil, nil, err
	}
	return fn, func() { fn.Close() }, nil
}

// buildBootstrap builds the main package pkg (a path from the module root)
// as a Lambda bootstrap binary, as deployed (-tags lambda.norpc, no cgo),
// into dir.
func buildBootstrap(ctx context.Context, pkg, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(dir, "bootstrap"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// moduleRoot is the directory of the shopstream module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w (function binaries are built with the Go toolchain)", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the shopstream module: run shopstream from its checkout to build function binaries")
	}
	return filepath.Dir(gomod), nil
}

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
