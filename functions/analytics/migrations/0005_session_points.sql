-- Sessions waiting to be merged into their users' sessions: most batches
-- store the sessions their events make within the batch as one row here,
-- instead of reading and writing the row of every user they hold; every
-- few batches one merges all the rows into analytics.users and
-- analytics.earlier_sessions, and deletes them.
CREATE TABLE analytics.session_points (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- one element per session, in every array
    user_ids      text[]        NOT NULL,
    start_at      timestamptz[] NOT NULL,
    end_at        timestamptz[] NOT NULL,
    events        bigint[]      NOT NULL,
    pages         bigint[]      NOT NULL,
    orders        bigint[]      NOT NULL,
    revenue_cents bigint[]      NOT NULL
);
-- Written once, read once: compressing them is not worth its time.
ALTER TABLE analytics.session_points
    ALTER COLUMN user_ids SET STORAGE EXTERNAL,
    ALTER COLUMN start_at SET STORAGE EXTERNAL,
    ALTER COLUMN end_at SET STORAGE EXTERNAL,
    ALTER COLUMN events SET STORAGE EXTERNAL,
    ALTER COLUMN pages SET STORAGE EXTERNAL,
    ALTER COLUMN orders SET STORAGE EXTERNAL,
    ALTER COLUMN revenue_cents SET STORAGE EXTERNAL;
COMMENT ON TABLE analytics.session_points IS
    'sessions of batches not yet merged into their users'' sessions; the view analytics.sessions merges them';

-- Every session, the waiting ones merged into their users' sessions as the
-- function merges them: a user's sessions, in time order, are cut wherever
-- one starts more than 30 minutes after the latest end before it. Users
-- without waiting sessions show their stored ones.
CREATE OR REPLACE VIEW analytics.sessions AS
WITH waiting AS (
    SELECT e.*
    FROM analytics.session_points b,
         unnest(b.user_ids, b.start_at, b.end_at, b.events, b.pages, b.orders, b.revenue_cents)
             AS e(user_id, start_at, end_at, events, pages, orders, revenue_cents)
), stored AS (
    SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents, converted
    FROM analytics.earlier_sessions
    UNION ALL
    SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents, orders > 0
    FROM analytics.users
    WHERE start_at IS NOT NULL
), parts AS (
    SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents
    FROM stored s
    WHERE s.user_id IN (SELECT user_id FROM waiting)
    UNION ALL
    SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents
    FROM waiting
), cut AS (
    SELECT *, CASE WHEN start_at - max(end_at) OVER before <= interval '30 minutes' THEN 0 ELSE 1 END AS opens
    FROM parts
    WINDOW before AS (PARTITION BY user_id ORDER BY start_at, end_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), numbered AS (
    SELECT *, sum(opens) OVER (PARTITION BY user_id ORDER BY start_at, end_at ROWS UNBOUNDED PRECEDING) AS n
    FROM cut
)
SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents, converted
FROM stored s
WHERE s.user_id NOT IN (SELECT user_id FROM waiting)
UNION ALL
SELECT user_id, min(start_at), max(end_at), sum(events)::bigint, sum(pages)::bigint, sum(orders)::bigint,
       sum(revenue_cents)::bigint, sum(orders) > 0
FROM numbered
GROUP BY user_id, n;
