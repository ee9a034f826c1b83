-- product_views_by_category
--
-- product views per category (unknown when the producer sent none)
--
-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.
-- Runs unchanged in Athena (the workgroup's named query product_views_by_category) and in
-- `shopstream query --example product_views_by_category --param FIRST --param LAST`.
-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update

SELECT coalesce(category, 'unknown') AS category, count(*) AS views
FROM user_events
WHERE dt BETWEEN ? AND ? AND event_type = 'product_view'
GROUP BY coalesce(category, 'unknown')
ORDER BY views DESC, category;
