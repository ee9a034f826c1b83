// Command shopstream is the shopstream command-line tool: it generates
// traffic, and runs and inspects the pipeline.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"dev", "run the whole pipeline locally: services, event source mappings, functions, traffic", runDev},
	{"generate", "generate realistic e-commerce traffic to Kafka or a file, with a ground truth", runGenerate},
	{"invoke", "run one function once on a payload against local services, like sam local invoke", runInvoke},
	{"recs", "print a product's recommendations from the read path (or the tables, with --direct)", runRecs},
	{"query", "run SQL (DuckDB) over the lake's Parquet files, with Athena's table names", runQuery},
	{"dashboard", "serve the live dashboard of a deployment's database, Kafka and tables", runDashboard},
	{"lake", "lake maintenance: `lake compact` merges a partition's small files", runLake},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "shopstream:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "shopstream:", err)
		return 1
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return usageError{"no command given"}
		}
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: shopstream COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'shopstream COMMAND -h' for a command's flags.")
}

// parseFlags parses a command's flags, which take no other arguments. Its
// help prints "Usage: shopstream " and usage, the lines of about, and the
// flags; a mistake in the command line is a usageError.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer, usage string, about ...string) error {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: shopstream "+usage)
		fmt.Fprintln(stderr)
		for _, line := range about {
			fmt.Fprintln(stderr, line)
		}
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
