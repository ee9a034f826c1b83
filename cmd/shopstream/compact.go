package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shopstream/shopstream/shared/lake"
)

// runLake runs the lake's maintenance subcommands.
func runLake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "Usage: shopstream lake compact --table T --dt YYYY-MM-DD [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "  compact   merge the small files of a table's partitions of one day into large ones")
		if len(args) == 0 {
			return usageError{"no lake command given"}
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "compact":
		return runCompact(ctx, args[1:], stdout, stderr)
	}
	return usageError{fmt.Sprintf("unknown lake command %q (known: compact)", args[0])}
}

func runCompact(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		src    lakeSource
		table  string
		date   string
		hour   string
		target int64
		minAge time.Duration
	)
	fs := flag.NewFlagSet("lake compact", flag.ContinueOnError)
	src.flags(fs)
	fs.StringVar(&table, "table", "", "the `table` to compact (required): "+strings.Join(tableNames(), ", "))
	fs.StringVar(&date, "dt", "", "the `day` to compact, YYYY-MM-DD, UTC (required)")
	fs.StringVar(&hour, "hour", "", "compact only this `HH` hour of the day")
	fs.Int64Var(&target, "target-mb", 128, "aim each compacted file at this many `MB` of input")
	fs.DurationVar(&minAge, "min-age", 10*time.Minute, "leave an hour partition alone until it ended this long ago: the lake function may still be writing to it")
	if err := parseFlags(fs, args, stderr, "lake compact --table T --dt YYYY-MM-DD [flags]",
		"Merges the small files of each hour partition of the day into files of about",
		"--target-mb, committed by one manifest per partition, then deletes what they",
		"supersede. Safe to rerun at any time, also after a crash: it converges, and a",
		"rerun over a compacted partition changes nothing."); err != nil {
		return err
	}
	if _, ok := lake.TableNamed(table); !ok {
		return usageError{fmt.Sprintf("--table %q: use one of %s", table, strings.Join(tableNames(), ", "))}
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return usageError{fmt.Sprintf("--dt %q is not a YYYY-MM-DD date", date)}
	}
	if hour != "" {
		if _, _, ok := lake.ParseKey(table + "/dt=" + date + "/hour=" + hour + "/x.parquet"); !ok {
			return usageError{fmt.Sprintf("--hour %q is not an hour 00 to 23", hour)}
		}
	}
	if target < 1 || minAge < 0 {
		return usageError{"--target-mb must be positive and --min-age not negative"}
	}
	objs, err := src.objects(ctx)
	if err != nil {
		return err
	}
	c := lake.NewCompactor(objs, lake.WithCompactPrefix(src.prefix), lake.WithTargetSize(target<<20))
	start := time.Now()
	var rs []lake.CompactResult
	if hour != "" {
		p := lake.Partition{Date: date, Hour: hour}
		if end, _ := time.Parse(time.DateOnly+" 15", date+" "+hour); minAge > 0 && time.Since(end.Add(time.Hour)) < minAge {
			return fmt.Errorf("%s %s has not ended %s ago; --min-age 0 compacts it anyway", table, p.Path(), minAge)
		}
		r, err := c.CompactPartition(ctx, table, p)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	} else if rs, err = c.CompactDate(ctx, table, date, minAge); err != nil {
		printCompaction(stdout, rs, time.Since(start))
		return err
	}
	if len(rs) == 0 || (len(rs) == 1 && rs[0].FilesBefore == 0) {
		return fmt.Errorf("no partition of %s on %s in %s", table, date, src.where())
	}
	printCompaction(stdout, rs, time.Since(start))
	return nil
}

func tableNames() []string {
	var names []string
	for _, t := range lake.Tables() {
		names = append(names, t.Name)
	}
	return names
}

// printCompaction writes one line per partition and the totals.
func printCompaction(w io.Writer, rs []lake.CompactResult, took time.Duration) {
	mb := func(n int64) string { return fmt.Sprintf("%.2f", float64(n)/(1<<20)) }
	fmt.Fprintf(w, "%-40s %6s %6s %9s %9s %9s %4s %8s  %s\n", "partition", "files", "after", "MB", "MB after", "rows", "gen", "seconds", "")
	var fb, fa int
	var bb, ba int64
	for _, r := range rs {
		note := ""
		switch {
		case r.Young:
			note = "not ended --min-age ago: left alone (--min-age 0 compacts it)"
		case r.Compacted:
			note = fmt.Sprintf("compacted; %d objects deleted", r.Deleted)
		case r.Deleted > 0:
			note = fmt.Sprintf("nothing to merge; %d leftover objects deleted", r.Deleted)
		default:
			note = "nothing to do"
		}
		rows := "-"
		if r.Rows > 0 {
			rows = fmt.Sprint(r.Rows)
		}
		fmt.Fprintf(w, "%-40s %6d %6d %9s %9s %9s %4d %8.2f  %s\n", r.Table+"/"+r.Partition.Path(), r.FilesBefore, r.FilesAfter,
			mb(r.BytesBefore), mb(r.BytesAfter), rows, r.Generation, r.Took.Seconds(), note)
		fb, fa, bb, ba = fb+r.FilesBefore, fa+r.FilesAfter, bb+r.BytesBefore, ba+r.BytesAfter
	}
	fmt.Fprintf(w, "%-40s %6d %6d %9s %9s %9s %4s %8.2f\n", "total", fb, fa, mb(bb), mb(ba), "", "", took.Seconds())
}
