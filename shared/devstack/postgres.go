package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresConfig configures [StartPostgres].
type PostgresConfig struct {
	Dir          string        // holds the cluster (data/), its socket (run/) and logs; created if needed (required)
	Logger       *slog.Logger  // nil discards
	Port         int           // 0 picks a free port
	BinDir       string        // the server programs; "" finds them (see PostgresBinDir)
	User         string        // the superuser; default "shopstream"
	Database     string        // created after start and named in URL; default "shopstream"
	ReadyTimeout time.Duration // how long to wait for SELECT 1 to answer; default 60s
}

// Postgres is a PostgreSQL server: a private cluster started by
// [StartPostgres] or an external one given to [ConnectPostgres].
//
// A private cluster is made by initdb in Dir with the machine's PostgreSQL
// binaries and run by its postgres program under our supervisor, listening
// on 127.0.0.1 only (listen_addresses), with its Unix socket in Dir/run
// rather than the system's socket folder. Every login needs the superuser's
// password, generated per run (scram-sha-256, for TCP and the socket
// alike): trust on loopback would let any local user or program in as
// superuser. Durability is traded for speed (fsync, full_page_writes and
// synchronous_commit off): the cluster is for development and tests.
//
// Run as root, the cluster belongs to, and runs as, the postgres user
// (PostgreSQL refuses root): Dir is given to that user, and when a folder
// above Dir bars it, the cluster goes to a private folder under the system's
// temporary folder instead (DataDir says where) and is removed by Stop.
type Postgres struct {
	URL      string // postgres://USER:PASSWORD@127.0.0.1:PORT/DATABASE?sslmode=disable
	Host     string
	Port     int
	User     string
	Password string
	Database string
	DataDir  string // the cluster's data folder; "" for an external server

	proc    *Process
	cleanup string // a folder Stop removes
}

