package devstack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestEnsureInstallsOnce has many callers ask for a missing tool at once:
// one installs it, the others wait on the lock and find it.
func TestEnsureInstallsOnce(t *testing.T) {
	t.Parallel()
	tools := &Tools{Dir: t.TempDir()}
	dir, err := tools.Path()
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "tool")
	var installs atomic.Int32
	find := func() (string, bool) { return target, fileExists(target) }
	install := func() error {
		installs.Add(1)
		time.Sleep(300 * time.Millisecond) // long enough for the others to queue
		return os.WriteFile(target, []byte("x"), 0o755)
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if p, err := tools.ensure(t.Context(), dir, "tool", find, install); err != nil || p != target {
				t.Errorf("ensure = %q, %v", p, err)
			}
		})
	}
	wg.Wait()
	if n := installs.Load(); n != 1 {
		t.Errorf("installed %d times, want once", n)
	}
}

func TestEnsureReportsAFailedInstall(t *testing.T) {
	t.Parallel()
	tools := &Tools{Dir: t.TempDir()}
	dir, _ := tools.Path()
	boom := errors.New("boom")
	_, err := tools.ensure(t.Context(), dir, "tool", func() (string, bool) { return "", false }, func() error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("ensure = %v, want the install's error", err)
	}
	_, err = tools.ensure(t.Context(), dir, "tool", func() (string, bool) { return "", false }, func() error { return nil })
	if err == nil {
		t.Error("ensure succeeded though the tool is not where it was installed")
	}
}

func TestDefaultToolsDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/var/cache/me")
	if got, err := DefaultToolsDir(); err != nil || got != "/var/cache/me/shopstream/tools" {
		t.Errorf("DefaultToolsDir() = %q, %v", got, err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/me")
	if got, err := DefaultToolsDir(); err != nil || got != "/home/me/.cache/shopstream/tools" {
		t.Errorf("DefaultToolsDir() = %q, %v", got, err)
	}
}

func TestPostgresBinDir(t *testing.T) {
	t.Parallel()
	if _, err := PostgresBinDir(t.TempDir()); !IsMissing(err) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Errorf("PostgresBinDir(empty folder) = %v, want a MissingError", err)
	}
	dir, err := PostgresBinDir("")
	if err != nil {
		t.Fatalf("this machine has PostgreSQL: %v", err)
	}
	if !isExecutable(filepath.Join(dir, "initdb")) || !isExecutable(filepath.Join(dir, "postgres")) {
		t.Errorf("PostgresBinDir() = %s, which lacks initdb or postgres", dir)
	}
}

func TestBarredFolder(t *testing.T) {
	t.Parallel()
	stranger := &syscall.Credential{Uid: 54321, Gid: 54321}
	base := t.TempDir()
	closed := filepath.Join(base, "closed")
	if err := os.MkdirAll(filepath.Join(closed, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if got := barredFolder(filepath.Join(closed, "run", "postgres"), stranger); got != filepath.Join(closed, "run") {
		t.Errorf("barredFolder = %q, want %s", got, filepath.Join(closed, "run"))
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o711); err != nil {
		t.Fatal(err)
	}
	if got := barredFolder(filepath.Join(open, "postgres"), stranger); got == open || strings.HasPrefix(got, open+"/") {
		t.Errorf("barredFolder = %q, but %s lets others through", got, open)
	}
	if got := barredFolder("/tmp/x", stranger); got != "" {
		t.Errorf("barredFolder(/tmp/x) = %q, want none", got)
	}
}
