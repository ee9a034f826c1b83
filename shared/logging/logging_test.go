package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "DEBUG": slog.LevelDebug, "warn": slog.LevelWarn, "error": slog.LevelError, "loud": slog.LevelInfo} {
		if got := Level(in); got != want {
			t.Errorf("Level(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNewWritesJSONWithFunction(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "fraud", "warn")
	l.Info("dropped")
	l.Warn("kept", "topic", "transactions")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("want one JSON line, got %q: %v", buf.String(), err)
	}
	if m["msg"] != "kept" || m["function"] != "fraud" || m["topic"] != "transactions" {
		t.Errorf("line = %v", m)
	}
}
