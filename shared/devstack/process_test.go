package devstack

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond every 20ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func startShell(t *testing.T, script string, grace time.Duration) *Process {
	t.Helper()
	p, err := StartProcess(ProcessConfig{
		Name:    "sh",
		Path:    "/bin/sh",
		Args:    []string{"-c", script},
		LogFile: filepath.Join(t.TempDir(), "sh.log"),
		Grace:   grace,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

func TestProcessStopEndsItsGroup(t *testing.T) {
	t.Parallel()
	p := startShell(t, "sleep 300 & sleep 300 & wait", 5*time.Second)
	var tree []int
	if !waitFor(5*time.Second, func() bool { tree = ProcessTree(p.Pid()); return len(tree) == 3 }) {
		t.Fatalf("process tree = %v, want the shell and two sleeps", tree)
	}
	if pgid, err := syscall.Getpgid(p.Pid()); err != nil || pgid != p.Pid() {
		t.Errorf("process group = %d (%v), want its own (%d)", pgid, err, p.Pid())
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, func() bool { return !anyAlive(tree) }) {
		t.Errorf("alive after Stop: %v", alive(tree))
	}
	if err := p.Stop(); err != nil { // twice is fine
		t.Fatal(err)
	}
}

func TestProcessStopKillsAfterGrace(t *testing.T) {
	t.Parallel()
	p := startShell(t, `trap "" TERM; echo ready; sleep 300 & wait`, 300*time.Millisecond)
	if !waitFor(5*time.Second, func() bool { return strings.Contains(p.LogTail(1), "ready") && len(ProcessTree(p.Pid())) == 2 }) {
		t.Fatal("shell did not start")
	}
	tree := ProcessTree(p.Pid())
	began := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("Stop took %s, want the grace period (300ms) and then SIGKILL", took)
	}
	if !waitFor(2*time.Second, func() bool { return !anyAlive(tree) }) {
		t.Errorf("alive after Stop: %v", alive(tree))
	}
	if ws, ok := p.Err().(*exec.ExitError); !ok || ws.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("exit = %v, want killed by SIGKILL", p.Err())
	}
}

func TestProcessReportsEarlyExit(t *testing.T) {
	t.Parallel()
	p := startShell(t, "echo listening failed: Address already in use >&2; exit 3", time.Second)
	err := Ready(t.Context(), p, 5*time.Second, func(ctx context.Context) error { return dialProbe(ctx, "127.0.0.1:1") })
	if err == nil || !strings.Contains(err.Error(), "exited during startup") || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("Ready = %v, want the early exit with the log's last line", err)
	}
	if !bindConflict(err) {
		t.Errorf("bindConflict(%v) = false", err)
	}
}

// TestProcessDiesWithUs runs this test binary as a parent that starts a
// child and is then killed with SIGKILL, as a crash would: the kernel must
// kill the child too.
func TestProcessDiesWithUs(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "DEVSTACK_TEST_PARENT=1", "DEVSTACK_TEST_LOG="+filepath.Join(t.TempDir(), "child.log"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "child pid "); ok {
			child, _ = strconv.Atoi(v)
			break
		}
	}
	if child == 0 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("helper parent did not report its child")
	}
	if !ProcessAlive(child) {
		t.Fatalf("child %d is not running", child)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !waitFor(5*time.Second, func() bool { return !ProcessAlive(child) }) {
		_ = syscall.Kill(child, syscall.SIGKILL)
		t.Fatalf("child %d outlived its killed parent", child)
	}
}

// helperParent is the parent of TestProcessDiesWithUs: it starts a child,
// reports its pid and waits to be killed.
func helperParent() {
	p, err := StartProcess(ProcessConfig{Name: "sleep", Path: "/bin/sleep", Args: []string{"300"}, LogFile: os.Getenv("DEVSTACK_TEST_LOG")})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("child pid " + strconv.Itoa(p.Pid()) + "\n")
	time.Sleep(time.Minute) // killed before this ends
	os.Exit(1)
}

func TestBaseEnvPassesNoServiceSettings(t *testing.T) {
	t.Setenv("VGW_PORT", ":7070")
	t.Setenv("JAVA_TOOL_OPTIONS", "-Dcom.sun.management.jmxremote.port=9010")
	for _, kv := range BaseEnv() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "JAVA_TOOL_OPTIONS=") {
			t.Errorf("BaseEnv passes %s", kv)
		}
	}
}

func anyAlive(pids []int) bool { return len(alive(pids)) > 0 }

func alive(pids []int) []int {
	var a []int
	for _, p := range pids {
		if ProcessAlive(p) {
			a = append(a, p)
		}
	}
	return a
}
