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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopstream/shopstream/shared/devstack"
)

var shared struct {
	mu     sync.Mutex
	done   bool // a start was tried
	server *devstack.Postgres
	dir    string
	err    error
}

// Main runs the tests, stops the cluster, and exits. A process of the
// cluster still alive after Stop makes the run fail.
func Main(m *testing.M) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Server returns the test binary's cluster, starting it on first use. It
// fails t when the cluster cannot start.
func Server(t testing.TB) *devstack.Postgres {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.done {
		shared.done = true
		shared.server, shared.dir, shared.err = start(t)
	}
	if shared.err != nil {
		t.Fatalf("pgtest: PostgreSQL did not start: %v", shared.err)
	}
	return shared.server
}

func start(t testing.TB) (*devstack.Postgres, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, "", err
	}
	// Run as root, the cluster runs as the postgres user, who must be able
	// to pass through this folder.
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, "", err
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	p, err := devstack.StartPostgres(ctx, devstack.PostgresConfig{
		Dir:    dir,
		Logger: logger,
		BinDir: os.Getenv(devstack.PostgresBinDirEnv),
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	return p, dir, nil
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
func Stop() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.server == nil {
		return nil
	}
	pids := devstack.ProcessTree(shared.server.Process().Pid())
	err := shared.server.Stop()
	_ = os.RemoveAll(shared.dir)
	shared.server = nil
	if err != nil {
		return err
	}
	return leftovers(pids)
}

// leftovers reports processes of pids still alive a moment after a stop.
func leftovers(pids []int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var alive []int
		for _, p := range pids {
			if devstack.ProcessAlive(p) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still alive after stop", alive)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
