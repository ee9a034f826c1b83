package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/lakesql"
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		src      lakeSource
		format   string
		example  string
		examples bool
		params   stringList
		cacheDir string
	)
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src.flags(fs)
	fs.StringVar(&format, "format", "table", "output `format`: "+strings.Join(lakesql.Formats, ", "))
	fs.StringVar(&example, "example", "", "run the example query `NAME` (see --examples) instead of a statement")
	fs.BoolVar(&examples, "examples", false, "list the example queries (the Athena workgroup's named queries) and exit")
	fs.Var(&params, "param", "`value` of the statement's next ? parameter (repeat for each; the examples take the first and last dt)")
	fs.StringVar(&cacheDir, "cache-dir", "", "`folder` the files of an S3 lake are downloaded to (default: the user cache folder's shopstream/lake/BUCKET)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: shopstream query [flags] "SELECT ..."`)
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs SQL with DuckDB over the lake's Parquet files, under Athena's table names")
		fmt.Fprintln(stderr, "(user_events, transactions, inventory_updates, customer_feedback, alerts,")
		fmt.Fprintln(stderr, "dead_letters; dt and hour are string columns). By default it reads the lake of")
		fmt.Fprintln(stderr, "the last `shopstream dev` run; with --s3 or --endpoint, any bucket. Compacted")
		fmt.Fprintln(stderr, "partitions are read through their manifests: every row once.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if examples {
		for _, q := range lake.Queries() {
			fmt.Fprintf(stdout, "-- %s: %s\n%s;\n\n", q.Name, q.Description, q.SQL)
		}
		return nil
	}
	if !slices.Contains(lakesql.Formats, format) {
		return usageError{fmt.Sprintf("--format %q: use one of %s", format, strings.Join(lakesql.Formats, ", "))}
	}
	var stmt string
	switch {
	case example != "" && fs.NArg() == 0:
		i := slices.IndexFunc(lake.Queries(), func(q lake.Query) bool { return q.Name == example })
		if i < 0 {
			return usageError{fmt.Sprintf("no example query %q (see --examples)", example)}
		}
		stmt = lake.Queries()[i].SQL
	case example == "" && fs.NArg() == 1:
		stmt = fs.Arg(0)
	default:
		return usageError{"give one SQL statement (quoted), or --example NAME"}
	}

	var files lakesql.Files
	if src.s3() {
		objs, err := src.objects(ctx)
		if err != nil {
			return err
		}
		if cacheDir == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				return fmt.Errorf("no cache folder: give --cache-dir: %w", err)
			}
			cacheDir = filepath.Join(base, "shopstream", "lake", src.bucket)
		}
		if files, err = lakesql.Fetch(ctx, objs, src.prefix, cacheDir); err != nil {
			return fmt.Errorf("fetch %s: %w", src.where(), err)
		}
	} else {
		if _, err := src.objects(ctx); err != nil {
			return err
		}
		var err error
		if files, err = lakesql.Dir(ctx, src.dir(), src.prefix); err != nil {
			return err
		}
	}
	db, err := lakesql.Open(ctx, files)
	if err != nil {
		return err
	}
	defer db.Close()
	bind := make([]any, len(params))
	for i, p := range params {
		bind[i] = p
	}
	r, err := db.Query(ctx, stmt, bind...)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return lakesql.Write(stdout, r, format)
}
