// Package logging builds the JSON slog loggers the functions write to
// stdout, where Lambda sends them to CloudWatch Logs.
package logging

import (
	"io"
	"log/slog"
)

// New returns a JSON logger writing to w at the level named by level
// ("debug", "info", "warn", "error", case-insensitive, as in
// AWS_LAMBDA_LOG_LEVEL; anything else means info). Every line carries the
// function's name.
func New(w io.Writer, function, level string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: Level(level)})).With("function", function)
}

// Level parses a level name; unknown or empty names give slog.LevelInfo.
func Level(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}
