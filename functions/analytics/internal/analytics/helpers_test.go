package analytics_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/functions/analytics/internal/analytics"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// kafkaLog is generated traffic as the function's topics hold it: records
// partitioned by key, offsets per partition.
type kafkaLog struct {
	parts []string // "topic-partition", sorted
	recs  map[string][]events.KafkaRecord
	count int
}

const partitions = 4

func newKafkaLog(t testing.TB, cfg generator.Config, n int) (*kafkaLog, *generator.Truth) {
	t.Helper()
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &kafkaLog{recs: map[string][]events.KafkaRecord{}}
	for range n {
		r := g.Next()
		if r.Topic != event.TopicUserEvents && r.Topic != event.TopicTransactions {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(r.Key))
		p := int64(h.Sum32() % partitions)
		tp := fmt.Sprintf("%s-%d", r.Topic, p)
		l.recs[tp] = append(l.recs[tp], events.KafkaRecord{
			Topic: r.Topic, Partition: p, Offset: int64(len(l.recs[tp])),
			Timestamp:     events.MilliSecondsEpochTime{Time: r.Time},
			TimestampType: "CREATE_TIME",
			Key:           base64.StdEncoding.EncodeToString([]byte(r.Key)),
			Value:         base64.StdEncoding.EncodeToString(r.Value),
		})
		l.count++
	}
	for tp := range l.recs {
		l.parts = append(l.parts, tp)
	}
	sort.Strings(l.parts)
	return l, g.Truth()
}

// newDB returns a pool on a fresh, migrated database. tracer, when not nil,
// sees every query of the pool's connections.
func newDB(t testing.TB, tracer pgx.QueryTracer) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := analytics.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

// dropper closes a connection's socket, while armed, when its budget of
// queries and batch steps runs out: a connection dropped at a random point
// of a batch's transaction.
type dropper struct {
	mu     sync.Mutex
	armed  bool
	budget int
	drops  int
}

func (d *dropper) arm(budget int) {
	d.mu.Lock()
	d.armed, d.budget = true, budget
	d.mu.Unlock()
}

func (d *dropper) disarm() {
	d.mu.Lock()
	d.armed = false
	d.mu.Unlock()
}

func (d *dropper) step(conn *pgx.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.armed {
		return
	}
	if d.budget > 0 {
		d.budget--
		return
	}
	d.armed = false
	d.drops++
	_ = conn.PgConn().Conn().Close()
}

func (d *dropper) TraceQueryStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	d.step(conn)
	return ctx
}

func (d *dropper) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (d *dropper) TraceBatchStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	d.step(conn)
	return ctx
}

func (d *dropper) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, _ pgx.TraceBatchQueryData) {
	d.step(conn)
}

func (d *dropper) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
