package devstack

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
// Another process may take it before ours binds it; service starts retry on
// another port when that happens.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ListenAddrs returns the local addresses of the TCP sockets listening on
// port, read from /proc/net/tcp and /proc/net/tcp6.
func ListenAddrs(port int) ([]netip.Addr, error) {
	var addrs []netip.Addr
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 on this machine
		}
		if err != nil {
			return nil, fmt.Errorf("read listening sockets: %w", err)
		}
		found, err := listening(f, port)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		addrs = append(addrs, found...)
	}
	return addrs, nil
}

// listening returns the addresses of the sockets listening on port in a
// table formatted as /proc/net/tcp.
func listening(r io.Reader, port int) ([]netip.Addr, error) {
	var addrs []netip.Addr
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" { // TCP_LISTEN
			continue
		}
		addr, p, ok := parseProcAddr(fields[1])
		if ok && p == port {
			addrs = append(addrs, addr)
		}
	}
	return addrs, sc.Err()
}

// parseProcAddr decodes "0100007F:1F90", an address in /proc/net/tcp{,6}:
// the address in 32-bit words of host (little-endian) byte order, then the
// port in hex.
func parseProcAddr(s string) (netip.Addr, int, bool) {
	host, port, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, false
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	raw, err := hex.DecodeString(host)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, 0, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return addr.Unmap(), int(p), true
}

// CheckLoopback returns an error unless something listens on port and every
// socket listening on it is bound to a loopback address.
func CheckLoopback(port int) error {
	addrs, err := ListenAddrs(port)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return fmt.Errorf("nothing listens on port %d", port)
	}
	for _, a := range addrs {
		if !a.IsLoopback() {
			return fmt.Errorf("port %d is listening on %s, beyond loopback", port, a)
		}
	}
	return nil
}

// Ready waits until probe succeeds, the process exits (an error with the
// end of its log), timeout passes or ctx ends. probe is called with a
// context bounded to a few seconds; it should make a real protocol request.
func Ready(ctx context.Context, p *Process, timeout time.Duration, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		last = probe(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		if p != nil && p.Exited() {
			return &exitError{name: p.Name(), err: p.Err(), tail: p.LogTail(15)}
		}
		select {
		case <-ctx.Done():
			if p != nil {
				return fmt.Errorf("%s not ready after %s: %v (log %s: %s)", p.Name(), timeout, last, p.LogFile(), p.LogTail(5))
			}
			return fmt.Errorf("not ready after %s: %v", timeout, last)
		case <-time.After(50 * time.Millisecond):
		case <-doneOrNil(p):
		}
	}
}

func doneOrNil(p *Process) <-chan struct{} {
	if p == nil {
		return nil
	}
	return p.Done()
}

// dialProbe succeeds once a TCP connection to addr opens.
func dialProbe(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// startServer starts a server on port (or on a free one when port is 0),
// tells setPort which port it tries, and waits until probe succeeds. When a
// server on a free port dies because another process took that port
// first, it tries again on another.
func startServer(ctx context.Context, port int, timeout time.Duration, start func(port int) (*Process, error),
	setPort func(int), probe func(context.Context) error) (*Process, int, error) {
	attempts := 1
	if port == 0 {
		attempts = 3
	}
	var err error
	for i := 0; i < attempts; i++ {
		p := port
		if p == 0 {
			if p, err = FreePort(); err != nil {
				return nil, 0, err
			}
		}
		setPort(p)
		var proc *Process
		if proc, err = start(p); err != nil {
			return nil, 0, err
		}
		if err = Ready(ctx, proc, timeout, probe); err == nil {
			return proc, p, nil
		}
		_ = proc.Stop()
		if !bindConflict(err) {
			break
		}
	}
	return nil, 0, err
}
