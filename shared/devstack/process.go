package devstack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessConfig describes a program for [StartProcess].
type ProcessConfig struct {
	Name    string   // names the process in errors and logs
	Path    string   // the program
	Args    []string // its arguments, without the program name
	Env     []string // its whole environment; nil means [BaseEnv]()
	Dir     string   // its working directory; "" means ours
	LogFile string   // its stdout and stderr are appended here (required)

	// Credential runs the program as another user; this needs root.
	Credential *syscall.Credential

	// StopSignal asks the program to stop; the default is SIGTERM.
	StopSignal syscall.Signal

	// Grace is how long Stop waits after StopSignal before it kills the
	// process group with SIGKILL; the default is 10s.
	Grace time.Duration
}

// Process is a supervised child process. It runs in its own process group,
// so a Ctrl-C in a terminal reaches only us and we stop it in order, and
// the kernel sends it SIGKILL when our process dies (Pdeathsig), so even a
// crash leaves no orphan.
type Process struct {
	cfg  ProcessConfig
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the result of Wait, set before done is closed

	stopOnce sync.Once
}

// StartProcess starts the program described by cfg.
func StartProcess(cfg ProcessConfig) (*Process, error) {
	if cfg.LogFile == "" {
		return nil, fmt.Errorf("start %s: no log file", cfg.Name)
	}
	if cfg.StopSignal == 0 {
		cfg.StopSignal = syscall.SIGTERM
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	log, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Name, err)
	}
	defer log.Close() // the child holds its own copy

	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = cfg.Env
	if cmd.Env == nil {
		cmd.Env = BaseEnv()
	}
	cmd.Dir = cfg.Dir
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: cfg.Credential,
	}
	var startErr error
	onSpawnerThread(func() { startErr = cmd.Start() })
	if startErr != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Name, startErr)
	}
	p := &Process{cfg: cfg, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// spawner is the OS thread that starts every child. The kernel sends
// Pdeathsig when the thread that forked the child exits, not the process;
// Go may end idle threads, so children are forked from one locked thread
// that lives as long as the process.
var spawner struct {
	once sync.Once
	reqs chan func()
}

func onSpawnerThread(fn func()) {
	spawner.once.Do(func() {
		spawner.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: this goroutine never returns
			for fn := range spawner.reqs {
				fn()
			}
		}()
	})
	done := make(chan struct{})
	spawner.reqs <- func() { defer close(done); fn() }
	<-done
}

// Name returns the name given in its config.
func (p *Process) Name() string { return p.cfg.Name }

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogFile returns the file that receives its output.
func (p *Process) LogFile() string { return p.cfg.LogFile }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns how the process exited; it is valid once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends StopSignal to the process, waits up to Grace for it to exit,
// then kills its whole process group with SIGKILL, and waits for it. It
// returns nil when the process is gone, whether it stopped on the signal or
// had already exited. Stop may be called more than once.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		pid := p.Pid()
		if !p.Exited() {
			_ = syscall.Kill(pid, p.cfg.StopSignal)
			select {
			case <-p.done:
			case <-time.After(p.cfg.Grace):
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				<-p.done
			}
		}
		// Whatever else the program left in its group goes too.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	})
	<-p.done
	return nil
}

// LogTail returns the last n lines of the process's log, joined by " | ".
func (p *Process) LogTail(n int) string { return logTail(p.cfg.LogFile, n) }

func logTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 16 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return lastLines(b, n)
}

// BaseEnv is the environment children get unless told otherwise: PATH,
// HOME, TMPDIR and USER from ours, and the C locale. Nothing else is passed
// on, so variables meant for other programs (a JAVA_TOOL_OPTIONS, a VGW_*
// listen address) cannot change how a service listens.
func BaseEnv() []string {
	env := []string{"LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "USER"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// ProcessTree returns pid and the ids of its living descendants, read from
// /proc. Zombies are left out: they hold no resources and cannot be
// stopped.
func ProcessTree(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, state, ok := procStat(id)
		if !ok || state == 'Z' || state == 'X' {
			continue
		}
		children[ppid] = append(children[ppid], id)
	}
	var tree []int
	if ProcessAlive(pid) {
		tree = append(tree, pid)
	}
	queue := []int{pid}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, c := range children[id] {
			tree = append(tree, c)
			queue = append(queue, c)
		}
	}
	return tree
}

// ProcessAlive reports whether a process with this id exists and is not a
// zombie.
func ProcessAlive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// procStat reads the parent id and state of a process from /proc/PID/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	if err != nil {
		return 0, 0, false
	}
	return ppid, fields[0][0], true
}

// exitError describes a process that exited before it was ready.
type exitError struct {
	name string
	err  error
	tail string
}

func (e *exitError) Error() string {
	return fmt.Sprintf("%s exited during startup (%v): %s", e.name, e.err, e.tail)
}

// bindConflict reports whether a startup failure looks like another
// process taking the chosen port first, so a retry on another port helps.
func bindConflict(err error) bool {
	var ee *exitError
	if !errors.As(err, &ee) {
		return false
	}
	t := strings.ToLower(ee.tail)
	return strings.Contains(t, "address already in use") || strings.Contains(t, "bindexception") ||
		strings.Contains(t, "could not bind")
}
