-- hourly_activity
--
-- user activity per hour and event type
--
-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.
-- Runs unchanged in Athena (the workgroup's named query hourly_activity) and in
-- `shopstream query --example hourly_activity --param FIRST --param LAST`.
-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update

SELECT dt, hour, event_type, count(*) AS events
FROM user_events
WHERE dt BETWEEN ? AND ?
GROUP BY dt, hour, event_type
ORDER BY dt, hour, event_type;
