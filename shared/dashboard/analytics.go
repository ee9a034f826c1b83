package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier runs SQL: a *pgxpool.Pool, *pgx.Conn or pgx.Tx. Query must be
// safe for concurrent use when the server has more than one page open, as
// a pool is.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// allCategories is the analytics category that counts each event once.
const allCategories = "_all"

// Feed names of the analytics views.
const (
	FeedRevenue     = "revenue"
	FeedFunnel      = "funnel"
	FeedTopProducts = "top_products"
	FeedSessions    = "sessions"
)

// AnalyticsFeeds returns the feeds read from the analytics function's SQL
// views (schema analytics): revenue and orders per minute, the conversion
// funnel, top products and sessions. They read nothing else, so they work
// against any deployment's database that the analytics migrations built.
func AnalyticsFeeds(db Querier) []Feed {
	return []Feed{
		{Name: FeedRevenue, Title: "Revenue and orders per minute", Doc: "RevenueMinutes: orders, paid orders, revenue and average order value per minute of the last hour of event time (view analytics.last_hour_by_minute)",
			Read: func(ctx context.Context) (any, error) { return RevenueByMinute(ctx, db) }},
		{Name: FeedFunnel, Title: "Conversion funnel (today)", Doc: "Funnel: product views, add-to-carts, orders and paid orders of the latest day of event time, with the conversion of each step (view analytics.today_by_category)",
			Read: func(ctx context.Context) (any, error) { return TodayFunnel(ctx, db) }},
		{Name: FeedTopProducts, Title: "Top products (latest 5 minutes)", Doc: "TopProducts: the most viewed products of the latest 5-minute window, with their carts, units and revenue (view analytics.top_products)",
			Read: func(ctx context.Context) (any, error) { return LatestTopProducts(ctx, db, 10) }},
		{Name: FeedSessions, Title: "Sessions", Doc: "Sessions: sessions so far, open, converted, average length and revenue, and sessions started per minute of the last hour (view analytics.session_summary)",
			Read: func(ctx context.Context) (any, error) { return SessionStats(ctx, db) }},
	}
}

// RevenueMinute is one minute of the revenue feed.
type RevenueMinute struct {
	StartAt    time.Time `json:"start_at"`
	Orders     int64     `json:"orders"`
	PaidOrders int64     `json:"paid_orders"`
	// Revenue is the authorized payments' value, in the shop's currency.
	Revenue float64 `json:"revenue"`
	// RevenueCents is Revenue in cents, exact.
	RevenueCents int64 `json:"revenue_cents"`
	// AverageOrderValue is the value of the minute's orders over their
	// count; 0 without orders.
	AverageOrderValue float64 `json:"average_order_value"`
}

// RevenueMinutes is the value of the revenue feed.
type RevenueMinutes struct {
	Minutes []RevenueMinute `json:"minutes"`
}

// RevenueByMinute reads the last hour by minute, over every category.
func RevenueByMinute(ctx context.Context, db Querier) (RevenueMinutes, error) {
	rows, err := db.Query(ctx, `SELECT start_at, orders, paid_orders, (revenue * 100)::bigint,
	       coalesce(average_order_value, 0)::float8
	FROM analytics.last_hour_by_minute WHERE category = $1 ORDER BY start_at`, allCategories)
	if err != nil {
		return RevenueMinutes{}, fmt.Errorf("read analytics.last_hour_by_minute: %w", err)
	}
	out := RevenueMinutes{Minutes: []RevenueMinute{}}
	var m RevenueMinute
	_, err = pgx.ForEachRow(rows, []any{&m.StartAt, &m.Orders, &m.PaidOrders, &m.RevenueCents, &m.AverageOrderValue}, func() error {
		m.StartAt = m.StartAt.UTC()
		m.Revenue = float64(m.RevenueCents) / 100
		out.Minutes = append(out.Minutes, m)
		return nil
	})
	if err != nil {
		return RevenueMinutes{}, fmt.Errorf("read analytics.last_hour_by_minute: %w", err)
	}
	return out, nil
}

// FunnelStep is one step of the funnel.
type FunnelStep struct {
	Step  string `json:"step"`
	Count int64  `json:"count"`
	// Conversion is Count over the previous step's count; 1 for the first
	// step, 0 when the previous step has none.
	Conversion float64 `json:"conversion"`
}

// Funnel is the value of the funnel feed.
type Funnel struct {
	// Day is the latest UTC day of event time with data, "" before any.
	Day   string       `json:"day"`
	Steps []FunnelStep `json:"steps"`
}

// Funnel steps.
const (
	StepViewed  = "viewed"
	StepCarted  = "added_to_cart"
	StepOrdered = "ordered"
	StepPaid    = "paid"
)

