-- funnel
--
-- conversion funnel per day: users who viewed a product, of those who added to cart, of those who
-- created an order, of those who had a payment authorized, and the conversion ratios (users, not
-- sessions: orders carry no session)
--
-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.
-- Runs unchanged in Athena (the workgroup's named query funnel) and in
-- `shopstream query --example funnel --param FIRST --param LAST`.
-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update

SELECT dt,
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
ORDER BY dt;
