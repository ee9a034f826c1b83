package fraud

import (
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Version == "" || c.Thresholds.Review != 50 || c.Thresholds.Decline != 80 {
		t.Fatalf("default rules: %+v", c)
	}
	for _, tc := range []struct{ name, edit, want string }{
		{"unknown field", `"thresholds": {"review": 50, "decline": 80, "revew": 1}`, "unknown field"},
		{"thresholds inverted", `"thresholds": {"review": 90, "decline": 80}`, "thresholds"},
		{"no version", `"version": ""`, "version"},
		{"bad duration", `"retention": "a day"`, "duration"},
		{"retention too short", `"retention": "1m"`, "retention"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := string(DefaultRules)
			key := tc.edit[:strings.Index(tc.edit, ":")]
			start := strings.Index(doc, key)
			end := start + strings.Index(doc[start:], "\n")
			line := doc[start:end]
			repl := tc.edit
			if strings.HasSuffix(line, ",") {
				repl += ","
			}
			_, err := LoadConfig([]byte(doc[:start] + repl + doc[end:]))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}
