package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/lake/laketest"
)

// devLake writes generated traffic where a `shopstream dev` run keeps its
// lake, and returns the run directory and the truth.
func devLake(t *testing.T) (string, *generator.Truth) {
	t.Helper()
	run := t.TempDir()
	truth := laketest.Write(t, lake.NewDirObjects(filepath.Join(run, "s3", "data", "shopstream-lake")), laketest.Options{
		Config: generator.Config{Seed: 3, Start: time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC), EventsPerSecond: 2, LegacyShare: 0.1, FraudRate: 0.1, NoBad: true},
		Events: 3000, BatchSize: 50, Alerts: true,
	})
	return run, truth
}

func userEvents(truth *generator.Truth) int64 {
	var n int64
	for typ, c := range truth.ByType {
		if lake.TableOf(event.Type(typ)) == lake.TableUserEvents {
			n += c
		}
	}
	return n
}

func TestQueryCommand(t *testing.T) {
	t.Parallel()
	run, truth := devLake(t)
	want := userEvents(truth)

	out, stderr, code := runCLI(t, "query", "--data-dir", run, "--format", "csv", "SELECT count(*) AS n, count(DISTINCT hour) AS hours FROM user_events")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][0] != fmt.Sprint(want) || recs[1][1] != "1" {
		t.Fatalf("csv %q (%v), want %d rows in one hour", out, err, want)
	}

	out, stderr, code = runCLI(t, "query", "--data-dir", run, "--format", "json", "--example", "hourly_orders",
		"--param", "2026-04-01", "--param", "2026-04-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var hours []map[string]any
	if err := json.Unmarshal([]byte(out), &hours); err != nil || len(hours) != 1 || hours[0]["orders"] != float64(truth.ByType["order_created"]) {
		t.Fatalf("json %q (%v), want %d orders", out, err, truth.ByType["order_created"])
	}

	// Every example runs and answers; their figures are checked against
	// the truth in shared/lakesql.
	for _, q := range lake.Queries() {
		out, stderr, code := runCLI(t, "query", "--data-dir", run, "--format", "csv", "--example", q.Name,
			"--param", "2026-04-01", "--param", "2026-04-01")
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if code != 0 || err != nil || len(recs) < 2 {
			t.Errorf("--example %s: exit %d, %d lines (%v): %s", q.Name, code, len(recs), err, stderr)
		}
	}
	out, stderr, code = runCLI(t, "query", "--data-dir", run, "--format", "csv", "--example", "fraud_alerts_by_rule",
		"--param", "2026-04-01", "--param", "2026-04-01")
	if recs, _ := csv.NewReader(strings.NewReader(out)).ReadAll(); code != 0 || len(recs) < 2 ||
		strings.Join(recs[0], ",") != "dt,rule,alerts,declined,reviewed,avg_score,avg_rule_score" {
		t.Fatalf("fraud_alerts_by_rule: exit %d, %q %s", code, out, stderr)
	}

	out, stderr, code = runCLI(t, "query", "--data-dir", run, "SELECT event_type, count(*) AS n FROM customer_feedback GROUP BY ALL")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("feedback   | %d", truth.ByType["feedback"])) || !strings.HasSuffix(out, "(1 row)\n") {
		t.Fatalf("table, exit %d: %q %s", code, out, stderr)
	}

	// Compaction through the run's folder; the answer stays the truth.
	out, stderr, code = runCLI(t, "lake", "compact", "--data-dir", run, "--table", "user_events", "--dt", "2026-04-01")
	if code != 0 || !strings.Contains(out, "compacted") {
		t.Fatalf("compact, exit %d: %s %s", code, out, stderr)
	}
	out, _, _ = runCLI(t, "query", "--data-dir", run, "--format", "csv", "SELECT count(*) AS n FROM user_events")
	if out != fmt.Sprintf("n\n%d\n", want) {
		t.Fatalf("after compaction: %q, want %d", out, want)
	}
	files, err := filepath.Glob(filepath.Join(run, "s3", "data", "shopstream-lake", "user_events", "*", "*", "*.parquet"))
	if err != nil || len(files) != 1 {
		t.Fatalf("after compaction the table has %d files: %v", len(files), err)
	}
	out, _, code = runCLI(t, "lake", "compact", "--data-dir", run, "--table", "user_events", "--dt", "2026-04-01")
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second compaction, exit %d: %s", code, out)
	}

	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"query", "--data-dir", run, "--format", "xml", "SELECT 1"}, 2, "--format"},
		{[]string{"query", "--data-dir", run}, 2, "one SQL statement"},
		{[]string{"query", "--data-dir", run, "SELECT nope FROM user_events"}, 1, "nope"},
		{[]string{"query", "--data-dir", t.TempDir(), "SELECT 1"}, 1, "run `shopstream dev` first"},
		{[]string{"query", "--data-dir", run, "--example", "nope"}, 2, "no example"},
		{[]string{"lake", "compact", "--data-dir", run, "--table", "nope", "--dt", "2026-04-01"}, 2, "--table"},
		{[]string{"lake", "compact", "--data-dir", run, "--table", "alerts", "--dt", "2026-05-01"}, 1, "no partition"},
		{[]string{"lake", "compact", "--data-dir", run, "--table", "user_events", "--dt", "April"}, 2, "--dt"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.says) {
			t.Errorf("%v: exit %d (want %d), %q (want %q)", c.args, code, c.code, stderr, c.says)
		}
	}
}

