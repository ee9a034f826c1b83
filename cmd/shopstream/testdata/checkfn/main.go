// Command checkfn is a test function for `shopstream dev` and `shopstream
// invoke`: built as a real bootstrap, it reads KAFKA_BROKERS and runs
// check.Handler.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/cmd/shopstream/testdata/checkfn/check"
)

func main() {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(os.Getenv("KAFKA_BROKERS"), ",")...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkfn:", err)
		os.Exit(1)
	}
	h, err := check.Handler(cl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkfn:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
