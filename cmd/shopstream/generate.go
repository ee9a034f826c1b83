package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/generator"
)

func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	var (
		count       = fs.Int64("count", 0, "stop after `N` records (0: no limit)")
		duration    = fs.Duration("duration", 0, "stop after this wall-clock `duration`, e.g. 30s (0: no limit)")
		rate        = fs.Float64("rate", 0, "records per second to write (0: as fast as possible)")
		seed        = fs.Uint64("seed", 1, "random seed; the same seed gives the same records, byte for byte")
		users       = fs.Int("users", 5000, "number of customer accounts")
		products    = fs.Int("products", 500, "number of products")
		warehouses  = fs.Int("warehouses", 3, "number of warehouses")
		fraudRate   = fs.Float64("fraud-rate", 0.02, "share of orders that belong to an injected fraud pattern")
		badRate     = fs.Float64("bad-rate", 0.01, "share of records that are bad (malformed or invalid)")
		legacyShare = fs.Float64("legacy-share", 0, "share of good records written in the shapes producers already send")
		start       = fs.String("start", generator.DefaultStart.Format(time.RFC3339), "event time of the first record (RFC 3339), or \"now\"")
		density     = fs.Float64("events-per-second", 0, "density of traffic in event time (default: --rate when set, else 50)")
		brokers     = fs.String("brokers", "", "produce to this Kafka cluster (`host:port,...`) instead of a file")
		partitions  = fs.Int("partitions", 6, "partitions for topics the generator creates on --brokers")
		out         = fs.String("out", "", "write JSON lines to this `file` (- for stdout)")
		truthPath   = fs.String("truth", "", "write the ground truth of what was generated to this `file`")
		quiet       = fs.Bool("quiet", false, "no progress line on stderr")
	)
	if err := parseFlags(fs, args, stderr, "generate (--out FILE|- | --brokers HOST:PORT,...) [flags]",
		"Generates user sessions, orders, inventory and feedback events, with injected",
		"fraud and bad records, and writes the ground truth a correct pipeline must reach.",
		"Without --count or --duration it runs until interrupted."); err != nil {
		return err
	}
	if (*out == "") == (*brokers == "") {
		return usageError{"give exactly one of --out and --brokers"}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := generator.Config{
		Seed: *seed, Users: *users, Products: *products, Warehouses: *warehouses,
		FraudRate: *fraudRate, BadRate: *badRate, LegacyShare: *legacyShare,
		NoFraud: *fraudRate == 0, NoBad: *badRate == 0, EventsPerSecond: *density,
	}
	if cfg.EventsPerSecond == 0 && *rate > 0 {
		cfg.EventsPerSecond = *rate
	}
	if *start == "now" {
		cfg.Start = time.Now().UTC()
	} else {
		t, err := time.Parse(time.RFC3339Nano, *start)
		if err != nil {
			return usageError{fmt.Sprintf("--start: %q is not an RFC 3339 time or \"now\"", *start)}
		}
		cfg.Start = t
	}
	g, err := generator.New(cfg)
	if err != nil {
		return usageError{err.Error()}
	}

	var sink generator.Sink
	switch {
	case *out == "-":
		sink = generator.NewFileSink(nopCloser{stdout})
	case *out != "":
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("open output: %w", err)
		}
		sink = generator.NewFileSink(f)
	default:
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(strings.Split(*brokers, ",")...),
			kgo.ProducerLinger(5*time.Millisecond),
			kgo.ProducerBatchMaxBytes(4<<20),
			kgo.MaxBufferedRecords(100_000),
		)
		if err != nil {
			return fmt.Errorf("kafka client: %w", err)
		}
		defer cl.Close()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = generator.EnsureTopics(tctx, cl, int32(*partitions), generator.InputTopics...)
		cancel()
		if err != nil {
			return fmt.Errorf("brokers %s: %w", *brokers, err)
		}
		sink = generator.NewKafkaSink(cl)
	}

	opt := generator.RunOptions{Count: *count, Duration: *duration, Rate: *rate}
	if !*quiet {
		opt.Progress = stderr
		if f, ok := stderr.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				opt.Overwrite = true
			}
		}
		if !opt.Overwrite {
			opt.ProgressEvery = 5 * time.Second
		}
	}
	st, runErr := generator.Run(ctx, g, sink, opt)
	if *truthPath != "" {
		if err := writeJSONFile(*truthPath, g.Truth()); err != nil {
			return errors.Join(runErr, fmt.Errorf("write truth: %w", err))
		}
	}
	if runErr == nil && st.Records == 0 && ctx.Err() == nil {
		return errors.New("no records written")
	}
	return runErr
}

type nopCloser struct{ io.Writer }

// writeJSONFile writes v as indented JSON to path atomically.
func writeJSONFile(path string, v any) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	enc := json.NewEncoder(tmp)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
