-- stock_movements
--
-- inventory events per warehouse and type
--
-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.
-- Runs unchanged in Athena (the workgroup's named query stock_movements) and in
-- `shopstream query --example stock_movements --param FIRST --param LAST`.
-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update

SELECT warehouse_id, event_type, count(*) AS events
FROM inventory_updates
WHERE dt BETWEEN ? AND ?
GROUP BY warehouse_id, event_type
ORDER BY warehouse_id, event_type;
