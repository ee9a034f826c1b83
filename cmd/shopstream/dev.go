package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
)

// derivedTopics are the topics functions write to.
var derivedTopics = []string{event.TopicFraudAlerts, event.TopicInventoryAlerts, event.TopicDeadLetters}

type devOptions struct {
	dataDir         string
	brokers         string
	kafkaAddr       string
	databaseURL     string
	partitions      int
	events          int64
	rate            float64
	seed            uint64
	duration        time.Duration
	legacyShare     float64
	exitWhenDrained bool
	reportPath      string
	verify          bool
	keep            bool
	quiet           bool
	binary          bool
	lambdaEndpoint  string
	functions       string
	http            devHTTPOptions
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o devOptions
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.StringVar(&o.dataDir, "data-dir", filepath.Join(".shopstream", "run"), "run `directory`: service data and logs, function logs, on-failure records (failures/FUNCTION/)")
	fs.StringVar(&o.brokers, "brokers", "", "use this Kafka cluster (`host:port,...`) instead of the in-process broker")
	fs.StringVar(&o.kafkaAddr, "kafka-addr", "127.0.0.1:0", "listen address of the in-process Kafka broker (loopback only; port 0 picks a free one)")
	fs.StringVar(&o.databaseURL, "database-url", "", "use this PostgreSQL server (`URL`) instead of a private cluster")
	fs.IntVar(&o.partitions, "partitions", 6, "partitions of each topic created")
	fs.Int64Var(&o.events, "events", 0, "produce `N` events, then stop producing (0: no limit)")
	fs.Float64Var(&o.rate, "rate", 0, "events per second to produce (0: as fast as possible)")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	fs.DurationVar(&o.duration, "duration", 0, "produce for this long, then stop producing (0: no limit)")
	fs.Float64Var(&o.legacyShare, "legacy-share", 0.1, "share of events written in the shapes producers already send")
	fs.BoolVar(&o.exitWhenDrained, "exit-when-drained", false, "stop once production has ended and every consumer group has caught up")
	fs.StringVar(&o.reportPath, "report", "", "write a JSON summary of the run to `FILE`")
	fs.BoolVar(&o.verify, "verify", false, "compare the final state with the generator's ground truth; exit 1 on any difference")
	fs.BoolVar(&o.keep, "keep", false, "when done, keep the services running and print how to connect, until Ctrl-C")
	fs.BoolVar(&o.quiet, "quiet", false, "no live view or progress lines")
	fs.StringVar(&o.lambdaEndpoint, "lambda-endpoint", "", "invoke the functions deployed behind this Lambda Invoke API `URL` (LocalStack: http://localhost:4566) instead of running them here")
	fs.StringVar(&o.functions, "functions", "", "run only these functions (`name,...`; default: all of "+strings.Join(functionNames(), ", ")+")")
	fs.BoolVar(&o.binary, "binary", false, "run each function's real bootstrap binary under a local Lambda Runtime API instead of in process")
	addHTTPFlags(fs, &o.http)
	if err := parseFlags(fs, args, stderr, "dev [flags]",
		"Runs the whole pipeline on this machine: Kafka, DynamoDB Local, an S3 server and",
		"PostgreSQL on 127.0.0.1, an event source mapping per function, and the traffic",
		"generator. Ctrl-C stops everything it started."); err != nil {
		return err
	}
	if o.exitWhenDrained && o.events == 0 && o.duration == 0 {
		return usageError{"--exit-when-drained needs --events or --duration: production must end for the pipeline to drain"}
	}
	if o.events < 0 || o.rate < 0 || o.duration < 0 || o.partitions < 1 {
		return usageError{"--events, --rate and --duration must not be negative, --partitions at least 1"}
	}
	if _, err := selectFunctions(o.functions); err != nil {
		return usageError{"--functions: " + err.Error()}
	}
	if err := o.http.check(fs); err != nil {
		return usageError{"--http: " + err.Error()}
	}
	port, err := loopbackPort(o.kafkaAddr)
	if err != nil {
		return usageError{"--kafka-addr: " + err.Error()}
	}
	return dev(ctx, o, port, stdout, stderr)
}

