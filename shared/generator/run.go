package generator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// RunOptions bound a run and say how fast it goes.
type RunOptions struct {
	// Count stops the run after this many records. 0: no limit.
	Count int64
	// Duration stops the run after this much wall-clock time. 0: no limit.
	Duration time.Duration
	// Rate is the number of records per second to write. 0: as fast as possible.
	Rate float64
	// Progress, when not nil, receives a progress line every ProgressEvery.
	Progress io.Writer
	// ProgressEvery defaults to one second.
	ProgressEvery time.Duration
	// Overwrite writes progress lines over each other with a carriage return
	// (for a terminal) instead of one line each.
	Overwrite bool
}

// Stats summarise a run.
type Stats struct {
	Records int64
	Bad     int64
	Elapsed time.Duration
}

// PerSecond returns the records written per second of wall-clock time.
func (s Stats) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Records) / s.Elapsed.Seconds()
}

// Run writes records from g to sink until the count or duration is reached
// or ctx is done, and then closes the sink. A cancelled ctx ends the run
// without an error: what was written stays written and the truth matches it.
func Run(ctx context.Context, g *Generator, sink Sink, opt RunOptions) (Stats, error) {
	if opt.Count < 0 || opt.Duration < 0 || opt.Rate < 0 {
		return Stats{}, errors.New("count, duration and rate must not be negative")
	}
	every := opt.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	start := time.Now()
	nextProgress := start.Add(every)
	var st Stats
	var runErr error
	for opt.Count == 0 || st.Records < opt.Count {
		if st.Records&255 == 0 || opt.Rate > 0 {
			if ctx.Err() != nil {
				break
			}
			now := time.Now()
			if opt.Duration > 0 && now.Sub(start) >= opt.Duration {
				break
			}
			if opt.Rate > 0 {
				due := start.Add(time.Duration(float64(st.Records) / opt.Rate * float64(time.Second)))
				if wait := due.Sub(now); wait > time.Millisecond {
					t := time.NewTimer(wait)
					select {
					case <-ctx.Done():
						t.Stop()
					case <-t.C:
					}
					continue
				}
			}
			if opt.Progress != nil && now.After(nextProgress) {
				st.Elapsed = now.Sub(start)
				progress(opt, st, false)
				nextProgress = now.Add(every)
			}
		}
		rec := g.Next()
		if err := sink.Write(ctx, &rec); err != nil {
			runErr = fmt.Errorf("write record %d: %w", st.Records, err)
			break
		}
		st.Records++
		if rec.Bad != nil {
			st.Bad++
		}
	}
	// Flush even when ctx is done: records handed to the sink must land.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := sink.Close(closeCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("close output: %w", err)
	}
	st.Elapsed = time.Since(start)
	if opt.Progress != nil {
		progress(opt, st, true)
	}
	return st, runErr
}

func progress(opt RunOptions, st Stats, final bool) {
	line := fmt.Sprintf("generate: %d records (%d bad) in %s, %.0f records/s",
		st.Records, st.Bad, st.Elapsed.Round(100*time.Millisecond), st.PerSecond())
	switch {
	case opt.Overwrite && final:
		fmt.Fprintf(opt.Progress, "\r\033[K%s\n", line)
	case opt.Overwrite:
		fmt.Fprintf(opt.Progress, "\r\033[K%s", line)
	default:
		fmt.Fprintln(opt.Progress, line)
	}
}
