-- hourly_orders
--
-- order lifecycle per hour: orders created, paid, failed, shipped, cancelled, refunded, and the
-- amount authorized
--
-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.
-- Runs unchanged in Athena (the workgroup's named query hourly_orders) and in
-- `shopstream query --example hourly_orders --param FIRST --param LAST`.
-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update

SELECT dt, hour,
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
ORDER BY dt, hour;
