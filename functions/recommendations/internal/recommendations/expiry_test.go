package recommendations

import (
	"testing"
	"time"
)

// TestSessionExpiry: state is kept until the end of the day after it is
// written, whatever the time of day and however old the traffic (a
// backfill, the generator's 2026-01-01 event times); a last view later than
// that keeps it SessionTTL longer.
func TestSessionExpiry(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)
	floor := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Unix()
	for _, c := range []struct {
		last time.Time
		want int64
	}{
		{now, floor},
		{now.Add(36 * time.Hour), now.Add(36*time.Hour + SessionTTL).Unix()},
		{now.Add(-30 * time.Minute), floor},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), floor},
	} {
		if got := sessionExpiry(c.last, now); got != c.want {
			t.Errorf("sessionExpiry(%v) = %v, want %v", c.last, time.Unix(got, 0).UTC(), time.Unix(c.want, 0).UTC())
		}
		if got := sessionExpiry(c.last, now.Add(-15*time.Hour)); c.last.Before(now.Add(-time.Hour)) && got != c.want {
			t.Errorf("same day, earlier hour: sessionExpiry(%v) = %v, want %v", c.last, got, c.want)
		}
	}
}