// StartPostgres creates a cluster in cfg.Dir, starts it and returns once it
// answers SELECT 1 and cfg.Database exists. The cluster is new: whatever
// Dir held is removed.
func StartPostgres(ctx context.Context, cfg PostgresConfig) (*Postgres, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		return nil, errors.New("start PostgreSQL: no directory")
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.User == "" {
		cfg.User = "shopstream"
	}
	if cfg.Database == "" {
		cfg.Database = "shopstream"
	}
	bin, err := PostgresBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w", err)
	}
	owner, err := postgresOwner()
	if err != nil {
		return nil, err
	}

	// base holds data/ and run/: dir itself, unless the owner cannot reach it.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w", err)
	}
	for _, old := range []string{"data", "run", "pwfile"} {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			return nil, fmt.Errorf("start PostgreSQL: %w", err)
		}
	}
	began := time.Now()
	p := &Postgres{Host: "127.0.0.1", User: cfg.User, Database: cfg.Database, Password: rand.Text()}
	base := dir
	if owner != nil {
		if blocked := barredFolder(dir, owner); blocked != "" {
			tmp, err := os.MkdirTemp("", "shopstream-pg-")
			if err != nil {
				return nil, fmt.Errorf("start PostgreSQL: %w", err)
			}
			if err := os.Chmod(tmp, 0o711); err != nil {
				_ = os.RemoveAll(tmp)
				return nil, fmt.Errorf("start PostgreSQL: %w", err)
			}
			logger.Warn("the postgres user cannot reach the run directory: the cluster goes to a temporary folder",
				"barred", blocked, "cluster", tmp)
			base, p.cleanup = tmp, tmp
		}
		if err := os.Chown(base, int(owner.Uid), int(owner.Gid)); err != nil {
			p.removeCleanup()
			return nil, fmt.Errorf("start PostgreSQL: give %s to the postgres user: %w", base, err)
		}
	}
	ok := false
	defer func() {
		if !ok {
			p.removeCleanup()
		}
	}()
	p.DataDir = filepath.Join(base, "data")
	sockDir := filepath.Join(base, "run")
	if err := mkdirOwned(sockDir, 0o700, owner); err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w", err)
	}

	// initdb, with the password in a file only the owner reads.
	pwfile := filepath.Join(base, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w", err)
	}
	if owner != nil {
		if err := os.Chown(pwfile, int(owner.Uid), int(owner.Gid)); err != nil {
			return nil, fmt.Errorf("start PostgreSQL: %w", err)
		}
	}
	initdb, err := StartProcess(ProcessConfig{
		Name: "initdb",
		Path: filepath.Join(bin, "initdb"),
		Args: []string{"-D", p.DataDir, "-U", cfg.User, "--pwfile", pwfile, "--auth", "scram-sha-256",
			"--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions"},
		Dir:        base,
		LogFile:    filepath.Join(dir, "initdb.log"),
		Credential: owner,
	})
	if err != nil {
		return nil, err
	}
	select {
	case <-initdb.Done():
	case <-ctx.Done():
		_ = initdb.Stop()
		return nil, fmt.Errorf("initdb: %w", ctx.Err())
	}
	_ = os.Remove(pwfile)
	if err := initdb.Err(); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, initdb.LogTail(10))
	}

	// Socket paths are limited to 107 bytes; a deep run directory has no
	// socket (every client here uses TCP anyway).
	sockets := sockDir
	if len(sockDir)+len("/.s.PGSQL.65535") > 107 {
		sockets = ""
		logger.Info("run directory too deep for a Unix socket: PostgreSQL listens on TCP only", "dir", sockDir)
	}
	start := func(port int) (*Process, error) {
		return StartProcess(ProcessConfig{
			Name: "postgres",
			Path: filepath.Join(bin, "postgres"),
			Args: []string{"-D", p.DataDir, "-p", strconv.Itoa(port),
				"-c", "listen_addresses=127.0.0.1",
				"-c", "unix_socket_directories=" + sockets,
				"-c", "unix_socket_permissions=0700",
				"-c", "max_connections=200",
				"-c", "fsync=off",
				"-c", "full_page_writes=off",
				"-c", "synchronous_commit=off",
				"-c", "logging_collector=off",
			},
			Dir:        base,
			LogFile:    filepath.Join(dir, "postgres.log"),
			Credential: owner,
			StopSignal: syscall.SIGINT, // fast shutdown: SIGTERM would wait for every client to leave
		})
	}
	probe := func(ctx context.Context) error { return pingPostgres(ctx, p.DatabaseURL("postgres")) }
	proc, port, err := startServer(ctx, cfg.Port, cfg.ReadyTimeout, start, p.setPort, probe)
	if err != nil {
		return nil, err
	}
	p.proc = proc
	if err := CheckLoopback(port); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := p.CreateDatabase(ctx, cfg.Database); err != nil {
		_ = p.Stop()
		return nil, err
	}
	ok = true
	logger.Info("PostgreSQL ready", "url", p.redactedURL(), "data", p.DataDir, "pid", proc.Pid(), "took", time.Since(began).Round(time.Millisecond))
	return p, nil
}

// ConnectPostgres checks an external server at rawURL with SELECT 1 and
// describes it. Its Stop does nothing.
func ConnectPostgres(ctx context.Context, rawURL string) (*Postgres, error) {
	c, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	if err := pingPostgres(ctx, rawURL); err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", c.Host, c.Port, err)
	}
	return &Postgres{URL: rawURL, Host: c.Host, Port: int(c.Port), User: c.User, Password: c.Password, Database: c.Database}, nil
}

func (p *Postgres) setPort(port int) {
	p.Port = port
	p.URL = p.DatabaseURL(p.Database)
}

