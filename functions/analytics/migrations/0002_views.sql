-- Views a dashboard (or QuickSight, through a PostgreSQL data source) reads
-- directly. "Now" is the newest window the function has written, so that a
-- replay of old traffic shows as if it were live.

CREATE OR REPLACE VIEW analytics.last_hour_by_minute AS
SELECT w.start_at, w.category, w.page_views, w.product_views, w.searches, w.add_to_cart,
       w.orders, w.paid_orders, w.units, w.revenue_cents / 100.0 AS revenue,
       CASE WHEN w.orders > 0 THEN w.order_value_cents / 100.0 / w.orders END AS average_order_value,
       w.cancellations, w.refunds, w.users
FROM analytics.windows w
WHERE w.window_seconds = 60
  AND w.start_at > (SELECT max(start_at) FROM analytics.windows WHERE window_seconds = 60) - interval '1 hour';

CREATE OR REPLACE VIEW analytics.today_by_category AS
SELECT w.category,
       sum(w.page_views) AS page_views, sum(w.product_views) AS product_views,
       sum(w.searches) AS searches, sum(w.add_to_cart) AS add_to_cart,
       sum(w.orders) AS orders, sum(w.paid_orders) AS paid_orders, sum(w.units) AS units,
       sum(w.revenue_cents) / 100.0 AS revenue,
       CASE WHEN sum(w.orders) > 0 THEN sum(w.order_value_cents) / 100.0 / sum(w.orders) END AS average_order_value,
       sum(w.cancellations) AS cancellations, sum(w.refunds) AS refunds
FROM analytics.windows w
WHERE w.window_seconds = 300
  AND w.start_at >= date_trunc('day', (SELECT max(start_at) FROM analytics.windows WHERE window_seconds = 300) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
GROUP BY w.category;

CREATE OR REPLACE VIEW analytics.funnel AS
SELECT w.window_seconds, w.start_at, w.category,
       w.product_views AS viewed, w.add_to_cart AS carted, w.orders AS ordered, w.paid_orders AS paid,
       CASE WHEN w.product_views > 0 THEN w.add_to_cart::numeric / w.product_views END AS view_to_cart,
       CASE WHEN w.add_to_cart > 0 THEN w.orders::numeric / w.add_to_cart END AS cart_to_order,
       CASE WHEN w.orders > 0 THEN w.paid_orders::numeric / w.orders END AS order_to_paid
FROM analytics.windows w;

CREATE OR REPLACE VIEW analytics.top_products AS
SELECT * FROM (
    SELECT p.window_seconds, p.start_at, p.category, p.product_id, p.views, p.add_to_cart, p.units,
           p.revenue_cents / 100.0 AS revenue,
           rank() OVER (PARTITION BY p.window_seconds, p.start_at, p.category ORDER BY p.views DESC) AS views_rank,
           rank() OVER (PARTITION BY p.window_seconds, p.start_at, p.category ORDER BY p.revenue_cents DESC) AS revenue_rank
    FROM analytics.product_windows p
) r
WHERE r.views_rank <= 10 OR r.revenue_rank <= 10;

CREATE OR REPLACE VIEW analytics.session_summary AS
SELECT s.user_id, s.start_at, s.end_at, s.end_at - s.start_at AS duration, s.events, s.pages,
       s.orders, s.converted, s.revenue_cents / 100.0 AS revenue,
       s.end_at + interval '30 minutes' < (SELECT max(max_event_at) FROM analytics.offsets) AS closed
FROM analytics.sessions s;
