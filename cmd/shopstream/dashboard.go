package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	fraud "github.com/shopstream/shopstream/functions/fraud/api"
	support "github.com/shopstream/shopstream/functions/support/api"
	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkaclient"
)

// Feed names of the functions' tables.
const (
	feedFraudAlerts  = "fraud_alerts"
	feedLowStock     = "low_stock"
	feedSupportCases = "support_cases"
)

// feedOrder is the order of the panels on the page; feeds not listed come
// after these.
var feedOrder = []string{
	dashboard.FeedThroughput, dashboard.FeedLag, dashboard.FeedRevenue, dashboard.FeedFunnel,
	dashboard.FeedTopProducts, dashboard.FeedSessions, feedFraudAlerts, feedLowStock, feedSupportCases,
	dashboard.FeedDeadLetters,
}

// orderFeeds sorts feeds into the page's order.
func orderFeeds(feeds []dashboard.Feed) []dashboard.Feed {
	rank := func(name string) int {
		if i := slices.Index(feedOrder, name); i >= 0 {
			return i
		}
		return len(feedOrder)
	}
	out := slices.Clone(feeds)
	slices.SortStableFunc(out, func(a, b dashboard.Feed) int { return rank(a.Name) - rank(b.Name) })
	return out
}

// latestRows is how many alerts and cases the lists show.
const latestRows = 8

func fraudAlertsFeed(db *dynamodb.Client, t fraud.Tables) dashboard.Feed {
	return dashboard.Feed{Name: feedFraudAlerts, Title: "Fraud alerts by rule",
		Doc: "AlertSummary: fraud alerts and flagged orders, by decision and by rule, and the latest alerts (fraud function's alerts table)",
		Read: func(ctx context.Context) (any, error) {
			return fraud.Alerts(ctx, db, t, latestRows)
		}}
}

func supportCasesFeed(db *dynamodb.Client, t support.Tables) dashboard.Feed {
	return dashboard.Feed{Name: feedSupportCases, Title: "Open support cases",
		Doc: "CaseSummary: open support cases by priority, and the latest opened (support function's cases table)",
		Read: func(ctx context.Context) (any, error) {
			return support.OpenCases(ctx, db, t, latestRows)
		}}
}

// newDashboard builds the dashboard of feeds, in the page's order.
func newDashboard(feeds []dashboard.Feed, source string, refresh time.Duration) (*dashboard.Server, error) {
	return dashboard.New(orderFeeds(feeds), dashboard.Options{Title: "shopstream", Source: source, Refresh: refresh})
}

type dashboardOptions struct {
	http          devHTTPOptions
	databaseURL   string
	brokers       string
	kafkaAuth     string
	groups        string
	fraudAlerts   string
	supportCases  string
	stock         string
	refresh       time.Duration
	deadLetterAge time.Duration
}

// dashboardHTTPDefault is where `shopstream dashboard` serves unless told
// otherwise: beside the default of `shopstream dev`.
const dashboardHTTPDefault = "127.0.0.1:8766"

func runDashboard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o dashboardOptions
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.StringVar(&o.http.addr, "http", dashboardHTTPDefault, "serve the dashboard on `host:port`")
	fs.BoolVar(&o.http.public, "http-public", false, "allow --http on an address other than loopback (the dashboard has no authentication)")
	fs.StringVar(&o.databaseURL, "database-url", "", "the analytics PostgreSQL (`URL`, a pgx DSN; default $DATABASE_URL): revenue, funnel, top products, sessions")
	fs.StringVar(&o.brokers, "brokers", "", "Kafka bootstrap brokers (`host:port,...`): events/s by topic, consumer lag, dead letters")
	fs.StringVar(&o.kafkaAuth, "kafka-auth", "none", "Kafka authentication: none, or iam (MSK IAM over TLS, with the default AWS credentials)")
	fs.StringVar(&o.groups, "groups", "", "consumer groups to chart the lag of (`group,...`; default: every group of the cluster)")
	fs.DurationVar(&o.deadLetterAge, "dead-letters-since", 24*time.Hour, "count the dead letters of this long back")
	fs.StringVar(&o.fraudAlerts, "fraud-alerts-table", "", "the fraud function's alerts table (DynamoDB `name`, default AWS config)")
	fs.StringVar(&o.supportCases, "support-cases-table", "", "the support function's cases table (DynamoDB `name`)")
	fs.StringVar(&o.stock, "stock-table", "", "the inventory function's stock table (DynamoDB `name`)")
	fs.DurationVar(&o.refresh, "refresh", 3*time.Second, "how often the page reads its feeds")
	if err := parseFlags(fs, args, stderr, "dashboard [flags]",
		"Serves the live dashboard of a deployment: the analytics views of its database,",
		"its Kafka topics and consumer lag, and the functions' tables, each when given.",
		"(`shopstream dev` serves the same page for the local pipeline.)"); err != nil {
		return err
	}
	if o.databaseURL == "" {
		o.databaseURL = os.Getenv("DATABASE_URL")
	}
	if o.http.addr == "off" {
		return usageError{"--http: the dashboard needs an address"}
	}
	if err := o.http.check(fs); err != nil {
		return usageError{"--http: " + err.Error()}
	}
	if o.refresh < time.Second {
		return usageError{"--refresh: at least 1s"}
	}
	if o.databaseURL == "" && o.brokers == "" && o.fraudAlerts == "" && o.supportCases == "" && o.stock == "" {
		return usageError{"nothing to show: give --database-url (or DATABASE_URL), --brokers, or a table flag"}
	}
	return serveDashboard(ctx, o, stdout, stderr)
}

