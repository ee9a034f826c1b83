package lake

// Query is an example query of the lake, written in the SQL that both
// Athena (engine version 3, Trino) and DuckDB (`shopstream query`) run
// unchanged: no "$path", no engine-specific functions, and UNNEST only of
// lists of scalars. The two expand a list of structs differently (Trino
// into one column per field, DuckDB into one struct column), so a query
// unnests a parallel list of scalars (item_categories beside items,
// reason_rules beside reasons) WITH ORDINALITY and reads the rest of
// element n as items[n].field. Each takes the first and last day (dt,
// YYYY-MM-DD) as its two parameters, so that Athena scans only those
// partitions; the Athena console asks for them when the named query runs.
type Query struct {
	Name        string
	Description string
	SQL         string
}

// Queries returns the example queries, for the Athena workgroup's named
// queries and for `shopstream query`.
func Queries() []Query {
	return []Query{
		{
			Name:        "hourly_activity",
			Description: "user activity per hour and event type",
			SQL: `SELECT dt, hour, event_type, count(*) AS events
FROM user_events
WHERE dt BETWEEN ? AND ?
GROUP BY dt, hour, event_type
ORDER BY dt, hour, event_type`,
		},
		{
			Name:        "hourly_orders",
			Description: "order lifecycle per hour: orders created, paid, failed, shipped, cancelled, refunded, and the amount authorized",
			SQL: `SELECT dt, hour,
  sum(CASE WHEN event_type = 'order_created' THEN 1 ELSE 0 END) AS orders,
  sum(CASE WHEN event_type = 'payment_authorized' THEN 1 ELSE 0 END) AS paid,
  sum(CASE WHEN event_type = 'payment_failed' THEN 1 ELSE 0 END) AS failed,
  sum(CASE WHEN event_type = 'order_shipped' THEN 1 ELSE 0 END) AS shipped,
  sum(CASE WHEN event_type = 'order_cancelled' THEN 1 ELSE 0 END) AS cancelled,
  sum(CASE WHEN event_type = 'refund_issued' THEN 1 ELSE 0 END) AS refunds,
  sum(CASE WHEN event_type = 'payment_authorized' THEN total_amount END) AS authorized_amount
FROM transactions
WHERE dt BETWEEN ? AND ? AND event_type <> 'metric'
GROUP BY dt, hour
ORDER BY dt, hour`,
		},
		{
			Name:        "product_views_by_category",
			Description: "product views per category (unknown when the producer sent none)",
			SQL: `SELECT coalesce(category, 'unknown') AS category, count(*) AS views
FROM user_events
WHERE dt BETWEEN ? AND ? AND event_type = 'product_view'
GROUP BY coalesce(category, 'unknown')
ORDER BY views DESC, category`,
		},
		{
			Name:        "hourly_ratings",
			Description: "customer ratings per hour: how many of each from 1 to 5",
			SQL: `SELECT dt, hour, rating, count(*) AS ratings
FROM customer_feedback
WHERE dt BETWEEN ? AND ? AND rating IS NOT NULL
GROUP BY dt, hour, rating
ORDER BY dt, hour, rating`,
		},
		{
			Name:        "stock_movements",
			Description: "inventory events per warehouse and type",
			SQL: `SELECT warehouse_id, event_type, count(*) AS events
FROM inventory_updates
WHERE dt BETWEEN ? AND ?
GROUP BY warehouse_id, event_type
ORDER BY warehouse_id, event_type`,
		},
		{
			Name: "daily_revenue_by_category",
			Description: "orders created per day and item category: orders, units and revenue (quantity times unit price) of the items; " +
				"an order with items of several categories counts once in each, an order without items counts under unknown with its total",
			SQL: `SELECT dt, category, count(DISTINCT event_id) AS orders, sum(units) AS units, coalesce(sum(amount), 0) AS revenue
FROM (
  SELECT o.dt, o.event_id, coalesce(c.category, 'unknown') AS category,
    o.items[c.n].quantity AS units, o.items[c.n].price * o.items[c.n].quantity AS amount
  FROM transactions o
  CROSS JOIN UNNEST(o.item_categories) WITH ORDINALITY AS c(category, n)
  WHERE o.event_type = 'order_created'
  UNION ALL
  SELECT dt, event_id, 'unknown', 0, total_amount
  FROM transactions
  WHERE event_type = 'order_created' AND items IS NULL
) l
WHERE dt BETWEEN ? AND ?
GROUP BY dt, category
ORDER BY dt, category`,
		},
		{
			Name: "funnel",
			Description: "conversion funnel per day: users who viewed a product, of those who added to cart, of those who created an order, " +
				"of those who had a payment authorized, and the conversion ratios (users, not sessions: orders carry no session)",
			SQL: `SELECT dt,
  sum(viewed) AS viewed,
  sum(viewed * carted) AS carted,
  sum(viewed * carted * ordered) AS ordered,
  sum(viewed * carted * ordered * paid) AS paid,
  CAST(sum(viewed * carted) AS DOUBLE) / nullif(sum(viewed), 0) AS view_to_cart,
  CAST(sum(viewed * carted * ordered) AS DOUBLE) / nullif(sum(viewed * carted), 0) AS cart_to_order,
  CAST(sum(viewed * carted * ordered * paid) AS DOUBLE) / nullif(sum(viewed * carted * ordered), 0) AS order_to_paid,
  CAST(sum(viewed * carted * ordered * paid) AS DOUBLE) / nullif(sum(viewed), 0) AS view_to_paid
FROM (
  SELECT dt, user_id,
    max(CASE WHEN event_type = 'product_view' THEN 1 ELSE 0 END) AS viewed,
    max(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS carted,
    max(CASE WHEN event_type = 'order_created' THEN 1 ELSE 0 END) AS ordered,
    max(CASE WHEN event_type = 'payment_authorized' THEN 1 ELSE 0 END) AS paid
  FROM (
    SELECT dt, user_id, event_type FROM user_events WHERE event_type IN ('product_view', 'add_to_cart')
    UNION ALL
    SELECT dt, user_id, event_type FROM transactions WHERE event_type IN ('order_created', 'payment_authorized')
  ) e
  WHERE dt BETWEEN ? AND ? AND user_id IS NOT NULL
  GROUP BY dt, user_id
) u
GROUP BY dt
ORDER BY dt`,
		},
		{
			Name: "fraud_alerts_by_rule",
			Description: "fraud alerts per day and rule: alerts, how many were declined or sent to review, " +
				"their average score and the rule's average contribution to it (an alert with several rules counts once in each)",
			SQL: `SELECT dt, rule, count(*) AS alerts,
  sum(CASE WHEN decision = 'decline' THEN 1 ELSE 0 END) AS declined,
  sum(CASE WHEN decision = 'review' THEN 1 ELSE 0 END) AS reviewed,
  avg(score) AS avg_score,
  avg(rule_score) AS avg_rule_score
FROM (
  SELECT DISTINCT a.dt, a.event_id, r.rule, a.decision, a.score, a.reasons[r.n].score AS rule_score
  FROM alerts a
  CROSS JOIN UNNEST(a.reason_rules) WITH ORDINALITY AS r(rule, n)
  WHERE a.dt BETWEEN ? AND ? AND a.event_type = 'fraud_alert'
) f
GROUP BY dt, rule
ORDER BY dt, rule`,
		},
	}
}
