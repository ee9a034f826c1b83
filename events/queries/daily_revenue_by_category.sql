-- daily_revenue_by_category
--
-- orders created per day and item category: orders, units and revenue (quantity times unit price)
-- of the items; an order with items of several categories counts once in each, an order without
-- items counts under unknown with its total
--
-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.
-- Runs unchanged in Athena (the workgroup's named query daily_revenue_by_category) and in
-- `shopstream query --example daily_revenue_by_category --param FIRST --param LAST`.
-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update

SELECT dt, category, count(DISTINCT event_id) AS orders, sum(units) AS units, coalesce(sum(amount), 0) AS revenue
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
ORDER BY dt, category;
