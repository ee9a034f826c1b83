// Package servertest is the lifecycle dynamotest, s3test and pgtest share:
// one local server per test binary, started on first use in a temporary
// folder, failing (never skipping) the tests that ask for it when it cannot
// start, and stopped at the end with a check that none of its processes is
// left.
package servertest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/devstack"
)

// Server is a local server a helper hands to tests.
type Server interface {
	Process() *devstack.Process
	Stop() error
}

// Once holds the test binary's one server of type S.
type Once[S Server] struct {
	// Name prefixes messages and the temporary folder ("dynamotest").
	Name string
	// What names the server in failures ("DynamoDB Local").
	What string
	// Timeout bounds a start, a first install included.
	Timeout time.Duration
	// DirMode, when not zero, is set on the temporary folder (a server run
	// as another user must be able to pass through it).
	DirMode os.FileMode
	// Start starts the server with its data in dir.
	Start func(ctx context.Context, dir string, logger *slog.Logger) (S, error)

	mu      sync.Mutex
	done    bool // a start was tried
	started bool
	server  S
	dir     string
	err     error
}

// Get returns the server, starting it on first use. It fails t when the
// server cannot start.
func (o *Once[S]) Get(t testing.TB) S {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.done {
		o.done = true
		o.err = o.start(slog.New(slog.NewTextHandler(t.Output(), nil)))
	}
	if o.err != nil {
		t.Fatalf("%s: %s did not start: %v", o.Name, o.What, o.err)
	}
	return o.server
}

func (o *Once[S]) start(logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", o.Name+"-")
	if err != nil {
		return err
	}
	if o.DirMode != 0 {
		if err := os.Chmod(dir, o.DirMode); err != nil {
			_ = os.RemoveAll(dir)
			return err
		}
	}
	s, err := o.Start(ctx, dir, logger)
	if err != nil {
		_ = os.RemoveAll(dir)
		return err
	}
	o.server, o.dir, o.started = s, dir, true
	return nil
}

// Dir returns the server's data folder, "" before a start.
func (o *Once[S]) Dir() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dir
}

// Main runs the tests, stops the server and exits; a process of the server
// still alive after the stop makes the run fail.
func (o *Once[S]) Main(m *testing.M) {
	code := m.Run()
	if err := o.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", o.Name, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Stop stops the server, if one was started, removes its folder, and
// reports a process of it still alive.
func (o *Once[S]) Stop() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.started {
		return nil
	}
	pids := devstack.ProcessTree(o.server.Process().Pid())
	err := o.server.Stop()
	_ = os.RemoveAll(o.dir)
	var zero S
	o.server, o.started = zero, false
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
