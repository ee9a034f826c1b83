// Command installtools installs into the tools directory what the local
// stack needs and the machine does not provide (DynamoDB Local, versitygw,
// the loopback shim), and checks the prerequisites the machine must provide
// (Java 17+, the PostgreSQL server programs). scripts/install-tools runs it.
// It exits 1 when something is missing, with one line per problem saying
// what to install.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/shopstream/shopstream/shared/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tools := &devstack.Tools{
		Dir:    os.Getenv(devstack.ToolsDirEnv),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	if err := run(ctx, tools, os.Getenv(devstack.PostgresBinDirEnv)); err != nil {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				fmt.Fprintln(os.Stderr, "install-tools:", e)
			}
		} else {
			fmt.Fprintln(os.Stderr, "install-tools:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, tools *devstack.Tools, pgBinDir string) error {
	dir, err := tools.Path()
	if err != nil {
		return err
	}
	fmt.Println("tools directory:", dir)
	var errs []error
	report := func(name, path string, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		fmt.Printf("  %-15s %s\n", name, path)
	}
	ddb, err := tools.DynamoDBLocal(ctx)
	report("DynamoDB Local", ddb.Jar, err)
	shim, err := tools.LoopbackShim(ctx)
	report("loopback shim", shim, err)
	gw, err := tools.VersityGW(ctx)
	report("versitygw", gw, err)
	java, err := devstack.Java(ctx)
	report("java", java, err)
	pg, err := devstack.PostgresBinDir(pgBinDir)
	report("PostgreSQL", pg, err)
	return errors.Join(errs...)
}
