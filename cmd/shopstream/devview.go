package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// devSnapshot is what the live view of `shopstream dev` shows at one moment.
type devSnapshot struct {
	Elapsed   time.Duration
	Produced  int64   // records written to Kafka by the generator
	Bad       int64   // of which bad on purpose
	ProduceRS float64 // records/s over the last interval
	Generator string  // "running", "done", "off"
	Functions []functionSnapshot
}

// functionSnapshot is one function's event source mapping at one moment.
type functionSnapshot struct {
	Name        string
	Topics      []string
	Batches     int64
	Records     int64
	RecordsRS   float64
	DeadLetters int64
	Retries     int64
	Errors      int64
	ToFailure   int64 // records sent to the on-failure destination
	Lag         int64
	LastError   string
}

// renderView draws the live view for a terminal: a header line and a table
// with one row per function.
func renderView(w io.Writer, s devSnapshot) {
	var b strings.Builder
	fmt.Fprintf(&b, "shopstream dev  %s  generator %s: %s records (%s bad), %s/s\n\n",
		s.Elapsed.Round(time.Second), s.Generator, count(s.Produced), count(s.Bad), count(int64(s.ProduceRS)))
	if len(s.Functions) == 0 {
		b.WriteString("  no functions are wired in: events are produced to Kafka only\n")
	} else {
		fmt.Fprintf(&b, "  %-16s %10s %8s %10s %8s %8s %8s %9s %10s\n",
			"FUNCTION", "RECORDS", "REC/S", "BATCHES", "DLQ", "RETRIES", "ERRORS", "FAILED", "LAG")
		for _, f := range s.Functions {
			fmt.Fprintf(&b, "  %-16s %10s %8s %10s %8s %8s %8s %9s %10s\n", f.Name, count(f.Records),
				count(int64(f.RecordsRS)), count(f.Batches), count(f.DeadLetters), count(f.Retries),
				count(f.Errors), count(f.ToFailure), count(f.Lag))
		}
		for _, f := range s.Functions {
			if f.LastError != "" {
				fmt.Fprintf(&b, "\n  %s: last error: %s", f.Name, clipLine(f.LastError, 100))
			}
		}
		b.WriteString("\n")
	}
	// Home the cursor and clear the screen below it, then draw.
	fmt.Fprint(w, "\033[H\033[J"+b.String())
}

// progressLine is the one-line form of the view, for logs and pipes.
func progressLine(s devSnapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dev %s: produced %d (%d bad, %.0f/s)", s.Elapsed.Round(time.Second), s.Produced, s.Bad, s.ProduceRS)
	for _, f := range s.Functions {
		fmt.Fprintf(&b, "; %s %d records, %d dlq, %d retries, %d errors, lag %d", f.Name, f.Records, f.DeadLetters, f.Retries, f.Errors, f.Lag)
	}
	return b.String()
}

// count formats n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func clipLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
