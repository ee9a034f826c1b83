//go:build linux

package lambdaruntime_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestParentDeathKillsFunction kills the process that runs a function with
// SIGKILL, which leaves it no chance to clean up: the kernel kills the
// function process through its parent-death signal.
func TestParentDeathKillsFunction(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), parentEnv+"=1", bootstrapEnv+"="+bootstrap)
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	parent.Stderr = &stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()
	var pid int
	lines := readLines(bufio.NewScanner(stdout))
	timeout := time.After(30 * time.Second)
	for pid == 0 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the parent ended:\n%s", stderr.String())
			}
			fmt.Sscanf(line, "kafkafn pid=%d", &pid)
		case <-timeout:
			t.Fatalf("the parent did not start its function:\n%s", stderr.String())
		}
	}
	t.Cleanup(func() {
		if alive(pid) { // the test failed: do not leave the orphan behind
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if !alive(pid) {
		t.Fatalf("function process %d is not running", pid)
	}
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	parent.Wait()
	waitFor(t, "the orphaned function process to die", func() bool { return !alive(pid) })
}
