//go:build unix && !linux

package lambdaruntime

import (
	"os/exec"
	"syscall"
)

// isolate puts the function process in a process group of its own, so that
// it and everything it starts can be signalled together. This system has no
// parent-death signal: a function process outlives a parent killed with
// SIGKILL.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
