//go:build linux

package lambdaruntime

import (
	"os/exec"
	"syscall"
)

// isolate puts the function process in a process group of its own, so that
// it and everything it starts can be signalled together, and has the kernel
// kill it if the process that started it dies, so that nothing is orphaned.
//
// The parent-death signal is tied to the OS thread that started the process;
// the Go runtime keeps its threads alive except in the rare case of a
// goroutine that exits while locked to its thread.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
