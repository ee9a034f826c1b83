package analytics_test

import (
	"context"
	"net"
	"sync"
	"testing"

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

// newDB returns a pool on a fresh, migrated database. drop, when not nil,
// may close the pool's connections.
func newDB(t testing.TB, drop *dropper) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	if drop != nil {
		dial := cfg.ConnConfig.DialFunc
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &droppable{Conn: c, d: drop}, nil
		}
	}
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
// socket reads and writes runs out: a connection dropped at a random point
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

// step reports whether the connection must be dropped now.
func (d *dropper) step() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.armed {
		return false
	}
	if d.budget > 0 {
		d.budget--
		return false
	}
	d.armed = false
	d.drops++
	return true
}

// droppable is a connection a dropper may close.
type droppable struct {
	net.Conn
	d *dropper
}

func (c *droppable) Read(b []byte) (int, error) {
	if c.d.step() {
		_ = c.Conn.Close()
	}
	return c.Conn.Read(b)
}

func (c *droppable) Write(b []byte) (int, error) {
	if c.d.step() {
		_ = c.Conn.Close()
	}
	return c.Conn.Write(b)
}
