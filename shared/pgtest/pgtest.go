// Package pgtest provides PostgreSQL to tests, as httptest provides HTTP
// servers: one private cluster per test binary, made with the machine's
// PostgreSQL binaries on first use, shared by every test and stopped by
// [Main] when the tests end. Each test gets a fresh database ([URL]) and may
// run in parallel.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestStore(t *testing.T) {
//		t.Parallel()
//		conn, err := pgx.Connect(ctx, pgtest.URL(t))
//		...
//	}
//
// When the cluster cannot start, every test that asks for it fails with the
// reason and how to install what is missing; none is skipped. The server
// programs are found as devstack.PostgresBinDir finds them, or taken from
// $SHOPSTREAM_PG_BINDIR when set.
package pgtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopstream/shopstream/shared/devstack"
	"github.com/shopstream/shopstream/shared/servertest"
)

var shared = &servertest.Once[*devstack.Postgres]{
	Name:    "pgtest",
	What:    "PostgreSQL",
	Timeout: 2 * time.Minute,
	// Run as root, the cluster runs as the postgres user, who must be able
	// to pass through this folder.
	DirMode: 0o711,
	Start: func(ctx context.Context, dir string, logger *slog.Logger) (*devstack.Postgres, error) {
		return devstack.StartPostgres(ctx, devstack.PostgresConfig{
			Dir:    dir,
			Logger: logger,
			BinDir: os.Getenv(devstack.PostgresBinDirEnv),
		})
	},
}

// Main runs the tests, stops the cluster, and exits. A process of the
// cluster still alive after Stop makes the run fail.
func Main(m *testing.M) { shared.Main(m) }

// Server returns the test binary's cluster, starting it on first use. It
// fails t when the cluster cannot start.
func Server(t testing.TB) *devstack.Postgres {
	t.Helper()
	return shared.Get(t)
}

var seq atomic.Int64

var unsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// DatabaseName returns a database name unique to this call in the test
// binary, made of the test's name and a sequence number.
func DatabaseName(t testing.TB) string {
	suffix := fmt.Sprintf("_%d", seq.Add(1))
	name := "t_" + strings.Trim(unsafe.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if max := 63 - len(suffix); len(name) > max {
		name = name[:max]
	}
	return name + suffix
}

// URL creates a fresh database for this test and returns its pgx URL
// (postgres://…/DATABASE?sslmode=disable). When the test ends the database
// is dropped, with any sessions still open in it.
func URL(t testing.TB) string {
	t.Helper()
	s := Server(t)
	name := DatabaseName(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, s, name); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DatabaseURL(name)
}

func dropDatabase(ctx context.Context, s *devstack.Postgres, name string) error {
	conn, err := pgx.Connect(ctx, s.DatabaseURL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// Stop stops the cluster, if one was started, removes its folder, and
// reports a process of it still alive. Main calls it.
func Stop() error { return shared.Stop() }
