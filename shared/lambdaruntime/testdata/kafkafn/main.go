// Command kafkafn is a Kafka-triggered function for the lambdaruntime tests,
// built as a real bootstrap and run under the local Runtime API.
//
// KAFKAFN_INIT makes its init fail: "exit" exits, "post" reports an init
// error through the Runtime API and exits, "hang" never finishes.
// KAFKAFN_MODE=inspect starts handler.Inspect instead of handler.Handle;
// KAFKAFN_SIGTERM=1 asks aws-lambda-go for SIGTERM on shutdown.
package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/shopstream/shopstream/shared/lambdaruntime/testdata/kafkafn/handler"
)

func main() {
	if os.Getenv("KAFKAFN_CHILD") == "1" {
		time.Sleep(time.Hour)
		return
	}
	fmt.Printf("kafkafn pid=%d\n", os.Getpid())
	switch os.Getenv("KAFKAFN_INIT") {
	case "exit":
		fmt.Fprintln(os.Stderr, "kafkafn: TABLE_NAME is not set")
		os.Exit(2)
	case "post":
		postInitError()
		os.Exit(1)
	case "hang":
		time.Sleep(time.Hour)
	}
	var opts []lambda.Option
	if os.Getenv("KAFKAFN_SIGTERM") == "1" {
		opts = append(opts, lambda.WithEnableSIGTERM(func() {
			fmt.Println("kafkafn: SIGTERM received, flushing")
		}))
	}
	if os.Getenv("KAFKAFN_MODE") == "inspect" {
		lambda.StartWithOptions(handler.Inspect, opts...)
		return
	}
	lambda.StartWithOptions(handler.Handle, opts...)
}

// postInitError reports an init failure the way runtimes other than
// aws-lambda-go do.
func postInitError() {
	url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
	body := []byte(`{"errorMessage":"TABLE_NAME is not set","errorType":"ConfigError"}`)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkafn: post init error:", err)
		return
	}
	resp.Body.Close()
	fmt.Printf("kafkafn: init error posted: %d\n", resp.StatusCode)
}
