package analytics_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/functions/analytics/internal/analytics"
	"github.com/shopstream/shopstream/shared/esmtest"
	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/generator"
	"github.com/shopstream/shopstream/shared/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// kafkaLog is generated traffic as the function's topics hold it.
type kafkaLog = esmtest.Log

const partitions = 4

func newKafkaLog(t testing.TB, cfg generator.Config, n int) (*kafkaLog, *generator.Truth) {
	t.Helper()
	return esmtest.Generate(t, cfg, n, partitions, event.TopicUserEvents, event.TopicTransactions)
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
