package dashboard_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	analytics "github.com/shopstream/shopstream/functions/analytics/api"
	"github.com/shopstream/shopstream/shared/dashboard"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// analyticsRun processes generated traffic with the analytics function into
// a fresh database and returns it with the ground truth.
func analyticsRun(t *testing.T, records int) (*pgxpool.Pool, *generator.Truth) {
	t.Helper()
	ctx := context.Background()
	pool, err := analytics.NewPool(ctx, analytics.Conn{URL: pgtest.URL(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := analytics.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	cl, _, _ := kafka(t, event.TopicDeadLetters)
	proc, err := analytics.NewProcessor(analytics.Config{Pool: pool, Kafka: cl, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	log, truth := esmtest.Generate(t, generator.Config{Seed: 5}, records, 3, event.TopicUserEvents, event.TopicTransactions)
	for _, batch := range log.LiveBatches(5000) {
		resp, err := proc.Process(ctx, batch)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("process: %v %+v", err, resp)
		}
	}
	return pool, truth
}

// TestAnalyticsFeeds: every analytics feed equals what the ground truth says
// of the same run, exactly: the last hour's minutes, today's funnel, the
// latest window's top products, the sessions.
func TestAnalyticsFeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, truth := analyticsRun(t, 30_000)
	feeds := map[string]dashboard.Feed{}
	for _, f := range dashboard.AnalyticsFeeds(pool) {
		feeds[f.Name] = f
	}
	read := func(name string) any {
		v, err := feeds[name].Read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}

	// Revenue: the _all rows of the last hour of 1-minute windows.
	var last time.Time
	for _, w := range truth.Windows.OneMinute {
		last = maxTime(last, w.Start)
	}
	var want []string
	for _, w := range truth.Windows.OneMinute {
		if w.Category == generator.AllCategories && w.Start.After(last.Add(-time.Hour)) {
			want = append(want, fmt.Sprintf("%s %d %d %d", w.Start.UTC().Format(time.RFC3339), w.Orders, w.PaidOrders, w.Revenue))
		}
	}
	slices.Sort(want)
	rev := read(dashboard.FeedRevenue).(dashboard.RevenueMinutes)
	var got []string
	for _, m := range rev.Minutes {
		got = append(got, fmt.Sprintf("%s %d %d %d", m.StartAt.Format(time.RFC3339), m.Orders, m.PaidOrders, m.RevenueCents))
	}
	if len(want) < 10 || !slices.Equal(got, want) {
		t.Fatalf("revenue minutes:\n got %v\nwant %v", got, want)
	}

	// Funnel: the _all 5-minute windows of the latest UTC day.
	var last5 time.Time
	for _, w := range truth.Windows.FiveMinute {
		last5 = maxTime(last5, w.Start)
	}
	day := last5.UTC().Truncate(24 * time.Hour)
	var steps [4]int64
	for _, w := range truth.Windows.FiveMinute {
		if w.Category == generator.AllCategories && !w.Start.Before(day) {
			steps[0] += w.ProductViews
			steps[1] += w.AddToCart
			steps[2] += w.Orders
			steps[3] += w.PaidOrders
		}
	}
	f := read(dashboard.FeedFunnel).(dashboard.Funnel)
	if f.Day != day.Format(time.DateOnly) || len(f.Steps) != 4 || steps[3] == 0 {
		t.Fatalf("funnel %+v, want day %s", f, day)
	}
	for i, s := range f.Steps {
		if s.Count != steps[i] {
			t.Fatalf("funnel step %s: %d, want %d", s.Step, s.Count, steps[i])
		}
	}
	if want := float64(steps[2]) / float64(steps[1]); f.Steps[2].Conversion != want {
		t.Fatalf("cart to order %v, want %v", f.Steps[2].Conversion, want)
	}

	// Top products: the latest 5-minute window's 10 most viewed.
	var latest time.Time
	for _, p := range truth.Analytics.Products.FiveMinute {
		latest = maxTime(latest, p.Start)
	}
	var top []generator.ProductWindow
	for _, p := range truth.Analytics.Products.FiveMinute {
		if p.Start.Equal(latest) {
			top = append(top, p)
		}
	}
	slices.SortFunc(top, func(a, b generator.ProductWindow) int {
		return cmp.Or(cmp.Compare(b.Views, a.Views), cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Category, b.Category))
	})
	top = top[:min(10, len(top))]
	tp := read(dashboard.FeedTopProducts).(dashboard.TopProducts)
	if !tp.WindowStart.Equal(latest) || len(tp.Products) != len(top) || len(top) == 0 {
		t.Fatalf("top products %+v, want %d of window %s", tp, len(top), latest)
	}
	for i, p := range tp.Products {
		w := top[i]
		if p.ProductID != w.ProductID || p.Category != w.Category || p.Views != w.Views || p.AddToCart != w.AddToCart ||
			p.Units != w.Units || p.RevenueCents != w.Revenue {
			t.Fatalf("top product %d: %+v, want %+v", i, p, w)
		}
	}

	// Sessions: totals, and starts per minute of the last hour.
	var converted, revenue int64
	var lastStart time.Time
	for _, s := range truth.Analytics.Sessions {
		if s.Converted() {
			converted++
		}
		revenue += s.Revenue
		lastStart = maxTime(lastStart, s.Start)
	}
	perMinute := map[time.Time]int64{}
	for _, s := range truth.Analytics.Sessions {
		if s.Start.After(lastStart.Add(-time.Hour)) {
			perMinute[s.Start.UTC().Truncate(time.Minute)]++
		}
	}
	ss := read(dashboard.FeedSessions).(dashboard.Sessions)
	if ss.Total != int64(len(truth.Analytics.Sessions)) || ss.Converted != converted || int64(ss.Revenue*100+0.5) != revenue ||
		ss.Total == 0 || ss.Open > ss.Total {
		t.Fatalf("sessions %+v, want %d sessions, %d converted, %d cents", ss, len(truth.Analytics.Sessions), converted, revenue)
	}
	if len(ss.StartedPerMinute) != len(perMinute) {
		t.Fatalf("sessions started in %d minutes, want %d", len(ss.StartedPerMinute), len(perMinute))
	}
	for _, m := range ss.StartedPerMinute {
		if perMinute[m.StartAt] != m.Sessions {
			t.Fatalf("sessions started at %s: %d, want %d", m.StartAt, m.Sessions, perMinute[m.StartAt])
		}
	}
}

// TestAnalyticsFeedsEmpty: before any event, the feeds answer empty values,
// not errors.
func TestAnalyticsFeedsEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := analytics.NewPool(ctx, analytics.Conn{URL: pgtest.URL(t), MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := analytics.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	for _, f := range dashboard.AnalyticsFeeds(pool) {
		v, err := f.Read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		switch v := v.(type) {
		case dashboard.RevenueMinutes:
			if len(v.Minutes) != 0 {
				t.Fatalf("revenue %+v", v)
			}
		case dashboard.Funnel:
			if v.Day != "" || v.Steps[0].Count != 0 {
				t.Fatalf("funnel %+v", v)
			}
		case dashboard.TopProducts:
			if len(v.Products) != 0 {
				t.Fatalf("top %+v", v)
			}
		case dashboard.Sessions:
			if v.Total != 0 || len(v.StartedPerMinute) != 0 {
				t.Fatalf("sessions %+v", v)
			}
		default:
			t.Fatalf("%s: unexpected %T", f.Name, v)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