func serveDashboard(ctx context.Context, o dashboardOptions, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var feeds []dashboard.Feed
	var sources []string
	if o.databaseURL != "" {
		pool, err := pgxpool.New(ctx, o.databaseURL)
		if err != nil {
			return fmt.Errorf("--database-url: %w", err)
		}
		defer pool.Close()
		feeds = append(feeds, dashboard.AnalyticsFeeds(pool)...)
		sources = append(sources, "database "+pool.Config().ConnConfig.Host)
	}
	if o.brokers != "" {
		auth, err := kafkaclient.ParseAuth(o.kafkaAuth)
		if err != nil {
			return usageError{"--kafka-auth: " + err.Error()}
		}
		kfeeds, err := kafkaFeeds(ctx, o, auth, logger)
		if err != nil {
			return err
		}
		feeds = append(feeds, kfeeds...)
		sources = append(sources, "Kafka "+o.brokers)
	}
	if o.fraudAlerts != "" || o.supportCases != "" || o.stock != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("AWS config: %w", err)
		}
		db := dynamodb.NewFromConfig(cfg)
		if o.fraudAlerts != "" {
			feeds = append(feeds, fraudAlertsFeed(db, fraud.Tables{Alerts: o.fraudAlerts}))
		}
		if o.supportCases != "" {
			feeds = append(feeds, supportCasesFeed(db, support.Tables{Cases: o.supportCases}))
		}
		if o.stock != "" {
			feeds = append(feeds, lowStockFeed(db, o.stock))
		}
		sources = append(sources, "DynamoDB")
	}
	srv, err := newDashboard(feeds, strings.Join(sources, " · "), o.refresh)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.http.addr)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	fmt.Fprintf(stdout, "shopstream dashboard on http://%s/ (feeds at /api); Ctrl-C stops it\n", ln.Addr())
	if !dashboard.Built() {
		fmt.Fprintln(stderr, "shopstream dashboard: this build has no chart script; run `make assets` and rebuild (the JSON feeds work)")
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// kafkaFeeds are the events/s, lag and dead-letter feeds of a cluster.
func kafkaFeeds(ctx context.Context, o dashboardOptions, auth kafkaclient.Auth, logger *slog.Logger) ([]dashboard.Feed, error) {
	kc := kafkaclient.Config{Brokers: kafkaclient.SplitBrokers(o.brokers), Auth: auth}
	if auth == kafkaclient.AuthIAM {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("AWS config: %w", err)
		}
		kc.Credentials = cfg.Credentials
	}
	opts, err := kafkaclient.Options(kc)
	if err != nil {
		return nil, fmt.Errorf("--brokers: %w", err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("--brokers: %w", err)
	}
	context.AfterFunc(ctx, cl.Close)
	admin := kadm.NewClient(cl)
	topics := append(slices.Clone(generator.InputTopics), derivedTopics...)
	var groups []string
	if o.groups != "" {
		groups = strings.Split(o.groups, ",")
	}
	mon := dashboard.NewMonitor(dashboard.MonitorConfig{Admin: admin, Topics: topics, Groups: groups})
	go mon.Run(ctx)
	start, err := admin.ListOffsetsAfterMilli(ctx, time.Now().Add(-o.deadLetterAge).UnixMilli(), event.TopicDeadLetters)
	if err != nil {
		return nil, fmt.Errorf("dead-letter offsets: %w", err)
	}
	from := map[int32]int64{}
	start.Each(func(lo kadm.ListedOffset) {
		if lo.Err == nil {
			from[lo.Partition] = lo.Offset
		}
	})
	dl := dashboard.NewDeadLetters(from, opts...)
	go dl.Run(ctx, logger)
	return append(mon.Feeds(), dl.Feed()), nil
}

// devDashboard builds the dashboard of `shopstream dev`: events/s by topic
// and each mapping's lag sampled in the background, the dead letters, and
// every running function's own feeds.
func devDashboard(ctx context.Context, env *devEnv, admin *kadm.Client, topics []string, mappings []*devMappingState,
	dl *dashboard.DeadLetters, wg *sync.WaitGroup) (*dashboard.Server, error) {
	mon := dashboard.NewMonitor(dashboard.MonitorConfig{Admin: admin, Topics: topics,
		Lag: func(context.Context) (map[string]int64, error) {
			lag := make(map[string]int64, len(mappings))
			for _, m := range mappings {
				lag[m.fn.Name] = m.snapshot(0).Lag
			}
			return lag, nil
		}})
	wg.Add(1)
	go func() { defer wg.Done(); mon.Run(ctx) }()
	feeds := append(mon.Feeds(), dl.Feed())
	for _, m := range mappings {
		if m.fn.Feeds == nil {
			continue
		}
		fs, err := m.fn.Feeds(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("function %s: dashboard feeds: %w", m.fn.Name, err)
		}
		feeds = append(feeds, fs...)
	}
	return newDashboard(feeds, "shopstream dev: the local pipeline", 2*time.Second)
}
