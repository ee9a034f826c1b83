package analytics_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/functions/analytics/internal/analytics"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
	"github.com/shopstream/shopstream/shared/pgtest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func record(t *testing.T, topic string, partition, offset int64, e event.Event) events.KafkaRecord {
	t.Helper()
	v, err := event.AppendJSON(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	return events.KafkaRecord{Topic: topic, Partition: partition, Offset: offset,
		Key: base64.StdEncoding.EncodeToString([]byte(e.Key())), Value: base64.StdEncoding.EncodeToString(v)}
}

func view(id, user string, at time.Time, cat string) *event.ProductView {
	return &event.ProductView{Envelope: event.Envelope{EventID: id, EventType: event.TypeProductView, SchemaVersion: 1, OccurredAt: at},
		Activity: event.Activity{UserID: user}, ProductID: "p-1", Category: cat}
}

func process(t *testing.T, proc *kafkabatch.Processor, recs ...events.KafkaRecord) {
	t.Helper()
	ev := events.KafkaEvent{Records: map[string][]events.KafkaRecord{}}
	for _, r := range recs {
		tp := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
		ev.Records[tp] = append(ev.Records[tp], r)
	}
	resp, err := proc.Process(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("%v %+v", err, resp)
	}
}

func windowViews(t *testing.T, pool *pgxpool.Pool, secs int, start time.Time, cat string) (views, users int64) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `SELECT product_views, users FROM analytics.windows
WHERE window_seconds = $1 AND start_at = $2 AND category = $3`, secs, start, cat).Scan(&views, &users)
	if err != nil {
		t.Fatalf("window %ds %s %s: %v", secs, start, cat, err)
	}
	return views, users
}

