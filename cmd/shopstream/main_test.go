package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopstream/shopstream/shared/generator"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCLIContext(t, context.Background(), args...)
}

func runCLIContext(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctx, args, &out, &errb)
	code = exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func TestGenerateReproducible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var files [2][2][]byte
	for i := range files {
		out := filepath.Join(dir, "e"+string(rune('0'+i))+".jsonl")
		truth := filepath.Join(dir, "t"+string(rune('0'+i))+".json")
		_, stderr, code := runCLI(t, "generate", "--count", "20000", "--seed", "7", "--legacy-share", "0.1", "--out", out, "--truth", truth)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, "20000 records") {
			t.Fatalf("no final progress line: %q", stderr)
		}
		var err error
		if files[i][0], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
		if files[i][1], err = os.ReadFile(truth); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0][0], files[1][0]) || !bytes.Equal(files[0][1], files[1][1]) {
		t.Fatal("two runs with the same seed wrote different files")
	}
	if n := bytes.Count(files[0][0], []byte("\n")); n != 20000 {
		t.Fatalf("%d lines, want 20000", n)
	}
	var tr generator.Truth
	if err := json.Unmarshal(files[0][1], &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Records != 20000 || tr.Seed != 7 || tr.Bad == 0 || tr.Legacy == 0 || len(tr.Stock) == 0 {
		t.Fatalf("truth: records %d seed %d bad %d legacy %d stock %d", tr.Records, tr.Seed, tr.Bad, tr.Legacy, len(tr.Stock))
	}
}

func TestGenerateStdout(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runCLI(t, "generate", "--count", "50", "--out", "-", "--quiet")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if _, err := generator.ParseLine([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"generate"},
		{"generate", "--out", "-", "--brokers", "127.0.0.1:1"},
		{"generate", "--out", "-", "--users", "1"},
		{"generate", "--out", "-", "--start", "tomorrow"},
		{"generate", "--out", "-", "--no-such-flag"},
		{"generate", "--out", "-", "extra"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != 2 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and a message", args, code, stderr)
		}
	}
	if _, _, code := runCLI(t, "generate", "-h"); code != 0 {
		t.Errorf("generate -h: exit %d", code)
	}
}
