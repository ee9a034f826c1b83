package support

import (
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// MaxStoredText is how many bytes of a feedback's text are stored (the
// decoder accepts up to event.MaxTextLen); longer texts are cut at a rune
// boundary and keep their full length beside them.
const MaxStoredText = 1000

// maxLoggedText is how many bytes of a text a log line shows.
const maxLoggedText = 80

// Cap returns text cut to at most n bytes at a rune boundary.
func Cap(text string, n int) string {
	if len(text) <= n {
		return text
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

// Text is customer free text on its way to a log line: it logs as a short,
// quoted excerpt with its length, so that a log line stays small and no
// control character, markup or template in it reaches the log as is.
type Text string

// LogValue implements slog.LogValuer.
func (t Text) LogValue() slog.Value {
	s := string(t)
	// Quoted, then unquoted: control characters and anything outside ASCII
	// appear as Go escapes.
	q := strconv.QuoteToASCII(Cap(s, maxLoggedText))
	excerpt := q[1 : len(q)-1]
	return slog.GroupValue(slog.Int("bytes", len(s)), slog.String("excerpt", excerpt), slog.Bool("cut", len(s) > maxLoggedText))
}
