package lambdaruntime

import (
	"strings"
	"testing"
)

// writes records each Write.
type writes []string

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, string(p))
	return len(p), nil
}

func TestCopyLines(t *testing.T) {
	long := strings.Repeat("x", 150*1024)
	var got writes
	(&lineWriter{w: &got}).copyLines(strings.NewReader("first\n\n" + long + "\nlast without newline"))
	if strings.Join(got, "") != "first\n\n"+long+"\nlast without newline\n" {
		t.Fatalf("copied %d writes that differ from the input", len(got))
	}
	if got[0] != "first\n" || got[1] != "\n" || got[len(got)-1] != "last without newline\n" {
		t.Errorf("writes %q ... %q: want one line per write", got[:2], got[len(got)-1])
	}
	for _, w := range got[2 : len(got)-1] {
		if len(w) > 64*1024 {
			t.Errorf("a write of %d bytes: a long line goes out in buffer-sized pieces", len(w))
		}
	}
}
