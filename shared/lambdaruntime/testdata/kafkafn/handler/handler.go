// Package handler is the logic of the kafkafn test function, kept apart from
// its main so that the tests can also run it in process.
package handler

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// TransientError is the error Handle returns for a record whose value is
// "error"; aws-lambda-go reports it with errorType "TransientError".
type TransientError struct {
	Partition string
	Offset    int64
}

func (e *TransientError) Error() string {
	return fmt.Sprintf("transient failure at %s@%d", e.Partition, e.Offset)
}

// Handle processes a Kafka batch, partitions in name order and records in
// offset order. A record's value says what to do with it:
//
//	fail       list it in the partial batch response
//	error      return a *TransientError
//	panic      panic
//	exit       exit the process with status 3
//	sleep:MS   sleep MS milliseconds, whatever the deadline
//	log:TEXT   print TEXT on stdout and on stderr
//	spawn      start a child process that sleeps, and print its pid
//	exit-once:PATH  exit the process with status 3 unless PATH exists; create it first
//
// Any other value is processed successfully. When KAFKAFN_DONE_FILE is set,
// a batch that succeeds appends "topic-partition@offset" for each of its
// records to that file, so a test can see what was processed, and how often.
func Handle(ctx context.Context, ev events.KafkaEvent) (kafkabatch.Response, error) {
	var resp kafkabatch.Response
	for _, key := range slices.Sorted(maps.Keys(ev.Records)) {
		for _, rec := range ev.Records[key] {
			partition := fmt.Sprintf("%s-%d", rec.Topic, rec.Partition)
			value, err := base64.StdEncoding.DecodeString(rec.Value)
			if err != nil {
				return kafkabatch.Response{}, fmt.Errorf("decode value of %s@%d: %w", partition, rec.Offset, err)
			}
			verb, arg, _ := strings.Cut(string(value), ":")
			switch verb {
			case "fail":
				resp.BatchItemFailures = append(resp.BatchItemFailures, kafkabatch.BatchItemFailure{
					ItemIdentifier: kafkabatch.ItemIdentifier{Partition: partition, Offset: rec.Offset},
				})
			case "error":
				return kafkabatch.Response{}, &TransientError{Partition: partition, Offset: rec.Offset}
			case "panic":
				panic(fmt.Sprintf("poison record at %s@%d", partition, rec.Offset))
			case "exit":
				os.Exit(3)
			case "exit-once":
				if _, err := os.Stat(arg); err != nil {
					if f, err := os.Create(arg); err == nil {
						f.Close()
					}
					os.Exit(3)
				}
			case "sleep":
				ms, _ := strconv.Atoi(arg)
				time.Sleep(time.Duration(ms) * time.Millisecond)
			case "log":
				fmt.Fprintln(os.Stdout, "stdout: "+arg)
				fmt.Fprintln(os.Stderr, "stderr: "+arg)
			case "spawn":
				exe, err := os.Executable()
				if err != nil {
					return kafkabatch.Response{}, err
				}
				child := exec.Command(exe)
				child.Env = append(os.Environ(), "KAFKAFN_CHILD=1")
				if err := child.Start(); err != nil {
					return kafkabatch.Response{}, err
				}
				fmt.Printf("kafkafn child pid=%d\n", child.Process.Pid)
			}
		}
	}
	if path := os.Getenv("KAFKAFN_DONE_FILE"); path != "" {
		var b strings.Builder
		for _, key := range slices.Sorted(maps.Keys(ev.Records)) {
			for _, rec := range ev.Records[key] {
				fmt.Fprintf(&b, "%s-%d@%d\n", rec.Topic, rec.Partition, rec.Offset)
			}
		}
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return kafkabatch.Response{}, err
		}
		_, werr := f.WriteString(b.String())
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return kafkabatch.Response{}, werr
		}
	}
	return resp, nil
}

// InspectRequest is the payload of Inspect.
type InspectRequest struct {
	SleepMS int `json:"sleep_ms"`
}

// Inspect reports what the function sees of its environment and of the
// invocation, after sleeping SleepMS milliseconds.
func Inspect(ctx context.Context, req InspectRequest) (map[string]string, error) {
	time.Sleep(time.Duration(req.SleepMS) * time.Millisecond)
	out := map[string]string{"pid": strconv.Itoa(os.Getpid())}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		out["env."+k] = v
	}
	if wd, err := os.Getwd(); err == nil {
		out["cwd"] = wd
	}
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("no lambda context")
	}
	out["request_id"] = lc.AwsRequestID
	out["function_arn"] = lc.InvokedFunctionArn
	out["client_custom"] = lc.ClientContext.Custom["shop"]
	out["cognito_identity_id"] = lc.Identity.CognitoIdentityID
	out["function_name"] = lambdacontext.FunctionName
	out["memory_mb"] = strconv.Itoa(lambdacontext.MemoryLimitInMB)
	if d, ok := ctx.Deadline(); ok {
		out["deadline_in_ms"] = strconv.FormatInt(time.Until(d).Milliseconds(), 10)
	}
	out["local_zone"], _ = time.Now().Zone()
	return out, nil
}
