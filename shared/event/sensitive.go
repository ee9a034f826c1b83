package event

import "log/slog"

// Sensitive is personal data (a card fingerprint, an IP address). It is
// written to JSON as it is, but redacted when logged through log/slog.
type Sensitive string

// LogValue implements slog.LogValuer.
func (s Sensitive) LogValue() slog.Value {
	if s == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("[redacted]")
}

// String returns the value itself; use it only where the value is needed.
func (s Sensitive) String() string { return string(s) }
