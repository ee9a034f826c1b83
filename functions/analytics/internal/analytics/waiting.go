package analytics

import (
	"fmt"
	"slices"
	"strings"
)

// Most batches leave their users' session events waiting, as one row of
// analytics.session_points: the sessions they make within the batch, as
// parallel arrays (user, start, end, events, pages, orders, revenue),
// instead of reading and writing the row of every user they hold. Every
// DefaultCompaction-th batch of a store (see WithCompaction) merges those
// of every waiting row, and its own events, into the users' sessions, and
// deletes the rows, in its transaction: a user's sessions are read and
// written once for the events of many batches. Merging sessions by the
// gap between them is associative, so a batch's sessions merge into the
// stored ones exactly as its events would (a Point with Last and Events
// stands for one). The view analytics.sessions merges the waiting sessions
// into those of their users the same way, so that it shows the same
// sessions whether or not they were merged.

// waitingPoints are the waiting sessions of the rows of
// analytics.session_points a merging batch read, as points.
type waitingPoints struct {
	ids    []int64
	points map[string][]Point
}

// readWaiting queues the statement that reads every waiting row; the
// result is filled at the next sync.
func (s *Postgres) readWaiting(p *pipe) *waitingPoints {
	w := &waitingPoints{points: map[string][]Point{}}
	p.send("read waiting sessions", `SELECT id, user_ids, start_at, end_at, events, pages, orders, revenue_cents
FROM analytics.session_points`, nil, func(v [][]byte) error {
		id, err := readInt8(v[0])
		if err != nil {
			return err
		}
		users, err := readTexts(v[1])
		if err != nil {
			return err
		}
		var times [2][]int64
		for i := range times {
			if times[i], err = readTimes(v[2+i]); err != nil {
				return err
			}
		}
		var cols [4][]int64
		for i := range cols {
			if cols[i], err = readInt8s(v[4+i]); err != nil {
				return err
			}
		}
		for _, c := range append(times[:], cols[:]...) {
			if len(c) != len(users) {
				return fmt.Errorf("waiting sessions %d: arrays of different lengths: %w", id, errWire)
			}
		}
		for i, u := range users {
			w.points[u] = append(w.points[u], Point{At: times[0][i], Last: times[1][i], Events: cols[0][i],
				Pages: cols[1][i], Orders: cols[2][i], Revenue: cols[3][i]})
		}
		w.ids = append(w.ids, id)
		return nil
	})
	return w
}

// with returns the waiting events and those of batch together, by user,
// sorted by user.
func (w *waitingPoints) with(batch []UserPoints) []UserPoints {
	if len(w.points) == 0 {
		return batch
	}
	for _, u := range batch {
		w.points[u.User] = append(w.points[u.User], u.Points...)
	}
	out := make([]UserPoints, 0, len(w.points))
	for u, pts := range w.points {
		out = append(out, UserPoints{u, pts})
	}
	slices.SortFunc(out, func(a, b UserPoints) int { return strings.Compare(a.User, b.User) })
	return out
}

// pointParams returns the parameters of one row of
// analytics.session_points: the sessions the events of sessions make
// within the batch.
func pointParams(sessions []UserPoints) *params {
	var (
		users                          []string
		starts, ends                   []int64
		events, pages, orders, revenue []int64
	)
	for _, u := range sessions {
		last, _, earlier := extendLatest(u.User, nil, u.Points)
		for _, ss := range append(earlier, last) {
			users, starts, ends = append(users, ss.User), append(starts, ss.Start), append(ends, ss.End)
			events, pages = append(events, ss.Events), append(pages, ss.Pages)
			orders, revenue = append(orders, ss.Orders), append(revenue, ss.Revenue)
		}
	}
	return (&params{}).texts(users).times(starts, nil).times(ends, nil).int8s(events).int8s(pages).int8s(orders).int8s(revenue)
}
