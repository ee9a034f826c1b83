//go:build unix

package lambdaruntime

import (
	"errors"
	"syscall"
)

// signalGroup sends sig to every process of the group pid leads. A group
// that no longer exists is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

var (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)