// TestQueryAfterDev: after a `shopstream dev` run, `shopstream query` reads
// that run's lake: every record produced is one row, in its table or, when
// it was bad, among the lake's own dead letters; so after `lake compact`.
func TestQueryAfterDev(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	report := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stdout, stderr, code := runCLIContext(t, ctx, "dev", "--data-dir", run, "--functions", "lake", "--events", "5000",
		"--seed", "4", "--exit-when-drained", "--quiet", "--report", report)
	if code != 0 {
		t.Fatalf("dev: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var rep devReport
	if b, err := os.ReadFile(report); err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report: %v", err)
	}
	const stmt = `SELECT (SELECT count(*) FROM user_events) + (SELECT count(*) FROM transactions)
		+ (SELECT count(*) FROM inventory_updates) + (SELECT count(*) FROM customer_feedback) AS good,
		(SELECT count(*) FROM dead_letters WHERE function = 'lake') AS bad`
	want := fmt.Sprintf("good,bad\n%d,%d\n", rep.Events.Produced-rep.Events.Bad, rep.Events.Bad)
	if rep.Events.Produced != 5000 || rep.Events.Bad == 0 {
		t.Fatalf("report: %+v", rep.Events)
	}
	out, stderr, code := runCLI(t, "query", "--data-dir", run, "--format", "csv", stmt)
	if code != 0 || out != want {
		t.Fatalf("query: exit %d, %q, want %q; %s", code, out, want, stderr)
	}
	day := time.Now().UTC().Format(time.DateOnly)
	for _, table := range []string{"user_events", "transactions"} {
		if out, stderr, code := runCLI(t, "lake", "compact", "--data-dir", run, "--table", table, "--dt", day, "--min-age", "0"); code != 0 {
			t.Fatalf("compact %s: exit %d: %s %s", table, code, out, stderr)
		}
	}
	if out, _, _ := runCLI(t, "query", "--data-dir", run, "--format", "csv", stmt); out != want {
		t.Fatalf("after compaction: %q, want %q", out, want)
	}
}

// TestQueryS3: `query` and `lake compact` reach a bucket through an S3
// endpoint; the answers are the truth before and after compaction.
func TestQueryS3(t *testing.T) {
	ctx := context.Background()
	srv, err := devstack.StartS3(ctx, devstack.S3Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start the S3 server (versitygw): %v", err)
	}
	defer srv.Stop()
	const bucket = "lake-under-test"
	if _, err := srv.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	truth := laketest.Write(t, lake.NewS3Objects(srv.Client(), bucket), laketest.Options{
		Config: generator.Config{Seed: 8, Start: time.Date(2026, 4, 2, 7, 0, 0, 0, time.UTC), EventsPerSecond: 2, NoBad: true},
		Events: 2000, BatchSize: 50,
	})
	t.Setenv("AWS_ACCESS_KEY_ID", srv.Credentials.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.Credentials.SecretAccessKey)
	t.Setenv("AWS_REGION", devstack.Region)
	want := fmt.Sprintf("n\n%d\n", userEvents(truth))
	args := []string{"query", "--endpoint", srv.URL, "--bucket", bucket, "--cache-dir", t.TempDir(), "--format", "csv",
		"SELECT count(*) AS n FROM user_events"}
	if out, stderr, code := runCLI(t, args...); code != 0 || out != want {
		t.Fatalf("query: exit %d, %q, want %q; %s", code, out, want, stderr)
	}
	out, stderr, code := runCLI(t, "lake", "compact", "--endpoint", srv.URL, "--bucket", bucket, "--table", "user_events", "--dt", "2026-04-02")
	if code != 0 || !strings.Contains(out, "compacted") {
		t.Fatalf("compact: exit %d: %s %s", code, out, stderr)
	}
	if out, stderr, code := runCLI(t, args...); code != 0 || out != want {
		t.Fatalf("after compaction: exit %d, %q, want %q; %s", code, out, want, stderr)
	}
}
