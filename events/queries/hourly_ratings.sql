-- hourly_ratings
--
-- customer ratings per hour: how many of each from 1 to 5
--
-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.
-- Runs unchanged in Athena (the workgroup's named query hourly_ratings) and in
-- `shopstream query --example hourly_ratings --param FIRST --param LAST`.
-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update

SELECT dt, hour, rating, count(*) AS ratings
FROM customer_feedback
WHERE dt BETWEEN ? AND ? AND rating IS NOT NULL
GROUP BY dt, hour, rating
ORDER BY dt, hour, rating;
