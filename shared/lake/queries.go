package lake

// Query is an example query of the lake, written in the SQL that both
// Athena (engine version 3) and DuckDB (`shopstream query`) run unchanged:
// no UNNEST (the two expand a list of structs differently), no "$path", no
// engine-specific functions. Each takes the first and last day (dt,
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
	}
}
