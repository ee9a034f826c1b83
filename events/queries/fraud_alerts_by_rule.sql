-- fraud_alerts_by_rule
--
-- fraud alerts per day and rule: alerts, how many were declined or sent to review, their average
-- score and the rule's average contribution to it (an alert with several rules counts once in each)
--
-- Parameters: the first and the last day (dt, YYYY-MM-DD), in this order.
-- Runs unchanged in Athena (the workgroup's named query fraud_alerts_by_rule) and in
-- `shopstream query --example fraud_alerts_by_rule --param FIRST --param LAST`.
-- Generated from shared/lake/queries.go: go test ./shared/lake -run TestQueryFiles -update

SELECT dt, rule, count(*) AS alerts,
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
ORDER BY dt, rule;
