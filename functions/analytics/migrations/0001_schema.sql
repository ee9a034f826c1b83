-- Tables of the analytics function. Every counter is a sum of folded batch
-- deltas (distinct users a union of sets); analytics.offsets holds the per-partition watermark written in the
-- same transaction, which makes every delta count once.

CREATE SCHEMA IF NOT EXISTS analytics;

CREATE TABLE IF NOT EXISTS analytics.offsets (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL,
    last_offset    bigint      NOT NULL DEFAULT -1,
    -- the latest event time seen on the partition: the reference of lateness
    max_event_at   timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

CREATE TABLE IF NOT EXISTS analytics.windows (
    window_seconds    integer     NOT NULL,
    start_at          timestamptz NOT NULL,
    category          text        NOT NULL,
    page_views        bigint      NOT NULL DEFAULT 0,
    product_views     bigint      NOT NULL DEFAULT 0,
    clicks            bigint      NOT NULL DEFAULT 0,
    searches          bigint      NOT NULL DEFAULT 0,
    add_to_cart       bigint      NOT NULL DEFAULT 0,
    remove_from_cart  bigint      NOT NULL DEFAULT 0,
    orders            bigint      NOT NULL DEFAULT 0,
    units             bigint      NOT NULL DEFAULT 0,
    order_value_cents bigint      NOT NULL DEFAULT 0,
    paid_orders       bigint      NOT NULL DEFAULT 0,
    revenue_cents     bigint      NOT NULL DEFAULT 0,
    failed_payments   bigint      NOT NULL DEFAULT 0,
    shipped           bigint      NOT NULL DEFAULT 0,
    cancellations     bigint      NOT NULL DEFAULT 0,
    refunds           bigint      NOT NULL DEFAULT 0,
    refunded_cents    bigint      NOT NULL DEFAULT 0,
    -- distinct users, exactly: the number of user_ids
    users             bigint      NOT NULL DEFAULT 0,
    -- the distinct users of the row, sorted; merged with each batch's
    user_ids          text[]      NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (window_seconds, start_at, category)
) WITH (fillfactor = 70); -- rows are updated by every batch of their window: room for HOT updates

-- Per product and minute; the 5-minute figures are their sums (the view
-- analytics.product_windows), so each event writes one product row.
CREATE TABLE IF NOT EXISTS analytics.product_minutes (
    start_at      timestamptz NOT NULL,
    category      text        NOT NULL,
    product_id    text        NOT NULL,
    views         bigint      NOT NULL DEFAULT 0,
    add_to_cart   bigint      NOT NULL DEFAULT 0,
    units         bigint      NOT NULL DEFAULT 0,
    revenue_cents bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (start_at, category, product_id)
) WITH (fillfactor = 80);

CREATE OR REPLACE VIEW analytics.product_windows AS
SELECT 60 AS window_seconds, start_at, category, product_id, views, add_to_cart, units, revenue_cents
FROM analytics.product_minutes
UNION ALL
SELECT 300, date_bin('5 minutes', start_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), category, product_id,
       sum(views)::bigint, sum(add_to_cart)::bigint, sum(units)::bigint, sum(revenue_cents)::bigint
FROM analytics.product_minutes
GROUP BY 2, 3, 4;

-- Search terms per minute, stored verbatim (free text, never interpreted);
-- keyed by the SHA-256 of the text so that long queries fit the index.
CREATE TABLE IF NOT EXISTS analytics.search_terms (
    start_at   timestamptz NOT NULL,
    query_hash bytea       NOT NULL,
    query      text        NOT NULL,
    searches   bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (start_at, query_hash)
);

-- One row per user with session events; its row lock serialises the
-- session updates of one user across partitions and topics.
CREATE TABLE IF NOT EXISTS analytics.users (
    user_id text PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS analytics.sessions (
    user_id       text        NOT NULL,
    start_at      timestamptz NOT NULL,
    end_at        timestamptz NOT NULL,
    events        bigint      NOT NULL,
    pages         bigint      NOT NULL,
    orders        bigint      NOT NULL,
    revenue_cents bigint      NOT NULL,
    converted     boolean     GENERATED ALWAYS AS (orders > 0) STORED,
    PRIMARY KEY (user_id, start_at)
) WITH (fillfactor = 80); -- room on the page for in-place (HOT) updates

-- Events older than the lateness bound behind their partition's latest
-- event time: kept here, verbatim, instead of being counted or lost.
CREATE TABLE IF NOT EXISTS analytics.late_events (
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    event_id     text        NOT NULL,
    event_type   text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    max_event_at timestamptz NOT NULL,
    value        bytea       NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset")
);

-- Pre-computed metrics producers send: stored as metrics, never as sales.
CREATE TABLE IF NOT EXISTS analytics.metrics (
    topic       text             NOT NULL,
    partition   integer          NOT NULL,
    "offset"    bigint           NOT NULL,
    event_id    text             NOT NULL,
    name        text             NOT NULL,
    value       double precision NOT NULL,
    category    text             NOT NULL,
    occurred_at timestamptz      NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);
