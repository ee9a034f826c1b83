package analytics_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/functions/analytics/internal/analytics"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// benchBatches returns about 50,000 records of the generator's default
// traffic on the function's topics, decoded, in batches of 10,000 as the
// event source mapping delivers them (partitions in offset order).
func benchBatches(b *testing.B) [][]*kafkabatch.Message {
	l, _ := newKafkaLog(b, generator.Config{NoBad: true}, 52_000)
	pos := map[string]int{}
	var batches [][]*kafkabatch.Message
	for {
		var batch []*kafkabatch.Message
		for _, tp := range l.Parts {
			take := min(len(l.Records[tp])-pos[tp], 10_000/len(l.Parts))
			for _, r := range l.Records[tp][pos[tp] : pos[tp]+take] {
				v, err := base64.StdEncoding.DecodeString(r.Value)
				if err != nil {
					b.Fatal(err)
				}
				m := &kafkabatch.Message{Record: kafkabatch.Record{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset, Value: v}}
				if m.Event, err = event.Decode(v, m.Source()); err != nil {
					b.Fatal(err)
				}
				batch = append(batch, m)
			}
			pos[tp] += take
		}
		if len(batch) == 0 {
			break
		}
		batches = append(batches, batch)
	}
	return batches
}

// copyRow is the plain row of one record the baseline copies: its
// coordinates and the fields the aggregates read.
func copyRow(m *kafkabatch.Message) []any {
	e := m.Event
	meta := e.Meta()
	cats := generator.WindowCategories(e)
	cat := ""
	if len(cats) > 0 {
		cat = cats[0]
	}
	user, _, _, revenue, _ := generator.SessionEventOf(e)
	return []any{m.Topic, m.Partition, m.Offset, meta.EventID, string(meta.EventType), meta.OccurredAt, user, cat, revenue}
}

const copyTable = `CREATE TABLE IF NOT EXISTS bench_events (
    topic text, partition integer, "offset" bigint, event_id text, event_type text,
    occurred_at timestamptz, user_id text, category text, amount_cents bigint)`

