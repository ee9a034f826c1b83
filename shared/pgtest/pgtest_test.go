package pgtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopstream/shopstream/shared/devstack"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestFreshDatabasePerTest(t *testing.T) {
	t.Parallel()
	url := URL(t)
	conn := connect(t, url)
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
		t.Errorf("fresh database has %d tables (%v), want 0", n, err)
	}
	if _, err := conn.Exec(t.Context(), "CREATE TABLE orders (id text PRIMARY KEY, total numeric(12,2) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if url == URL(t) {
		t.Error("two calls gave the same database")
	}
}

func TestTransactionsAndConstraints(t *testing.T) {
	t.Parallel()
	conn := connect(t, URL(t))
	ctx := t.Context()
	if _, err := conn.Exec(ctx, "CREATE TABLE payments (id text PRIMARY KEY, amount bigint CHECK (amount > 0))"); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO payments VALUES ($1, $2)", "p-1", 1250); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "INSERT INTO payments VALUES ($1, $2)", "p-1", 10)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Errorf("duplicate insert: %v, want unique_violation 23505", err)
	}
	_, err = conn.Exec(ctx, "INSERT INTO payments VALUES ($1, $2)", "p-2", -1)
	if !errors.As(err, &pgErr) || pgErr.Code != "23514" {
		t.Errorf("negative amount: %v, want check_violation 23514", err)
	}
}

func TestDatabaseIsDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		url := URL(t)
		c, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		name = c.Database
		connect(t, url) // left open: the drop must not wait for it
	})
	conn := connect(t, Server(t).DatabaseURL("postgres"))
	var exists bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s exists after its test", name)
	}
}

func TestDatabaseNames(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	t.Run(strings.Repeat("Very-Long Name/", 10), func(t *testing.T) {
		seen := map[string]bool{}
		for range 50 {
			n := DatabaseName(t)
			if !valid.MatchString(n) || seen[n] {
				t.Fatalf("DatabaseName = %q: invalid or repeated", n)
			}
			seen[n] = true
		}
	})
}

func TestPasswordRequired(t *testing.T) {
	t.Parallel()
	s := Server(t)
	wrong := *s
	wrong.Password = "wrong"
	conn, err := pgx.Connect(t.Context(), wrong.DatabaseURL("postgres"))
	if err == nil {
		conn.Close(t.Context())
		t.Fatal("connected with a wrong password")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("wrong password: %v, want invalid_password 28P01", err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	s := Server(t)
	addrs, err := devstack.ListenAddrs(s.Port)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) == 0 {
		t.Fatalf("nothing listens on %d", s.Port)
	}
	for _, a := range addrs {
		if !a.IsLoopback() {
			t.Errorf("postgres listens on %s:%d", a, s.Port)
		}
	}
	conn := connect(t, s.URL)
	var listen, sockets string
	if err := conn.QueryRow(t.Context(), "SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories')").Scan(&listen, &sockets); err != nil {
		t.Fatal(err)
	}
	if listen != "127.0.0.1" {
		t.Errorf("listen_addresses = %q", listen)
	}
	if sockets != "" && !strings.HasPrefix(sockets, shared.Dir()) {
		t.Errorf("socket directory %q is outside the run directory %s", sockets, shared.Dir())
	}
}

// TestFailsWithInstallHint runs a test of this binary where the PostgreSQL
// programs are missing: it must fail, not skip, and say what to install.
func TestFailsWithInstallHint(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPasswordRequired$", "-test.v")
	cmd.Env = append(os.Environ(), devstack.PostgresBinDirEnv+"="+t.TempDir())
	b, err := cmd.CombinedOutput()
	out := string(b)
	if err == nil {
		t.Fatalf("test passed without PostgreSQL:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestPasswordRequired", "apt-get install postgresql"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--- SKIP") {
		t.Errorf("a test was skipped:\n%s", out)
	}
}
