package devstack

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	tests := []struct {
		in   string
		addr string
		port int
	}{
		{"0100007F:1F90", "127.0.0.1", 8080},
		{"00000000:07E8", "0.0.0.0", 2024},
		{"00000000000000000000000001000000:46CB", "::1", 18123},
		{"0000000000000000FFFF00000100007F:46CB", "127.0.0.1", 18123},
		{"00000000000000000000000000000000:0050", "::", 80},
	}
	for _, tt := range tests {
		addr, port, ok := parseProcAddr(tt.in)
		if !ok || addr != netip.MustParseAddr(tt.addr) || port != tt.port {
			t.Errorf("parseProcAddr(%q) = %v, %d, %v; want %s, %d", tt.in, addr, port, ok, tt.addr, tt.port)
		}
	}
	for _, bad := range []string{"", "0100007F", "zz:0050", "0100:0050", "0100007F:fffff"} {
		if _, _, ok := parseProcAddr(bad); ok {
			t.Errorf("parseProcAddr(%q) ok, want rejected", bad)
		}
	}
}

func TestListening(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1145 1 0 100 0 0 10 0
   1: 0100007F:46CB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 56993 1 0 100 0 0 10 0
   2: 0100007F:AEB2 0100007F:46CB 06 00000000:00000000 03:00001128 00000000     0        0 0 3 0
   3: 0100007F:07E8 0100007F:AEB2 01 00000000:00000000 03:00001128 00000000     0        0 0 3 0
`
	got, err := listening(strings.NewReader(table), 2024)
	if err != nil || !slices.Equal(got, []netip.Addr{netip.MustParseAddr("0.0.0.0")}) {
		t.Errorf("listening on 2024 = %v, %v; want [0.0.0.0]", got, err)
	}
	got, _ = listening(strings.NewReader(table), 18123)
	if !slices.Equal(got, []netip.Addr{netip.MustParseAddr("127.0.0.1")}) {
		t.Errorf("listening on 18123 = %v; want [127.0.0.1] (connected sockets are not listeners)", got)
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := CheckLoopback(port); err != nil {
		t.Errorf("CheckLoopback(%d) with a 127.0.0.1 listener: %v", port, err)
	}
	l.Close()
	if err := CheckLoopback(port); err == nil {
		t.Errorf("CheckLoopback(%d) with nothing listening: nil error", port)
	}
}

func TestJavaMajor(t *testing.T) {
	tests := map[string]int{
		`openjdk version "17.0.15" 2025-04-15`: 17,
		`openjdk version "21" 2023-09-19`:      21,
		`java version "1.8.0_392"`:             8,
		`garbage`:                              0,
	}
	for in, want := range tests {
		if got := javaMajor(in); got != want {
			t.Errorf("javaMajor(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestMissingError(t *testing.T) {
	err := error(&MissingError{What: "DynamoDB Local needs Java 17 or newer", Install: "apt-get install openjdk-17-jre-headless"})
	if got, want := err.Error(), "DynamoDB Local needs Java 17 or newer: apt-get install openjdk-17-jre-headless"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !IsMissing(err) || IsMissing(net.ErrClosed) {
		t.Error("IsMissing does not tell a MissingError")
	}
}
