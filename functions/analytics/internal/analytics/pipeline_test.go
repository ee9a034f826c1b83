package analytics_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/functions/analytics/internal/analytics"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// deliveryMode is how the test's event source mapping delivers batches.
type deliveryMode int

const (
	once    deliveryMode = iota // each batch once
	twice                       // each batch twice in a row
	overlap                     // the next batch often starts inside the last one: a partial replay
	cut                         // the connection drops at a random point; the whole batch comes back
	dropped                     // the connection drops at a random point; the handler's own retry recovers
)

func (m deliveryMode) String() string {
	return [...]string{"once", "twice", "overlap", "cut", "dropped"}[m]
}

// consume delivers the whole log to proc in batches that mix partitions and
// let transactions run ahead of user_events (and back), so a user's orders
// meet sessions that are behind or ahead of them in event time. It returns
// the number of invocations.
func consume(t testing.TB, ctx context.Context, proc *kafkabatch.Processor, l *kafkaLog, mode deliveryMode,
	drop *dropper, rng *rand.Rand, batch int) int {
	t.Helper()
	b := esmtest.Batches{Log: l, Size: batch, Rand: rng, Behind: 4,
		Lead: esmtest.Alternate(10, event.TopicTransactions, event.TopicUserEvents)}
	invocations := 0
	for {
		ev, ok := b.Next()
		if !ok {
			return invocations
		}
		deliver := func() (kafkabatch.Response, error) {
			invocations++
			return proc.Process(ctx, ev)
		}
		var resp kafkabatch.Response
		var err error
		switch mode {
		case once, overlap:
			resp, err = deliver()
		case twice:
			if _, err = deliver(); err != nil {
				t.Fatalf("first delivery: %v", err)
			}
			resp, err = deliver()
		case cut, dropped:
			if rng.IntN(3) == 0 {
				drop.arm(rng.IntN(16))
			}
			start := time.Now()
			resp, err = deliver()
			drop.disarm()
			if d := time.Since(start); d > 2*time.Second {
				t.Logf("slow delivery: %v (err %v)", d, err)
			}
		}
		if err != nil {
			if mode != cut {
				t.Fatalf("batch: %v", err)
			}
			continue // the whole batch again
		}
		if len(resp.BatchItemFailures) > 0 {
			t.Fatalf("batch failed: %+v", resp)
		}
		b.Commit(resp)
		if mode == overlap {
			b.Overlap()
		}
	}
}

func newPipeline(t testing.TB, pool *pgxpool.Pool, dl *bytes.Buffer, opts ...analytics.Option) (*analytics.Handler, *kafkabatch.Processor) {
	t.Helper()
	return newPipelineOn(t, analytics.NewPostgres(pool, "analytics"), dl, opts...)
}

func newPipelineOn(t testing.TB, store analytics.Store, dl *bytes.Buffer, opts ...analytics.Option) (*analytics.Handler, *kafkabatch.Processor) {
	t.Helper()
	h := analytics.New(store, opts...)
	proc, err := kafkabatch.NewProcessor(analytics.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(dl)))
	if err != nil {
		t.Fatal(err)
	}
	return h, proc
}

// TestFinalStateEqualsTruth drives the function with a generated run (a
// fifth of it in producer shapes) delivered once, with every batch twice,
// with partial replays, and with connections dropped at random points, and
// compares every window, distinct-user count, product window and session
// with the generator's truth, and the dead letters with its bad records.
func TestFinalStateEqualsTruth(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, generator.Config{Seed: 11, LegacyShare: 0.2}, 30000)
	if len(truth.Analytics.Sessions) < 500 || len(truth.Windows.OneMinute) < 100 {
		t.Fatalf("only %d sessions and %d 1-minute windows in the run", len(truth.Analytics.Sessions), len(truth.Windows.OneMinute))
	}
	merged := 0
	for _, s := range truth.Analytics.Sessions {
		if s.Orders > 0 {
			merged++
		}
	}
	if merged < 50 {
		t.Fatalf("only %d sessions with orders", merged)
	}
	for _, mode := range []deliveryMode{once, twice, overlap, cut, dropped} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			checkRun(t, l, truth, mode)
		})
	}
}