// TodayFunnel reads the funnel of the latest day, over every category.
func TodayFunnel(ctx context.Context, db Querier) (Funnel, error) {
	var day *time.Time
	var viewed, carted, ordered, paid int64
	err := db.QueryRow(ctx, `SELECT (SELECT max(start_at) FROM analytics.funnel WHERE window_seconds = 300),
	       coalesce(sum(product_views), 0)::bigint, coalesce(sum(add_to_cart), 0)::bigint,
	       coalesce(sum(orders), 0)::bigint, coalesce(sum(paid_orders), 0)::bigint
	FROM analytics.today_by_category WHERE category = $1`, allCategories).Scan(&day, &viewed, &carted, &ordered, &paid)
	if err != nil {
		return Funnel{}, fmt.Errorf("read analytics.today_by_category: %w", err)
	}
	f := Funnel{}
	if day != nil {
		f.Day = day.UTC().Format(time.DateOnly)
	}
	counts := []int64{viewed, carted, ordered, paid}
	for i, step := range []string{StepViewed, StepCarted, StepOrdered, StepPaid} {
		s := FunnelStep{Step: step, Count: counts[i], Conversion: 1}
		if i > 0 {
			s.Conversion = 0
			if counts[i-1] > 0 {
				s.Conversion = float64(counts[i]) / float64(counts[i-1])
			}
		}
		f.Steps = append(f.Steps, s)
	}
	return f, nil
}

// ProductFigures are one product's figures in the top products feed.
type ProductFigures struct {
	ProductID    string  `json:"product_id"`
	Category     string  `json:"category"`
	Views        int64   `json:"views"`
	AddToCart    int64   `json:"add_to_cart"`
	Units        int64   `json:"units"`
	Revenue      float64 `json:"revenue"`
	RevenueCents int64   `json:"revenue_cents"`
}

// TopProducts is the value of the top_products feed.
type TopProducts struct {
	// WindowStart is the start of the 5-minute window; zero before any.
	WindowStart time.Time        `json:"window_start"`
	Products    []ProductFigures `json:"products"`
}

// LatestTopProducts reads the limit most viewed products of the latest
// 5-minute window (ties by product id).
func LatestTopProducts(ctx context.Context, db Querier, limit int) (TopProducts, error) {
	rows, err := db.Query(ctx, `SELECT start_at, product_id, category, views, add_to_cart, units, (revenue * 100)::bigint
	FROM analytics.top_products
	WHERE window_seconds = 300 AND views_rank <= $1
	  AND start_at = (SELECT max(start_at) FROM analytics.top_products WHERE window_seconds = 300)
	ORDER BY views DESC, product_id, category LIMIT $1`, limit)
	if err != nil {
		return TopProducts{}, fmt.Errorf("read analytics.top_products: %w", err)
	}
	out := TopProducts{Products: []ProductFigures{}}
	var p ProductFigures
	var start time.Time
	_, err = pgx.ForEachRow(rows, []any{&start, &p.ProductID, &p.Category, &p.Views, &p.AddToCart, &p.Units, &p.RevenueCents}, func() error {
		out.WindowStart = start.UTC()
		p.Revenue = float64(p.RevenueCents) / 100
		out.Products = append(out.Products, p)
		return nil
	})
	if err != nil {
		return TopProducts{}, fmt.Errorf("read analytics.top_products: %w", err)
	}
	return out, nil
}

// SessionsStarted is the number of sessions that started in one minute.
type SessionsStarted struct {
	StartAt  time.Time `json:"start_at"`
	Sessions int64     `json:"sessions"`
}

// Sessions is the value of the sessions feed.
type Sessions struct {
	Total     int64 `json:"total"`
	Open      int64 `json:"open"`
	Converted int64 `json:"converted"`
	// ConversionRate is Converted over Total; 0 without sessions.
	ConversionRate         float64 `json:"conversion_rate"`
	AverageDurationSeconds float64 `json:"average_duration_seconds"`
	AverageEvents          float64 `json:"average_events"`
	Revenue                float64 `json:"revenue"`
	// StartedPerMinute covers the last hour of session starts.
	StartedPerMinute []SessionsStarted `json:"started_per_minute"`
}

// SessionStats reads the sessions' totals and their starts per minute.
func SessionStats(ctx context.Context, db Querier) (Sessions, error) {
	var s Sessions
	var revenueCents int64
	err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE NOT closed), count(*) FILTER (WHERE converted),
	       coalesce(avg(extract(epoch FROM duration)), 0)::float8, coalesce(avg(events), 0)::float8,
	       coalesce(sum(revenue) * 100, 0)::bigint
	FROM analytics.session_summary`).Scan(&s.Total, &s.Open, &s.Converted, &s.AverageDurationSeconds, &s.AverageEvents, &revenueCents)
	if err != nil {
		return Sessions{}, fmt.Errorf("read analytics.session_summary: %w", err)
	}
	s.Revenue = float64(revenueCents) / 100
	if s.Total > 0 {
		s.ConversionRate = float64(s.Converted) / float64(s.Total)
	}
	rows, err := db.Query(ctx, `SELECT date_bin('1 minute', start_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS minute, count(*)
	FROM analytics.session_summary
	WHERE start_at > (SELECT max(start_at) FROM analytics.session_summary) - interval '1 hour'
	GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return Sessions{}, fmt.Errorf("read analytics.session_summary: %w", err)
	}
	s.StartedPerMinute = []SessionsStarted{}
	var m SessionsStarted
	_, err = pgx.ForEachRow(rows, []any{&m.StartAt, &m.Sessions}, func() error {
		m.StartAt = m.StartAt.UTC()
		s.StartedPerMinute = append(s.StartedPerMinute, m)
		return nil
	})
	if err != nil {
		return Sessions{}, fmt.Errorf("read analytics.session_summary: %w", err)
	}
	return s, nil
}