// DatabaseURL returns the URL of another database on the same server.
func (p *Postgres) DatabaseURL(name string) string {
	if p.proc == nil && p.DataDir == "" && p.URL != "" { // external: keep every parameter given
		u, err := url.Parse(p.URL)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(p.User, p.Password),
		Host:     p.Host + ":" + strconv.Itoa(p.Port),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

func (p *Postgres) redactedURL() string {
	u, err := url.Parse(p.URL)
	if err != nil {
		return ""
	}
	return u.Redacted()
}

// CreateDatabase creates the database name unless it exists.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.DatabaseURL("postgres"))
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Process returns the supervised postgres process, or nil for an external
// server.
func (p *Postgres) Process() *Process { return p.proc }

// Stop shuts a private cluster down (fast shutdown: open sessions are
// ended) and waits for it. The cluster stays in DataDir unless it was put
// in a temporary folder.
func (p *Postgres) Stop() error {
	if p.proc == nil {
		return nil
	}
	err := p.proc.Stop()
	p.removeCleanup()
	return err
}

func (p *Postgres) removeCleanup() {
	if p.cleanup != "" {
		_ = os.RemoveAll(p.cleanup)
		p.cleanup = ""
	}
}

func pingPostgres(ctx context.Context, rawURL string) error {
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	if one != 1 {
		return fmt.Errorf("SELECT 1 returned %d", one)
	}
	return nil
}

// PostgresBinDirEnv names the environment variable that test helpers and
// the shopstream command read to choose the PostgreSQL server programs.
const PostgresBinDirEnv = "SHOPSTREAM_PG_BINDIR"

// PostgresBinDir returns the folder holding the PostgreSQL server programs
// initdb and postgres: hint when given, else what pg_config --bindir says,
// the folder of a postgres on PATH, or the newest /usr/lib/postgresql/*/bin
// (Debian and Ubuntu keep them off PATH).
func PostgresBinDir(hint string) (string, error) {
	has := func(d string) bool {
		return d != "" && isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres"))
	}
	if hint != "" {
		if has(hint) {
			return hint, nil
		}
		return "", &MissingError{What: "PostgreSQL needs its server programs (initdb, postgres), which are not in " + hint, Install: "apt-get install postgresql"}
	}
	var candidates []string
	if pgc, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgc, "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	if pg, err := exec.LookPath("postgres"); err == nil {
		candidates = append(candidates, filepath.Dir(pg))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return pgVersion(versions[i]) > pgVersion(versions[j]) })
	candidates = append(candidates, versions...)
	candidates = append(candidates, "/usr/local/pgsql/bin")
	for _, d := range candidates {
		if has(d) {
			return d, nil
		}
	}
	return "", &MissingError{What: "PostgreSQL needs its server programs (initdb, postgres)", Install: "apt-get install postgresql"}
}

// pgVersion reads 15 from /usr/lib/postgresql/15/bin.
func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// postgresOwner returns the credential to run PostgreSQL with: nil (as
// ourselves) unless we are root, which PostgreSQL refuses; then the
// postgres user's.
func postgresOwner() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, &MissingError{
			What:    "PostgreSQL refuses to run as root and there is no postgres user to run it as",
			Install: "apt-get install postgresql (which creates it) or useradd --system postgres",
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has ids %s:%s", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// barredFolder returns the first folder above dir that the owner may not
// pass through, or "".
func barredFolder(dir string, owner *syscall.Credential) string {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return d
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return d
		}
		mode := st.Mode().Perm()
		var bit os.FileMode = 0o001
		switch {
		case sys.Uid == owner.Uid:
			bit = 0o100
		case sys.Gid == owner.Gid:
			bit = 0o010
		}
		if mode&bit == 0 {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

func mkdirOwned(dir string, perm os.FileMode, owner *syscall.Credential) error {
	if err := os.MkdirAll(dir, perm); err != nil {
		return err
	}
	if err := os.Chmod(dir, perm); err != nil {
		return err
	}
	if owner != nil {
		return os.Chown(dir, int(owner.Uid), int(owner.Gid))
	}
	return nil
}
