package analytics_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/functions/analytics/internal/analytics"
	"github.com/shopstream/shopstream/shared/pgtest"
)

// TestMigrateKeepsData: a database at version 2 holding data (user id
// arrays in any order, products, search texts, sessions of several users)
// migrates to the current schema with the same figures in every view and in
// the sessions, and the function then adds to the migrated rows exactly.
func TestMigrateKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ms, err := analytics.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE SCHEMA analytics; CREATE TABLE analytics.schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		if _, err := pool.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := pool.Exec(ctx, "INSERT INTO analytics.schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	// Version 2 data, as its function wrote it (arrays sorted by the
	// database's collation, which need not be byte order).
	if _, err := pool.Exec(ctx, `
INSERT INTO analytics.offsets (consumer_group, topic, partition, last_offset, max_event_at)
VALUES ('analytics', 'user_events', 0, 10, '2026-03-01 12:40:00+00');
INSERT INTO analytics.windows (window_seconds, start_at, category, product_views, users, user_ids) VALUES
    (60, '2026-03-01 12:00:00+00', 'books', 3, 3, '{u-2,U-1,u-10}'),
    (300, '2026-03-01 12:00:00+00', 'books', 3, 3, '{u-10,u-2,U-1}'),
    (60, '2026-03-01 12:01:00+00', '_all', 1, 0, '{}');
INSERT INTO analytics.product_minutes (start_at, category, product_id, views, add_to_cart, units, revenue_cents) VALUES
    ('2026-03-01 12:00:00+00', 'books', 'p-2', 2, 1, 0, 0),
    ('2026-03-01 12:00:00+00', 'books', 'P-1', 1, 0, 3, 1500),
    ('2026-03-01 12:01:00+00', 'books', 'p-2', 4, 0, 0, 0);
INSERT INTO analytics.search_terms (start_at, query_hash, query, searches) VALUES
    ('2026-03-01 12:00:00+00', sha256('b'), 'b', 2),
    ('2026-03-01 12:00:00+00', sha256('A ''quoted'' text'), 'A ''quoted'' text', 1);
INSERT INTO analytics.users (user_id) VALUES ('U-1'), ('u-2'), ('u-10');
INSERT INTO analytics.sessions (user_id, start_at, end_at, events, pages, orders, revenue_cents) VALUES
    ('U-1', '2026-03-01 09:00:00+00', '2026-03-01 09:10:00+00', 4, 2, 1, 999),
    ('U-1', '2026-03-01 12:00:00+00', '2026-03-01 12:05:00+00', 2, 2, 0, 0),
    ('u-2', '2026-03-01 12:00:30+00', '2026-03-01 12:00:30+00', 1, 1, 0, 0),
    ('u-10', '2026-03-01 12:00:40+00', '2026-03-01 12:00:50+00', 2, 2, 0, 0);`); err != nil {
		t.Fatal(err)
	}
	views := []string{
		`SELECT * FROM analytics.last_hour_by_minute ORDER BY start_at, category`,
		`SELECT * FROM analytics.today_by_category ORDER BY category`,
		`SELECT * FROM analytics.funnel ORDER BY window_seconds, start_at, category`,
		`SELECT * FROM analytics.top_products ORDER BY window_seconds, start_at, category, product_id`,
		`SELECT * FROM analytics.session_summary ORDER BY user_id, start_at`,
		`SELECT window_seconds, start_at, category, product_id, views, add_to_cart, units, revenue_cents FROM analytics.product_windows ORDER BY 1, 2, 3, 4`,
		`SELECT start_at, query_hash, query, searches FROM analytics.search_terms ORDER BY start_at, query`,
		`SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents, converted FROM analytics.sessions ORDER BY user_id, start_at`,
		`SELECT window_seconds, start_at, category, users FROM analytics.windows ORDER BY 1, 2, 3`,
	}
	read := func() []string {
		var out []string
		for _, q := range views {
			rows, err := pool.Query(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			for rows.Next() {
				vs, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprint(vs))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	before := read()
	if applied, err := analytics.Migrate(ctx, pool); err != nil || !slices.Equal(applied, []int{3, 4, 5}) {
		t.Fatalf("migrate applied %v: %v", applied, err)
	}
	if after := read(); !slices.Equal(after, before) {
		t.Fatalf("views changed by the migration:\nbefore %q\nafter  %q", before, after)
	}
	// The migrated rows take new data exactly: two views at 12:00:20 by
	// U-1 (known) and u-3 (new) on the same window and product.
	h := analytics.New(analytics.NewPostgres(pool, "analytics"))
	handle(t, h, msg(0, 11, view("e-11", "U-1", t0.Add(20*time.Second), "books")), msg(0, 12, view("e-12", "u-3", t0.Add(20*time.Second), "books")))
	var users, views1 int64
	if err := pool.QueryRow(ctx, `SELECT users, product_views FROM analytics.windows WHERE window_seconds = 300 AND category = 'books'`).
		Scan(&users, &views1); err != nil || users != 4 || views1 != 5 {
		t.Fatalf("5-minute window: %d users, %d views (%v), want 4, 5", users, views1, err)
	}
	var pviews int64
	if err := pool.QueryRow(ctx, `SELECT views FROM analytics.product_minutes WHERE start_at = $1 AND product_id = 'p-1'`, t0).
		Scan(&pviews); err != nil || pviews != 2 {
		t.Fatalf("product p-1: %d views (%v)", pviews, err)
	}
	var s string
	if err := pool.QueryRow(ctx, `SELECT string_agg(user_id || ' ' || to_char(start_at, 'HH24:MI:SS') || '-' || to_char(end_at, 'HH24:MI:SS') || ' ' || events, ', ' ORDER BY user_id, start_at) FROM analytics.sessions`).
		Scan(&s); err != nil || s != "U-1 09:00:00-09:10:00 4, U-1 12:00:00-12:05:00 3, u-10 12:00:40-12:00:50 2, u-2 12:00:30-12:00:30 1, u-3 12:00:20-12:00:20 1" {
		t.Fatalf("sessions %q (%v)", s, err)
	}
}
