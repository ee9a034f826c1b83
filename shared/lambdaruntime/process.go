package lambdaruntime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is one run of a function's bootstrap: an execution environment
// with its own Runtime API. A crashed, timed-out or stopped process is never
// reused; the next invocation gets a new one.
type process struct {
	api *runtimeAPI
	pid int

	exited  chan struct{} // closed once the process is reaped, its group killed and its output copied
	exitErr error         // what cmd.Wait returned; read after exited is closed

	signalMu sync.Mutex
	reaped   bool // the pid may belong to another process now: never signal it
}

// hasExited reports whether the process has exited.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// signal sends sig to the process's group, unless the process is gone.
func (p *process) signal(sig syscall.Signal) {
	p.signalMu.Lock()
	defer p.signalMu.Unlock()
	if !p.reaped {
		signalGroup(p.pid, sig) //nolint:errcheck // nothing left to do about it
	}
}

// kill kills the process group and waits for the process to be reaped.
func (p *process) kill() {
	p.signal(sigKill)
	<-p.exited
}

// stop shuts the process down as Lambda does: extensions registered for it
// get a SHUTDOWN event, the process group SIGTERM, and after grace SIGKILL.
// stop returns once the process is reaped.
func (p *process) stop(grace time.Duration) {
	p.api.beginShutdown(time.Now().Add(grace))
	p.signal(sigTerm)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.kill()
	}
}

// exitReason says how the process ended, as Lambda's Runtime.ExitError
// messages do.
func (p *process) exitReason() string {
	var ee *exec.ExitError
	switch {
	case p.exitErr == nil:
		return "Runtime exited without providing a reason"
	case errors.As(p.exitErr, &ee):
		return "Runtime exited with error: " + ee.ProcessState.String()
	default:
		return "Runtime exited with error: " + p.exitErr.Error()
	}
}

// startProcess starts the function's bootstrap under a new Runtime API. It
// fails with ErrClosed once Close has begun, so that Close sees every process.
func (f *Function) startProcess() (*process, error) {
	api, err := newRuntimeAPI(f.info)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", f.bootstrap, err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		api.close()
		return nil, fmt.Errorf("start %s: stdout pipe: %w", f.bootstrap, err)
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		api.close()
		stdoutR.Close()
		stdoutW.Close()
		return nil, fmt.Errorf("start %s: stderr pipe: %w", f.bootstrap, err)
	}

	cmd := exec.Command(f.bootstrap)
	cmd.Dir = f.cfg.taskRoot
	cmd.Env = f.environ(api.addr())
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	isolate(cmd)

	f.mu.Lock()
	if f.closed {
		err = ErrClosed
	} else if err = cmd.Start(); err != nil {
		err = fmt.Errorf("start %s: %w", f.bootstrap, err)
	}
	p := &process{api: api, exited: make(chan struct{})}
	if err == nil {
		p.pid = cmd.Process.Pid
		f.procs[p] = struct{}{}
	}
	f.mu.Unlock()
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		stdoutR.Close()
		stderrR.Close()
		api.close()
		return nil, err
	}

	copied := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); f.out.copyLines(stdoutR) }()
		go func() { defer wg.Done(); f.out.copyLines(stderrR) }()
		wg.Wait()
		close(copied)
	}()
	go func() {
		err := cmd.Wait()
		p.signalMu.Lock()
		// Whatever the process started in its group goes with it.
		signalGroup(p.pid, sigKill) //nolint:errcheck // a group already gone is fine
		p.reaped = true
		p.signalMu.Unlock()
		select {
		case <-copied:
		case <-time.After(time.Second):
			// Something outside the group holds the pipes open: stop
			// copying rather than wait for it.
			stdoutR.Close()
			stderrR.Close()
			<-copied
		}
		stdoutR.Close()
		stderrR.Close()
		api.close()
		p.exitErr = err
		f.mu.Lock()
		delete(f.procs, p)
		f.mu.Unlock()
		close(p.exited)
	}()
	return p, nil
}

// lineWriter copies the output of every process of a function to one writer,
// a whole line per Write, one Write at a time.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) write(b []byte) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.w.Write(b) //nolint:errcheck // a failing log writer must not stop the function
}

// copyLines copies r to the writer line by line until r ends. A line longer
// than the buffer goes out in pieces; a last line without a newline gets one.
func (lw *lineWriter) copyLines(r io.Reader) {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if err != nil && err != bufio.ErrBufferFull {
				line = append(line, '\n')
			}
			lw.write(line)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}
