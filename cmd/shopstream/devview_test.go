package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRenderView(t *testing.T) {
	t.Parallel()
	s := devSnapshot{Elapsed: 65 * time.Second, Generator: "running", Produced: 123456, Bad: 1234, ProduceRS: 2500,
		Functions: []functionSnapshot{
			{Name: "inventory", Records: 100000, RecordsRS: 2400, Batches: 120, DeadLetters: 12, Retries: 1, Lag: 3456},
			{Name: "lake", Records: 5, LastError: "put object: connection refused\nretrying"},
		}}
	var b bytes.Buffer
	renderView(&b, s)
	out := b.String()
	for _, want := range []string{"1m5s", "123,456 records (1,234 bad)", "2,500/s", "inventory", "100,000", "3,456",
		"lake: last error: put object: connection refused retrying"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	line := progressLine(s)
	if strings.Contains(line, "\n") || !strings.Contains(line, "inventory 100000 records, 12 dlq, 1 retries, 0 errors, lag 3456") {
		t.Errorf("progress line: %q", line)
	}
	b.Reset()
	renderView(&b, devSnapshot{Generator: "done"})
	if !strings.Contains(b.String(), "no functions are wired in") {
		t.Errorf("empty view: %q", b.String())
	}
}