// selectFunctions returns the pipeline functions named in list (comma
// separated), or all of them for an empty list.
func selectFunctions(list string) ([]pipelineFunction, error) {
	if strings.TrimSpace(list) == "" {
		return pipeline, nil
	}
	var out []pipelineFunction
	for _, name := range strings.Split(list, ",") {
		f, ok := findFunction(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown function %q (known: %s)", name, strings.Join(functionNames(), ", "))
		}
		out = append(out, f)
	}
	return out, nil
}

// loopbackPort parses a listen address that must be on the loopback interface.
func loopbackPort(addr string) (int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return 0, fmt.Errorf("%s is not a loopback address: local services listen on 127.0.0.1 only", host)
	}
	return strconv.Atoi(p)
}

func dev(ctx context.Context, o devOptions, kafkaPort int, stdout, stderr io.Writer) error {
	start := time.Now()
	if err := os.MkdirAll(o.dataDir, 0o755); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	logFile, err := os.Create(filepath.Join(o.dataDir, "dev.log"))
	if err != nil {
		return fmt.Errorf("run log: %w", err)
	}
	defer logFile.Close()
	logger := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tty := isTerminal(stdout)
	say := func(format string, args ...any) {
		if !o.quiet {
			fmt.Fprintf(stderr, format+"\n", args...)
		}
	}

	say("shopstream dev: starting Kafka, DynamoDB Local, S3 and PostgreSQL (logs in %s)", o.dataDir)
	topics := append(append([]string{}, generator.InputTopics...), derivedTopics...)
	cfg := devstack.Config{
		RunDir:      o.dataDir,
		Logger:      logger,
		PostgresURL: o.databaseURL,
		Kafka:       devstack.KafkaConfig{Topics: topics, Partitions: int32(o.partitions), Port: kafkaPort, Logger: logger},
	}
	if o.brokers != "" {
		cfg.Kafka.Brokers = strings.Split(o.brokers, ",")
	}
	stack, err := devstack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer stack.Stop()
	brokers := stack.Kafka.Brokers
	say("shopstream dev: services ready in %s; Kafka at %s", time.Since(start).Round(100*time.Millisecond), strings.Join(brokers, ","))
	if o.keep {
		printEndpoints(stderr, stack)
	}

	client, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(4<<20), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	startOffsets, err := endOffsets(ctx, admin, topics...)
	if err != nil {
		return err
	}
	env := &devEnv{Stack: stack, Kafka: client, Logger: logger, Env: stack.Env()}

	// One event source mapping per function, invoking it in process.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var wg sync.WaitGroup
	defer wg.Wait()
	var mappings []*devMappingState
	selected, _ := selectFunctions(o.functions)
	for _, f := range selected {
		m, err := startFunction(runCtx, f, env, brokers, o.dataDir, invokeMode{Binary: o.binary, LambdaEndpoint: o.lambdaEndpoint}, &wg)
		if err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		mappings = append(mappings, m)
	}
	dl := dashboard.NewDeadLetters(startOffsets[event.TopicDeadLetters], kgo.SeedBrokers(brokers...))
	wg.Add(1)
	go func() { defer wg.Done(); dl.Run(runCtx, logger) }()
	var board *dashboard.Server
	if o.http.addr != "off" {
		if board, err = devDashboard(runCtx, env, admin, topics, mappings, dl, &wg); err != nil {
			return err
		}
	}
	web, err := startDevHTTP(runCtx, o.http, selected, env, board)
	if err != nil {
		return err
	}
	defer web.Close()
	say("shopstream dev: %s", web)

	// The generator, producing to Kafka.
	g, err := generator.New(generator.Config{Seed: o.seed, LegacyShare: o.legacyShare, Start: time.Now().UTC(),
		EventsPerSecond: defaultDensity(o.rate)})
	if err != nil {
		return err
	}
	var genStats generator.Stats
	var genErr error
	genDone := make(chan struct{})
	go func() {
		defer close(genDone)
		genStats, genErr = generator.Run(runCtx, g, generator.NewKafkaSink(client),
			generator.RunOptions{Count: o.events, Duration: o.duration, Rate: o.rate})
	}()

	// The view, until production ends and the pipeline drains, or Ctrl-C.
	every := 5 * time.Second
	if tty {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last devSnapshot
	lastAt := time.Now()
	snapshot := func(generatorState string) devSnapshot {
		now := time.Now()
		s := devSnapshot{Elapsed: now.Sub(start), Generator: generatorState, Produced: g.Emitted(), Bad: g.BadEmitted()}
		dt := now.Sub(lastAt).Seconds()
		if dt > 0 {
			s.ProduceRS = float64(s.Produced-last.Produced) / dt
		}
		letters := dl.ByFunction()
		for i, m := range mappings {
			fs := m.snapshot(letters[m.fn.Name])
			if dt > 0 && i < len(last.Functions) {
				fs.RecordsRS = float64(fs.Records-last.Functions[i].Records) / dt
			}
			s.Functions = append(s.Functions, fs)
		}
		last, lastAt = s, now
		return s
	}
	show := func(s devSnapshot) {
		switch {
		case o.quiet:
		case tty:
			renderView(stdout, s)
		default:
			fmt.Fprintln(stdout, progressLine(s))
		}
	}
	state := "running"
loop:
	for {
		select {
		case <-ctx.Done():
			state = "interrupted"
			break loop
		case <-genDone:
			genDone = nil
			state = "done"
			if genErr != nil {
				return fmt.Errorf("generator: %w", genErr)
			}
			if o.exitWhenDrained {
				if err := waitDrained(ctx, mappings, dl, admin, show, snapshot); err != nil {
					return err
				}
				if ctx.Err() != nil {
					state = "interrupted"
				}
				break loop
			}
			say("shopstream dev: produced %d events; consuming until Ctrl-C", genStats.Records)
		case <-tick.C:
			show(snapshot(state))
		}
	}
	stopRun()
	if genDone != nil {
		<-genDone
	}
	wg.Wait()
	final := snapshot(state)
	if !o.quiet {
		if tty {
			renderView(stdout, final)
		}
		fmt.Fprintln(stdout, progressLine(final))
	}

	truth := g.Truth()
	var diffs []string
	if o.verify {
		diffs, err = verifyRun(context.WithoutCancel(ctx), env, admin, startOffsets, truth, mappings)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	if o.reportPath != "" {
		rep := buildReport(start, genStats, truth, final, dl, o.verify, diffs)
		if err := writeJSONFile(o.reportPath, rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if o.verify {
		if len(diffs) > 0 {
			for _, d := range diffs {
				fmt.Fprintln(stderr, "verify:", d)
			}
			return fmt.Errorf("verify: %d differences from the ground truth", len(diffs))
		}
		fmt.Fprintf(stdout, "verify: the final state equals the ground truth (%d events, %d functions)\n", truth.Records, len(mappings))
	}
	if o.keep && ctx.Err() == nil {
		printEndpoints(stdout, stack)
		fmt.Fprintln(stdout, "The local services keep running until Ctrl-C.")
		<-ctx.Done()
	}
	return nil
}

// defaultDensity is the generator's event-time density: the production rate
// when one is given, so event time follows the clock.
func defaultDensity(rate float64) float64 {
	if rate > 0 {
		return rate
	}
	return 0
}

func waitDrained(ctx context.Context, mappings []*devMappingState, dl *dashboard.DeadLetters, admin *kadm.Client,
	show func(devSnapshot), snapshot func(string) devSnapshot) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// What one function produces another may read (the lake archives the
	// alerts and dead letters of the others): a pass over the mappings is
	// repeated until no record was produced during it.
	var topics []string
	for _, m := range mappings {
		for _, t := range m.fn.Topics {
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	for {
		before, err := endOffsets(ctx, admin, topics...)
		if err != nil {
			return err
		}
		for _, m := range mappings {
			for {
				wctx, cancel := context.WithTimeout(ctx, time.Second)
				err := m.mapping.WaitDrained(wctx)
				cancel()
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return nil // interrupted: stop as asked
				}
				if ferr := m.failed(); ferr != nil {
					return fmt.Errorf("function %s: %w", m.fn.Name, ferr)
				}
				show(snapshot("done"))
			}
		}
		after, err := endOffsets(ctx, admin, topics...)
		if err != nil {
			return err
		}
		if maps.EqualFunc(before, after, maps.Equal[map[int32]int64]) {
			break
		}
	}
	// The dead-letter counter reads what the functions wrote.
	for ctx.Err() == nil {
		ends, err := endOffsets(ctx, admin, event.TopicDeadLetters)
		if err != nil {
			return err
		}
		if dl.CaughtUp(ends[event.TopicDeadLetters]) {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
			show(snapshot("done"))
		}
	}
	return nil
}

// endOffsets returns the end offset of every partition of topics.
func endOffsets(ctx context.Context, admin *kadm.Client, topics ...string) (map[string]map[int32]int64, error) {
	ends, err := admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	out := map[string]map[int32]int64{}
	var errs []error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("end offset of %s/%d: %w", o.Topic, o.Partition, o.Err))
			return
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, errors.Join(errs...)
}

func sumOffsets(m map[int32]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printEndpoints says how to reach the local services from a shell.
func printEndpoints(w io.Writer, stack *devstack.Stack) {
	fmt.Fprintln(w, "Connect to the local services with:")
	for _, kv := range stack.Env() {
		fmt.Fprintln(w, "  export "+shellQuoteEnv(kv))
	}
	fmt.Fprintln(w, "  aws dynamodb list-tables --endpoint-url \"$AWS_ENDPOINT_URL_DYNAMODB\"")
	fmt.Fprintln(w, "  aws s3 ls --endpoint-url \"$AWS_ENDPOINT_URL_S3\"")
	fmt.Fprintln(w, "  psql \"$DATABASE_URL\"")
}

func shellQuoteEnv(kv string) string {
	k, v, _ := strings.Cut(kv, "=")
	return k + "='" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// verifyRun compares the final state with the ground truth: every record the
// generator wrote is in Kafka, and each function's sinks hold what the truth
// says.
func verifyRun(ctx context.Context, env *devEnv, admin *kadm.Client, startOffsets map[string]map[int32]int64,
	truth *generator.Truth, mappings []*devMappingState) ([]string, error) {
	var diffs []string
	ends, err := endOffsets(ctx, admin, generator.InputTopics...)
	if err != nil {
		return nil, err
	}
	for _, t := range generator.InputTopics {
		got := sumOffsets(ends[t]) - sumOffsets(startOffsets[t])
		if want := truth.ByTopic[t]; got != want {
			diffs = append(diffs, fmt.Sprintf("topic %s holds %d new records, the generator wrote %d", t, got, want))
		}
	}
	for _, m := range mappings {
		if m.fn.Verify == nil {
			continue
		}
		d, err := m.fn.Verify(ctx, env, truth)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.fn.Name, err)
		}
		for _, s := range d {
			diffs = append(diffs, m.fn.Name+": "+s)
		}
	}
	return diffs, nil
}

// devReport is the JSON summary `--report` writes.
type devReport struct {
	StartedAt   time.Time                 `json:"started_at"`
	WallSeconds float64                   `json:"wall_seconds"`
	Events      reportEvents              `json:"events"`
	Functions   map[string]reportFunction `json:"functions"`
	DeadLetters map[string]int64          `json:"dead_letters_by_reason"`
	Verified    *bool                     `json:"verified,omitempty"`
	Differences []string                  `json:"differences,omitempty"`
}

type reportEvents struct {
	Produced     int64            `json:"produced"`
	Bad          int64            `json:"bad"`
	PerSecond    float64          `json:"per_second"`
	ByTopic      map[string]int64 `json:"by_topic"`
	FraudOrders  int              `json:"fraud_orders"`
	ProduceWallS float64          `json:"produce_wall_seconds"`
}

type reportFunction struct {
	Topics      []string         `json:"topics"`
	Batches     int64            `json:"batches"`
	Records     int64            `json:"records"`
	DeadLetters int64            `json:"dead_letters"`
	ByReason    map[string]int64 `json:"dead_letters_by_reason"`
	Retries     int64            `json:"retries"`
	Errors      int64            `json:"errors"`
	ToFailure   int64            `json:"sent_to_on_failure"`
	Lag         int64            `json:"lag"`
}

func buildReport(start time.Time, gs generator.Stats, truth *generator.Truth, s devSnapshot, dl *dashboard.DeadLetters,
	verified bool, diffs []string) devReport {
	wall := time.Since(start).Seconds()
	r := devReport{StartedAt: start.UTC(), WallSeconds: wall, Functions: map[string]reportFunction{},
		DeadLetters: dl.ByReason(),
		Events: reportEvents{Produced: truth.Records, Bad: truth.Bad, ByTopic: truth.ByTopic, FraudOrders: len(truth.Fraud),
			ProduceWallS: gs.Elapsed.Seconds(), PerSecond: gs.PerSecond()}}
	perFn := dl.ByFunctionReason()
	for _, f := range s.Functions {
		r.Functions[f.Name] = reportFunction{Topics: f.Topics, Batches: f.Batches, Records: f.Records,
			DeadLetters: f.DeadLetters, ByReason: perFn[f.Name], Retries: f.Retries, Errors: f.Errors,
			ToFailure: f.ToFailure, Lag: f.Lag}
	}
	if verified {
		ok := len(diffs) == 0
		r.Verified, r.Differences = &ok, diffs
	}
	return r
}

// devMappingState is one function's running event source mapping.
type devMappingState struct {
	fn      pipelineFunction
	mapping *esm.Mapping
	mu      sync.Mutex
	err     error
}

func (m *devMappingState) failed() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *devMappingState) snapshot(deadLetters int64) functionSnapshot {
	st := m.mapping.Stats()
	fs := functionSnapshot{Name: m.fn.Name, Topics: m.fn.Topics, Batches: st.Batches, Records: st.Succeeded,
		DeadLetters: deadLetters, Retries: st.Retries, Errors: st.FunctionErrors + st.InvocationErrors + st.InvalidResponses,
		ToFailure: st.SentToDestination, LastError: st.LastError}
	for _, p := range st.Partitions {
		if p.Lag > 0 {
			fs.Lag += p.Lag
		}
	}
	return fs
}

// devMapping is the event source mapping `shopstream dev` gives a function:
// as deployed, but with a short batching window so a laptop run feels live.
func devMapping(f pipelineFunction, brokers []string) esm.Config {
	retries := 3
	cfg := esm.Config{
		FunctionName:            f.Name,
		Topics:                  f.Topics,
		BootstrapServers:        brokers,
		EventSourceARN:          "arn:aws:kafka:us-east-1:000000000000:cluster/shopstream-dev/00000000-0000-0000-0000-000000000000-1",
		BatchSize:               1000,
		MaxBatchingWindow:       200 * time.Millisecond,
		StartingPosition:        esm.TrimHorizon,
		RetryAttempts:           &retries,
		BisectBatchOnError:      true,
		ReportBatchItemFailures: true,
	}
	if f.Tune != nil {
		f.Tune(&cfg)
	}
	return cfg
}

func startFunction(ctx context.Context, f pipelineFunction, env *devEnv, brokers []string, dataDir string,
	mode invokeMode, wg *sync.WaitGroup) (*devMappingState, error) {
	if f.Setup != nil {
		if err := f.Setup(ctx, env); err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
	}
	logs, err := os.Create(filepath.Join(dataDir, f.Name+".log"))
	if err != nil {
		return nil, err
	}
	inv, closeInv, err := functionInvoker(ctx, f, env, dataDir, mode, time.Minute, logs)
	if err != nil {
		logs.Close()
		return nil, err
	}
	cfg := devMapping(f, brokers)
	cfg.OnFailure = esm.NewDirDestination(filepath.Join(dataDir, "failures", f.Name))
	m, err := esm.New(cfg, inv, esm.WithLogger(env.Logger.With("function", f.Name)))
	if err != nil {
		closeInv()
		logs.Close()
		return nil, err
	}
	st := &devMappingState{fn: f, mapping: m}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer logs.Close()
		defer closeInv()
		if err := m.Run(ctx); err != nil && ctx.Err() == nil {
			st.mu.Lock()
			st.err = err
			st.mu.Unlock()
			env.Logger.Error("event source mapping stopped", "function", f.Name, "err", err)
		}
	}()
	return st, nil
}