// TestSessionGaps: few users over more than two hours of event time come
// back after more than SessionGap, and their activity and orders arrive in
// any interleaving of the two topics; sessions split, extend and merge to
// the truth's, delivered once and with partial replays.
func TestSessionGaps(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, generator.Config{Seed: 12, LegacyShare: 0.2, EventsPerSecond: 3, Users: 250}, 16000)
	users := map[string]int{}
	for _, s := range truth.Analytics.Sessions {
		users[s.UserID]++
	}
	multi := 0
	for _, n := range users {
		if n > 1 {
			multi++
		}
	}
	if multi < 50 {
		t.Fatalf("only %d users with several sessions", multi)
	}
	for _, mode := range []deliveryMode{once, overlap} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			checkRun(t, l, truth, mode)
		})
	}
}

// compaction is how many batches each delivery mode's store leaves their
// session events waiting before one merges them: every batch at once, and
// in groups of several sizes.
var compaction = map[deliveryMode]int{once: 1, twice: 3, overlap: analytics.DefaultCompaction, cut: 5, dropped: 2}

// checkRun consumes l in mode into a fresh database and compares the final
// state with truth; then merges the session events still waiting and
// compares again.
func checkRun(t *testing.T, l *kafkaLog, truth *generator.Truth, mode deliveryMode) {
	ctx := context.Background()
	drop := &dropper{}
	pool := newDB(t, drop)
	var dl bytes.Buffer
	var opts []analytics.Option
	if mode == cut {
		opts = append(opts, analytics.WithAttempts(1))
	}
	store := analytics.NewPostgres(pool, "analytics", analytics.WithCompaction(compaction[mode]))
	h, proc := newPipelineOn(t, store, &dl, opts...)
	rng := rand.New(rand.NewPCG(uint64(mode)+1, 7))
	n := consume(t, ctx, proc, l, mode, drop, rng, 700)
	st := h.Stats()
	t.Logf("%s: %d records in %d invocations, %d applied, %d skipped, %d dropped connections, %d transaction retries",
		mode, l.Count, n, st.Applied.Load(), st.Skipped.Load(), drop.drops, st.Retries.Load())
	switch mode {
	case twice, overlap:
		if st.Skipped.Load() == 0 {
			t.Fatal("no record was replayed")
		}
	case cut, dropped:
		if drop.drops == 0 {
			t.Fatal("no connection was dropped")
		}
	}
	pool.Reset() // a connection the dropper closed after its last query may still be idle in the pool
	for _, d := range analytics.Compare(ctx, pool, truth) {
		t.Error(d)
	}
	var waiting int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM analytics.session_points").Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if err := store.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	left := -1
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM analytics.session_points").Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows of session events left after merging (%v)", left, err)
	}
	t.Logf("merged %d rows of waiting session events", waiting)
	for _, d := range analytics.Compare(ctx, pool, truth) {
		t.Errorf("after merging the waiting session events: %s", d)
	}
	// Every bad record of the function's topics was dead-lettered
	// with the truth's reason; nothing else was.
	want := map[string]event.Reason{}
	for _, b := range truth.BadRecords {
		if b.Topic == event.TopicUserEvents || b.Topic == event.TopicTransactions {
			want[b.SHA256] = b.Reason
		}
	}
	got := map[string]event.Reason{}
	dec := json.NewDecoder(&dl)
	for dec.More() {
		var letter event.DeadLetter
		if err := dec.Decode(&letter); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(letter.RecordValue)
		got[hex.EncodeToString(sum[:])] = letter.Reason
	}
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Errorf("dead letters by value: %d, the truth's bad records: %d (or reasons differ)", len(got), len(want))
	}
	if mode == once {
		checkSearchTerms(t, ctx, pool, l)
		checkViews(t, ctx, pool, truth)
	}
}

