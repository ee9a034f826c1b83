//go:build !unix

package lambdaruntime

import (
	"os"
	"os/exec"
	"syscall"
)

// isolate does nothing here: this system has no process groups.
func isolate(cmd *exec.Cmd) {}

// signalGroup kills the process pid: this system can neither signal a group
// nor deliver SIGTERM, so both signals kill.
func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	return p.Kill()
}

var (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)
