-- Fewer, wider rows where a batch writes the most: a batch reads the rows it
-- adds to under a lock, merges them in memory and writes each back once.
--   * A window row keeps its distinct users as one compact value, merged by the
--     function, instead of an array the server sorted again for every batch.
--   * The products of a category in a minute are one row of parallel arrays
--     (analytics.category_minutes); the view analytics.product_minutes shows
--     them one per row as the table of that name did.
--   * The search texts of a minute are one row (analytics.search_minutes); the
--     view analytics.search_terms shows them as the table did.
--   * A user's latest session lives in the user's row, which every batch with
--     the user's events locks anyway; the earlier ones in
--     analytics.earlier_sessions; the view analytics.sessions shows them all.
-- The dashboard views keep their names and columns.

-- Distinct users: a user set (see the package documentation of
-- internal/analytics), front-coded by the function; converted here as the ids
-- one per line, which it reads as well.
ALTER TABLE analytics.windows ADD COLUMN user_set bytea NOT NULL DEFAULT '';
UPDATE analytics.windows
SET user_set = convert_to(array_to_string(
        ARRAY(SELECT DISTINCT u COLLATE "C" FROM unnest(user_ids) AS u ORDER BY 1), E'\n'), 'UTF8')
WHERE cardinality(user_ids) > 0;
ALTER TABLE analytics.windows DROP COLUMN user_ids;
-- Rewritten by every batch of its window: a large set is stored apart
-- without compression, which would cost more than it saves.
ALTER TABLE analytics.windows ALTER COLUMN user_set SET STORAGE EXTERNAL;
COMMENT ON COLUMN analytics.windows.user_set IS
    'the distinct users of the row, sorted and front-coded; users is their number';

-- Products.
CREATE TABLE analytics.category_minutes (
    start_at      timestamptz NOT NULL,
    category      text        NOT NULL,
    -- sorted (byte order); the other arrays are each product's figures
    product_ids   text[]      NOT NULL,
    views         bigint[]    NOT NULL,
    add_to_cart   bigint[]    NOT NULL,
    units         bigint[]    NOT NULL,
    revenue_cents bigint[]    NOT NULL,
    PRIMARY KEY (start_at, category)
) WITH (fillfactor = 70);

INSERT INTO analytics.category_minutes (start_at, category, product_ids, views, add_to_cart, units, revenue_cents)
SELECT start_at, category,
       array_agg(product_id ORDER BY product_id COLLATE "C"), array_agg(views ORDER BY product_id COLLATE "C"),
       array_agg(add_to_cart ORDER BY product_id COLLATE "C"), array_agg(units ORDER BY product_id COLLATE "C"),
       array_agg(revenue_cents ORDER BY product_id COLLATE "C")
FROM analytics.product_minutes
GROUP BY start_at, category;

DROP VIEW analytics.top_products;
DROP VIEW analytics.product_windows;
DROP TABLE analytics.product_minutes;

CREATE VIEW analytics.product_minutes AS
SELECT m.start_at, m.category, p.product_id, p.views, p.add_to_cart, p.units, p.revenue_cents
FROM analytics.category_minutes m,
     unnest(m.product_ids, m.views, m.add_to_cart, m.units, m.revenue_cents)
         AS p(product_id, views, add_to_cart, units, revenue_cents);

CREATE VIEW analytics.product_windows AS
SELECT 60 AS window_seconds, start_at, category, product_id, views, add_to_cart, units, revenue_cents
FROM analytics.product_minutes
UNION ALL
SELECT 300, date_bin('5 minutes', start_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), category, product_id,
       sum(views)::bigint, sum(add_to_cart)::bigint, sum(units)::bigint, sum(revenue_cents)::bigint
FROM analytics.product_minutes
GROUP BY 2, 3, 4;

CREATE VIEW analytics.top_products AS
SELECT * FROM (
    SELECT p.window_seconds, p.start_at, p.category, p.product_id, p.views, p.add_to_cart, p.units,
           p.revenue_cents / 100.0 AS revenue,
           rank() OVER (PARTITION BY p.window_seconds, p.start_at, p.category ORDER BY p.views DESC) AS views_rank,
           rank() OVER (PARTITION BY p.window_seconds, p.start_at, p.category ORDER BY p.revenue_cents DESC) AS revenue_rank
    FROM analytics.product_windows p
) r
WHERE r.views_rank <= 10 OR r.revenue_rank <= 10;

-- Search texts.
CREATE TABLE analytics.search_minutes (
    start_at timestamptz PRIMARY KEY,
    -- stored verbatim, sorted (byte order); searches counts each
    queries  text[]      NOT NULL,
    searches bigint[]    NOT NULL
) WITH (fillfactor = 70);

INSERT INTO analytics.search_minutes (start_at, queries, searches)
SELECT start_at, array_agg(query ORDER BY query COLLATE "C"), array_agg(searches ORDER BY query COLLATE "C")
FROM analytics.search_terms
GROUP BY start_at;

DROP TABLE analytics.search_terms;

CREATE VIEW analytics.search_terms AS
SELECT m.start_at, sha256(convert_to(q.query, 'UTF8')) AS query_hash, q.query, q.searches
FROM analytics.search_minutes m, unnest(m.queries, m.searches) AS q(query, searches);

-- Sessions.
ALTER TABLE analytics.users
    ADD COLUMN start_at      timestamptz,
    ADD COLUMN end_at        timestamptz,
    ADD COLUMN events        bigint,
    ADD COLUMN pages         bigint,
    ADD COLUMN orders        bigint,
    ADD COLUMN revenue_cents bigint;
-- Every batch rewrites its users' rows: room on the page for in-place (HOT) updates.
ALTER TABLE analytics.users SET (fillfactor = 70);
COMMENT ON TABLE analytics.users IS
    'one row per user with session events: locked while its sessions change; holds its latest session';

INSERT INTO analytics.users (user_id) SELECT DISTINCT user_id FROM analytics.sessions ON CONFLICT DO NOTHING;
UPDATE analytics.users u
SET (start_at, end_at, events, pages, orders, revenue_cents) =
    (SELECT s.start_at, s.end_at, s.events, s.pages, s.orders, s.revenue_cents
     FROM analytics.sessions s WHERE s.user_id = u.user_id ORDER BY s.start_at DESC LIMIT 1);
DELETE FROM analytics.sessions s USING analytics.users u WHERE s.user_id = u.user_id AND s.start_at = u.start_at;

DROP VIEW analytics.session_summary;
ALTER TABLE analytics.sessions RENAME TO earlier_sessions;
ALTER INDEX analytics.sessions_pkey RENAME TO earlier_sessions_pkey;
COMMENT ON TABLE analytics.earlier_sessions IS
    'every session of a user but its latest, which analytics.users holds';

CREATE VIEW analytics.sessions AS
SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents, converted
FROM analytics.earlier_sessions
UNION ALL
SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents, orders > 0
FROM analytics.users
WHERE start_at IS NOT NULL;

CREATE VIEW analytics.session_summary AS
SELECT s.user_id, s.start_at, s.end_at, s.end_at - s.start_at AS duration, s.events, s.pages,
       s.orders, s.converted, s.revenue_cents / 100.0 AS revenue,
       s.end_at + interval '30 minutes' < (SELECT max(max_event_at) FROM analytics.offsets) AS closed
FROM analytics.sessions s;