// BenchmarkSink writes the same traffic, in batches of 10,000 records, with
// the function's sink (fold, then one transaction per batch with the
// watermarks, sessions and distinct users; the session events the store
// left waiting are merged at the end, and that counts too) and, in the same run, with two
// plain COPY baselines, one transaction per batch each, into tables without
// keys or indexes:
//   - copy-out: the rows the sink's result holds for each batch, as its
//     tables and views show them: one per window row with its user set, per
//     product and minute, per search text and minute, per session and per
//     watermark;
//   - copy-in: one row per input record.
//
// It reports the three rates, in input records per second, and the sink's
// ratio to each. Each iteration runs all three, one after the other, so
// that a machine's changing load weighs on them alike; each rate is that
// of its fastest iteration (slower ones measure other load on the
// machine), and the *-mean rates those of all iterations together.
func BenchmarkSink(b *testing.B) {
	batches := benchBatches(b)
	n := 0
	for _, bt := range batches {
		n += len(bt)
	}
	ctx := context.Background()
	pool := newDB(b, nil)
	if _, err := pool.Exec(ctx, copyTable); err != nil {
		b.Fatal(err)
	}
	reset := func() {
		b.Helper()
		_, err := pool.Exec(ctx, `TRUNCATE analytics.offsets, analytics.windows, analytics.category_minutes,
analytics.search_minutes, analytics.users, analytics.earlier_sessions, analytics.session_points, analytics.late_events, analytics.metrics, bench_events,
bench_windows, bench_product_minutes, bench_search_terms, bench_sessions, bench_offsets`)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	rows := make([][][]any, len(batches))
	for i, bt := range batches {
		for _, m := range bt {
			rows[i] = append(rows[i], copyRow(m))
		}
	}
	cols := []string{"topic", "partition", "offset", "event_id", "event_type", "occurred_at", "user_id", "category", "amount_cents"}
	outRows := make([]map[string][][]any, len(batches))
	for i, bt := range batches {
		outRows[i] = outputRows(bt)
	}
	for _, t := range []string{"windows", "product_minutes", "search_terms", "sessions", "offsets"} {
		// Some are views: LIKE copies their columns.
		if _, err := pool.Exec(ctx, "CREATE TABLE bench_"+t+" (LIKE analytics."+t+" INCLUDING DEFAULTS)"); err != nil {
			b.Fatal(err)
		}
	}
	var sinkTook, copyTook, outTook time.Duration
	sinkBest, copyBest, outBest := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	var statements int64
	for b.Loop() {
		b.StopTimer()
		reset()
		store := analytics.NewPostgres(pool, "bench")
		h := analytics.New(store)
		b.StartTimer()
		start := time.Now()
		for _, bt := range batches {
			batch := kafkabatch.NewBatch(slices.Clone(bt))
			if err := h.Handle(ctx, batch); err != nil || len(batch.Rejected()) > 0 {
				b.Fatalf("%v %v", err, batch.Rejected())
			}
		}
		// What the store left waiting is merged, and counted.
		if err := store.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		sinkTook += time.Since(start)
		sinkBest = min(sinkBest, time.Since(start))
		statements += store.Statements()

		start = time.Now()
		for _, rs := range rows {
			if err := copyBatch(ctx, pool, cols, rs); err != nil {
				b.Fatal(err)
			}
		}
		copyTook += time.Since(start)
		copyBest = min(copyBest, time.Since(start))

		start = time.Now()
		for _, rs := range outRows {
			if err := copyOutput(ctx, pool, rs); err != nil {
				b.Fatal(err)
			}
		}
		outTook += time.Since(start)
		outBest = min(outBest, time.Since(start))
	}
	b.ReportMetric(float64(n*b.N)/sinkTook.Seconds(), "sink-mean-records/s")
	b.ReportMetric(float64(n*b.N)/copyTook.Seconds(), "copy-in-mean-records/s")
	b.ReportMetric(float64(n*b.N)/outTook.Seconds(), "copy-out-mean-records/s")
	sink := float64(n) / sinkBest.Seconds()
	baseline := float64(n) / copyBest.Seconds()
	out := float64(n) / outBest.Seconds()
	b.ReportMetric(sink, "sink-records/s")
	b.ReportMetric(out, "copy-out-records/s")
	b.ReportMetric(baseline, "copy-in-records/s")
	b.ReportMetric(sink/out, "sink/copy-out")
	b.ReportMetric(sink/baseline, "sink/copy-in")
	b.ReportMetric(float64(statements)/float64(len(batches)*b.N), "statements/batch")
}

var outputColumns = map[string][]string{
	"windows": {"window_seconds", "start_at", "category", "page_views", "product_views", "clicks", "searches", "add_to_cart",
		"remove_from_cart", "orders", "units", "order_value_cents", "paid_orders", "revenue_cents", "failed_payments", "shipped",
		"cancellations", "refunds", "refunded_cents", "users", "user_set"},
	"product_minutes": {"start_at", "category", "product_id", "views", "add_to_cart", "units", "revenue_cents"},
	"search_terms":    {"start_at", "query_hash", "query", "searches"},
	"sessions":        {"user_id", "start_at", "end_at", "events", "pages", "orders", "revenue_cents"},
	"offsets":         {"consumer_group", "topic", "partition", "last_offset", "max_event_at"},
}

// outputRows returns the rows the sink's result holds for one batch, as the
// tables and views show them: one per window row with its users, per
// product and minute, per search text and minute, per session and per
// watermark.
func outputRows(bt []*kafkabatch.Message) map[string][][]any {
	d := analytics.Fold(bt, nil, analytics.DefaultLateness)
	out := map[string][][]any{}
	at := func(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
	for _, w := range d.Windows {
		c := w.Counters
		out["windows"] = append(out["windows"], []any{w.Seconds, at(w.Start), w.Category, c.PageViews, c.ProductViews, c.Clicks,
			c.Searches, c.AddToCart, c.RemoveFromCart, c.Orders, c.Units, c.OrderValue, c.PaidOrders, c.Revenue, c.FailedPayments,
			c.Shipped, c.Cancellations, c.Refunds, c.Refunded, int64(len(w.Users)), analytics.EncodeUsers(w.Users)})
	}
	for _, m := range d.Products {
		for _, p := range m.Products {
			out["product_minutes"] = append(out["product_minutes"], []any{at(m.Start), m.Category, p.ID, p.Views, p.AddToCart, p.Units, p.Revenue})
		}
	}
	for _, m := range d.Searches {
		for _, q := range m.Queries {
			h := sha256.Sum256([]byte(q.Query))
			out["search_terms"] = append(out["search_terms"], []any{at(m.Start), h[:], q.Query, q.Searches})
		}
	}
	for _, u := range d.Sessions {
		_, written := analytics.MergeSessions(u.User, nil, u.Points)
		for _, s := range written {
			out["sessions"] = append(out["sessions"], []any{s.User, at(s.Start), at(s.End), s.Events, s.Pages, s.Orders, s.Revenue})
		}
	}
	for p, m := range d.Marks {
		out["offsets"] = append(out["offsets"], []any{"bench", p.Topic, p.Partition, m.Offset, at(m.MaxEventAt)})
	}
	return out
}

// copyOutput copies one batch's output rows in one transaction.
func copyOutput(ctx context.Context, pool *pgxpool.Pool, rows map[string][][]any) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, t := range []string{"windows", "product_minutes", "search_terms", "sessions", "offsets"} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_" + t}, outputColumns[t], pgx.CopyFromRows(rows[t])); err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
	}
	return tx.Commit(ctx)
}

// copyBatch copies one batch's rows in its own transaction, as a sink that
// commits per batch would.
func copyBatch(ctx context.Context, pool *pgxpool.Pool, cols []string, rs [][]any) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_events"}, cols, pgx.CopyFromRows(rs)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// BenchmarkProcess is the whole invocation, payload decoding included, for
// the same batches: what one Lambda invocation costs end to end.
func BenchmarkProcess(b *testing.B) {
	batches := benchBatches(b)
	ctx := context.Background()
	pool := newDB(b, nil)
	payloads := make([]events.KafkaEvent, len(batches))
	n := 0
	for i, bt := range batches {
		payloads[i] = events.KafkaEvent{Records: map[string][]events.KafkaRecord{}}
		for _, m := range bt {
			tp := m.TopicPartition()
			payloads[i].Records[tp] = append(payloads[i].Records[tp], events.KafkaRecord{Topic: m.Topic, Partition: int64(m.Partition),
				Offset: m.Offset, Value: base64.StdEncoding.EncodeToString(m.Value)})
			n++
		}
	}
	var took time.Duration
	for b.Loop() {
		b.StopTimer()
		if _, err := pool.Exec(ctx, `TRUNCATE analytics.offsets, analytics.windows, analytics.category_minutes,
analytics.search_minutes, analytics.users, analytics.earlier_sessions, analytics.session_points`); err != nil {
			b.Fatal(err)
		}
		var sb strings.Builder
		store := analytics.NewPostgres(pool, "bench")
		proc, err := kafkabatch.NewProcessor(analytics.Name, analytics.New(store),
			kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&sb)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for _, ev := range payloads {
			if resp, err := proc.Process(ctx, ev); err != nil || len(resp.BatchItemFailures) > 0 {
				b.Fatalf("%v %+v", err, resp)
			}
		}
		if err := store.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/took.Seconds(), "records/s")
}