// TestLateEvents: an event behind its partition's latest event time by less
// than the lateness bound updates its own (already written) window; one
// further behind goes to the late-event table, verbatim, and counts
// nowhere; a replay stores it once.
func TestLateEvents(t *testing.T) {
	t.Parallel()
	pool := newDB(t, nil)
	var dl bytes.Buffer
	_, proc := newPipeline(t, pool, &dl, analytics.WithLateness(10*time.Minute))
	ue := event.TopicUserEvents
	process(t, proc, record(t, ue, 0, 0, view("e-1", "u-1", t0, "books")), record(t, ue, 0, 1, view("e-2", "u-2", t0.Add(20*time.Minute), "books")))
	if v, u := windowViews(t, pool, 60, t0, "books"); v != 1 || u != 1 {
		t.Fatalf("window at t0: %d views, %d users", v, u)
	}
	// 15 minutes behind: late; 5 minutes behind the latest: on time.
	late := record(t, ue, 0, 2, view("e-3", "u-3", t0.Add(5*time.Minute), "books"))
	onTime := record(t, ue, 0, 3, view("e-4", "u-4", t0.Add(15*time.Minute+30*time.Second), "books"))
	onTimeOld := record(t, ue, 1, 0, view("e-5", "u-5", t0.Add(10*time.Second), "books")) // another partition: its own reference
	for range 2 {
		process(t, proc, late, onTime, onTimeOld)
	}
	if v, u := windowViews(t, pool, 60, t0, "books"); v != 2 || u != 2 {
		t.Fatalf("window at t0 after the partition-1 event: %d views, %d users, want 2, 2", v, u)
	}
	if v, _ := windowViews(t, pool, 300, t0.Add(15*time.Minute), "_all"); v != 1 {
		t.Fatalf("5-minute window of the on-time event: %d views", v)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM analytics.windows WHERE start_at = $1`, t0.Add(5*time.Minute)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the late event's window has %d rows (%v)", n, err)
	}
	var id string
	var value []byte
	var occurred, reference time.Time
	if err := pool.QueryRow(context.Background(), `SELECT event_id, value, occurred_at, max_event_at FROM analytics.late_events`).
		Scan(&id, &value, &occurred, &reference); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(late.Value)
	if id != "e-3" || !bytes.Equal(value, raw) || !occurred.Equal(t0.Add(5*time.Minute)) || !reference.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("late event %s %s at %s behind %s", id, value, occurred, reference)
	}
}

// TestSessionsAcrossTopics: a user's order on transactions, processed
// before the activity around it on user_events, ends in one session with
// it; activity that bridges two sessions merges them.
func TestSessionsAcrossTopics(t *testing.T) {
	t.Parallel()
	pool := newDB(t, nil)
	var dl bytes.Buffer
	_, proc := newPipeline(t, pool, &dl)
	total := event.FromCents(2599)
	order := &event.OrderCreated{Envelope: event.Envelope{EventID: "o-e-1", EventType: event.TypeOrderCreated, SchemaVersion: 1,
		OccurredAt: t0.Add(50 * time.Minute)}, Order: event.Order{OrderID: "o-1", UserID: "u-1", Currency: "USD", TotalAmount: &total, PaymentMethod: "card",
		Items: []event.Item{{ProductID: "p-1", Quantity: 1, Price: total, Category: "books"}}}}
	paid := &event.PaymentAuthorized{Envelope: event.Envelope{EventID: "o-e-2", EventType: event.TypePaymentAuthorized, SchemaVersion: 1,
		OccurredAt: t0.Add(50*time.Minute + 10*time.Second)}, Order: order.Order}
	process(t, proc, record(t, event.TopicTransactions, 0, 0, order), record(t, event.TopicTransactions, 0, 1, paid))
	process(t, proc, record(t, event.TopicUserEvents, 0, 0, view("e-1", "u-1", t0, "books")))
	sessions := func() []string {
		rows, err := pool.Query(context.Background(), `SELECT start_at, end_at, events, pages, orders, converted, revenue_cents FROM analytics.sessions ORDER BY start_at`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s, e time.Time
			var evs, pages, orders, rev int64
			var conv bool
			if err := rows.Scan(&s, &e, &evs, &pages, &orders, &conv, &rev); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s-%s %d %d %d %v %d", s.Sub(t0), e.Sub(t0), evs, pages, orders, conv, rev))
		}
		return out
	}
	if dl.Len() > 0 {
		t.Fatalf("dead letters: %s", dl.String())
	}
	if got, want := sessions(), []string{"0s-0s 1 1 0 false 0", "50m0s-50m10s 2 0 1 true 2599"}; !slices.Equal(got, want) {
		t.Fatalf("sessions %q, want %q", got, want)
	}
	// A view 25 minutes in is within 30 minutes of both: one session.
	process(t, proc, record(t, event.TopicUserEvents, 0, 1, view("e-2", "u-1", t0.Add(25*time.Minute), "books")))
	if got, want := sessions(), []string{"0s-50m10s 4 2 1 true 2599"}; !slices.Equal(got, want) {
		t.Fatalf("sessions %q, want %q", got, want)
	}
}

// TestMigrateConcurrently: migrations started at once by several
// functions apply each version once; a later start applies nothing.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ms, err := analytics.Migrations()
	if err != nil || len(ms) < 2 {
		t.Fatalf("%d migrations: %v", len(ms), err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied []int
	)
	for range 4 {
		wg.Go(func() {
			vs, err := analytics.Migrate(ctx, pool)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			applied = append(applied, vs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(applied)
	var want []int
	for _, m := range ms {
		want = append(want, m.Version)
	}
	if !slices.Equal(applied, want) {
		t.Fatalf("applied %v, want each of %v once", applied, want)
	}
	if again, err := analytics.Migrate(ctx, pool); err != nil || len(again) != 0 {
		t.Fatalf("a second start applied %v (%v)", again, err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM analytics.schema_migrations").Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations has %d rows (%v)", n, err)
	}
}

// TestRejectsUnstorableText: an event whose text PostgreSQL cannot store
// (a NUL) is rejected on its own; the rest of its batch is stored, and a
// replay changes nothing stored.
func TestRejectsUnstorableText(t *testing.T) {
	t.Parallel()
	pool := newDB(t, nil)
	h := analytics.New(analytics.NewPostgres(pool, "analytics"))
	n := 3
	bad := &event.Search{Envelope: event.Envelope{EventID: "e-2", EventType: event.TypeSearch, SchemaVersion: 1, OccurredAt: t0},
		Activity: event.Activity{UserID: "u-1"}, Query: "a\x00b", ResultsCount: &n}
	msgs := func() []*kafkabatch.Message {
		return []*kafkabatch.Message{
			{Record: kafkabatch.Record{Topic: event.TopicUserEvents, Offset: 0}, Event: view("e-1", "u-1", t0, "books")},
			{Record: kafkabatch.Record{Topic: event.TopicUserEvents, Offset: 1}, Event: bad},
			{Record: kafkabatch.Record{Topic: event.TopicUserEvents, Offset: 2}, Event: view("e-3", "u-2", t0, "books")},
		}
	}
	b := kafkabatch.NewBatch(msgs())
	if err := h.Handle(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if r := b.Rejected(); len(r) != 1 || r[0].Message.Offset != 1 || event.ReasonOf(r[0].Err) != event.ReasonInvalidValue {
		t.Fatalf("rejected %+v", r)
	}
	// A replay rejects it again (its dead letter may be what failed) and
	// counts nothing twice.
	again := kafkabatch.NewBatch(msgs())
	if err := h.Handle(context.Background(), again); err != nil || len(again.Rejected()) != 1 {
		t.Fatalf("replay: %v, rejected %d", err, len(again.Rejected()))
	}
	if v, u := windowViews(t, pool, 60, t0, "_all"); v != 2 || u != 2 {
		t.Fatalf("window: %d views, %d users", v, u)
	}
	var searches int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM analytics.search_terms").Scan(&searches); err != nil || searches != 0 {
		t.Fatalf("%d search terms (%v)", searches, err)
	}
}

// msg is a user_events record of partition part.
func msg(part int32, offset int64, e event.Event) *kafkabatch.Message {
	return &kafkabatch.Message{Record: kafkabatch.Record{Topic: event.TopicUserEvents, Partition: part, Offset: offset}, Event: e}
}

// handle hands h one batch of msgs, which must succeed whole.
func handle(t *testing.T, h *analytics.Handler, msgs ...*kafkabatch.Message) {
	t.Helper()
	b := kafkabatch.NewBatch(msgs)
	if err := h.Handle(context.Background(), b); err != nil || len(b.Rejected()) > 0 {
		t.Fatalf("batch: %v, rejected %v", err, b.Rejected())
	}
}

// lostAnswer is a store whose next Apply commits but answers with an
// error, as when the connection drops after the commit reached the server.
type lostAnswer struct {
	analytics.Store
	lose bool
}

func (s *lostAnswer) Apply(ctx context.Context, parts []analytics.Partition, basis map[analytics.Partition]analytics.Mark, g *analytics.Folding) (*analytics.Delta, error) {
	d, err := s.Store.Apply(ctx, parts, basis, g)
	if err == nil && s.lose {
		s.lose = false
		return nil, errors.New("connection reset by peer")
	}
	return d, err
}

// TestLostCommitAnswer: a batch whose commit succeeded but whose answer was
// lost is tried again: the stored watermarks are ahead of those the handler
// folded on, it folds again on them, and nothing counts twice.
func TestLostCommitAnswer(t *testing.T) {
	t.Parallel()
	pool := newDB(t, nil)
	store := &lostAnswer{Store: analytics.NewPostgres(pool, "analytics"), lose: true}
	h := analytics.New(store)
	handle(t, h, msg(0, 0, view("e-1", "u-1", t0, "books")), msg(0, 1, view("e-2", "u-2", t0, "books")))
	if v, u := windowViews(t, pool, 60, t0, "books"); v != 2 || u != 2 {
		t.Fatalf("window: %d views, %d users, want 2, 2", v, u)
	}
	if st := h.Stats(); st.Retries.Load() != 1 || st.Skipped.Load() != 2 || st.Applied.Load() != 0 {
		t.Fatalf("retries %d, skipped %d, applied %d; want the retry to skip both", st.Retries.Load(), st.Skipped.Load(), st.Applied.Load())
	}
}

// TestStaleWatermarks: a handler that did not commit a partition's last
// batch (another invocation did) folds its batch again on the stored
// watermarks: the replayed head is skipped, the rest counts once.
func TestStaleWatermarks(t *testing.T) {
	t.Parallel()
	pool := newDB(t, nil)
	one := analytics.New(analytics.NewPostgres(pool, "analytics"))
	other := analytics.New(analytics.NewPostgres(pool, "analytics"))
	handle(t, one, msg(0, 0, view("e-1", "u-1", t0, "books")))
	handle(t, other, msg(0, 0, view("e-1", "u-1", t0, "books")), msg(0, 1, view("e-2", "u-1", t0.Add(time.Second), "books")))
	handle(t, one, msg(0, 1, view("e-2", "u-1", t0.Add(time.Second), "books")), msg(0, 2, view("e-3", "u-2", t0.Add(2*time.Second), "books")))
	if v, u := windowViews(t, pool, 60, t0, "books"); v != 3 || u != 2 {
		t.Fatalf("window: %d views, %d users, want 3, 2", v, u)
	}
	var events int64
	if err := pool.QueryRow(context.Background(), `SELECT events FROM analytics.sessions WHERE user_id = 'u-1'`).Scan(&events); err != nil || events != 2 {
		t.Fatalf("u-1's session: %d events (%v), want 2", events, err)
	}
}

// TestUserCreatedMeanwhile: a user another transaction creates while a
// batch's transaction runs (it found the user missing) fails that
// transaction, which is tried again and then finds the user, locked. The
// store merges every batch's session events at once.
func TestUserCreatedMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newDB(t, nil)
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Rollback(ctx) }()
	if _, err := other.Exec(ctx, `INSERT INTO analytics.users (user_id, start_at, end_at, events, pages, orders, revenue_cents)
VALUES ('u-1', $1, $1, 1, 1, 0, 0)`, t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	h := analytics.New(analytics.NewPostgres(pool, "analytics", analytics.WithCompaction(1)))
	done := make(chan error, 1)
	go func() {
		done <- h.Handle(ctx, kafkabatch.NewBatch([]*kafkabatch.Message{msg(0, 0, view("e-1", "u-1", t0, "books"))}))
	}()
	// Once the batch waits on the other transaction's user, that one commits.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).
			Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited for the other transaction's user")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := h.Stats().Retries.Load(); r != 1 {
		t.Fatalf("%d retries, want 1", r)
	}
	var events int64
	var start time.Time
	if err := pool.QueryRow(ctx, `SELECT start_at, events FROM analytics.sessions WHERE user_id = 'u-1'`).Scan(&start, &events); err != nil ||
		events != 2 || !start.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("u-1's session from %s with %d events (%v), want the other's extended", start, events, err)
	}
}