// checkSearchTerms compares the search terms table with the searches of the
// log, decoded independently: every text verbatim, hostile ones included,
// with its count per minute.
func checkSearchTerms(t *testing.T, ctx context.Context, pool *pgxpool.Pool, l *kafkaLog) {
	t.Helper()
	type key struct {
		start int64
		query string
	}
	want := map[key]int64{}
	hostile := 0
	for _, tp := range l.Parts {
		for _, r := range l.Records[tp] {
			v, err := base64.StdEncoding.DecodeString(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			e, err := event.Decode(v, event.Source{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset})
			if err != nil {
				continue
			}
			if s, ok := e.(*event.Search); ok {
				want[key{s.OccurredAt.Truncate(time.Minute).UnixMilli(), s.Query}]++
				if strings.ContainsAny(s.Query, "'<\"$") {
					hostile++
				}
			}
		}
	}
	if hostile == 0 {
		t.Fatal("the run has no hostile search text")
	}
	got := map[key]int64{}
	rows, err := pool.Query(ctx, "SELECT start_at, query, searches, query_hash FROM analytics.search_terms")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var q string
		var n int64
		var h []byte
		if err := rows.Scan(&at, &q, &n, &h); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(q)); !bytes.Equal(sum[:], h) {
			t.Errorf("query %q has the wrong hash", q)
		}
		got[key{at.UnixMilli(), q}] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("search terms: %d rows, want %d", len(got), len(want))
	}
	// The tables the hostile texts name are still there.
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM analytics.windows").Scan(&n); err != nil || n == 0 {
		t.Fatalf("windows after hostile text: %d rows, %v", n, err)
	}
	t.Logf("%d search terms, %d hostile searches stored verbatim", len(got), hostile)
}

// checkViews reads every dashboard view: each answers with rows.
func checkViews(t *testing.T, ctx context.Context, pool *pgxpool.Pool, truth *generator.Truth) {
	t.Helper()
	for _, v := range []string{"last_hour_by_minute", "today_by_category", "funnel", "top_products", "session_summary"} {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM analytics."+v).Scan(&n); err != nil {
			t.Errorf("view %s: %v", v, err)
			continue
		}
		if n == 0 {
			t.Errorf("view %s is empty", v)
		}
	}
	// The last hour: the minutes of the truth up to an hour before its
	// newest one.
	ws := truth.Windows.OneMinute
	newest := ws[len(ws)-1].Start
	want := map[time.Time]bool{}
	for _, w := range ws {
		if w.Start.After(newest.Add(-time.Hour)) {
			want[w.Start] = true
		}
	}
	var minutes int
	if err := pool.QueryRow(ctx, "SELECT count(DISTINCT start_at) FROM analytics.last_hour_by_minute").Scan(&minutes); err != nil || minutes != len(want) {
		t.Errorf("last_hour_by_minute has %d minutes (%v), want %d", minutes, err, len(want))
	}
}

// TestConcurrentInvocations: two invocations at a time, one consuming
// user_events and one transactions (as two pollers of one mapping do),
// update the same users' sessions and the same windows; the user locks keep
// every session exact.
func TestConcurrentInvocations(t *testing.T) {
	t.Parallel()
	l, truth := newKafkaLog(t, generator.Config{Seed: 21}, 15000)
	ctx := context.Background()
	pool := newDB(t, nil)
	var dl lockedBuffer
	t.Run("group", func(t *testing.T) {
		for i, topic := range []string{event.TopicUserEvents, event.TopicTransactions} {
			t.Run(topic, func(t *testing.T) {
				t.Parallel()
				h := analytics.New(analytics.NewPostgres(pool, "analytics"))
				proc, err := kafkabatch.NewProcessor(analytics.Name, h, kafkabatch.WithDeadLetterSink(kafkabatch.NewWriterSink(&dl)))
				if err != nil {
					t.Fatal(err)
				}
				consume(t, ctx, proc, l.Only(topic), once, nil, rand.New(rand.NewPCG(uint64(i), 3)), 150)
			})
		}
	})
	for _, d := range analytics.Compare(ctx, pool, truth) {
		t.Error(d)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
