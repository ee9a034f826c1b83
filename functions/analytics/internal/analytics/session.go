package analytics

import (
	"cmp"
	"slices"
)

// Session is one stored session of a user: the span of its events (unix
// ms) and their sums.
type Session struct {
	User                           string
	Start, End                     int64
	Events, Pages, Orders, Revenue int64
}

// MergeSessions adds a user's new session events to the user's stored
// sessions near them (every stored session within SessionGap of a new
// event must be among stored). It returns the stored sessions to delete and
// the sessions to write in their place; stored sessions no event touches
// appear in neither.
//
// Sessions are the user's events cut wherever two consecutive ones, in event
// time, are more than SessionGap apart. Merging intervals by that gap is
// associative and commutative, so the result does not depend on the order
// events arrive in: an event may extend a session, start one, or join two.
func MergeSessions(user string, stored []Session, points []Point) (deleted, written []Session) {
	type item struct {
		s      Session
		stored bool
	}
	items := make([]item, 0, len(stored)+len(points))
	for _, s := range stored {
		items = append(items, item{s, true})
	}
	for _, p := range points {
		items = append(items, item{Session{User: user, Start: p.At, End: p.end(), Events: p.events(), Pages: p.Pages, Orders: p.Orders, Revenue: p.Revenue}, false})
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.s.Start, b.s.Start) })
	gap := SessionGap.Milliseconds()
	var (
		cur        Session
		curStored  []Session
		curTouched bool
		open       bool
	)
	flush := func() {
		if !open {
			return
		}
		if curTouched {
			deleted = append(deleted, curStored...)
			written = append(written, cur)
		}
	}
	for _, it := range items {
		if open && it.s.Start-cur.End <= gap {
			cur.End = max(cur.End, it.s.End)
			cur.Events += it.s.Events
			cur.Pages += it.s.Pages
			cur.Orders += it.s.Orders
			cur.Revenue += it.s.Revenue
		} else {
			flush()
			cur, curStored, curTouched, open = it.s, nil, false, true
		}
		if it.stored {
			curStored = append(curStored, it.s)
		} else {
			curTouched = true
		}
	}
	flush()
	return deleted, written
}

// A user's latest session (the one that starts last) is kept in the user's
// row; the earlier ones in a table of their own. Events at or after the
// latest session's start can only extend it or start new sessions after it
// (an earlier session ends more than SessionGap before it starts), so
// merging most users reads and writes the user's row alone.

// NeedsEarlier says whether merging points into the sessions of a user
// whose latest session is latest (nil: none stored) needs the user's
// earlier sessions near the points: only an event before the latest
// session's start can reach one.
func NeedsEarlier(latest *Session, points []Point) bool {
	if latest == nil {
		return true
	}
	for _, p := range points {
		if p.At < latest.Start {
			return true
		}
	}
	return false
}

// MergeLatest merges points into a user's stored sessions: latest (nil for
// none) and, when NeedsEarlier, every earlier session within SessionGap of
// a point. It returns the user's latest session after the batch, and the
// earlier sessions to delete and to insert (a changed one is both).
func MergeLatest(user string, latest *Session, earlier []Session, points []Point) (next Session, del, ins []Session) {
	if len(earlier) == 0 && len(points) > 0 && !NeedsEarlier(latest, points) || latest == nil && len(earlier) == 0 {
		return extendLatest(user, latest, points)
	}
	stored := slices.Clone(earlier)
	if latest != nil {
		stored = append(stored, *latest)
	}
	gone, written := MergeSessions(user, stored, points)
	drop := make(map[Session]bool, len(gone))
	for _, s := range gone {
		drop[s] = true
	}
	var all []Session
	for _, s := range stored {
		if !drop[s] {
			all = append(all, s)
		}
	}
	all = append(all, written...)
	if len(all) == 0 {
		return Session{}, nil, nil
	}
	last := 0
	for i, s := range all {
		if s.Start > all[last].Start {
			last = i
		}
	}
	next = all[last]
	want := make(map[Session]bool, len(all))
	for i, s := range all {
		if i != last {
			want[s] = true
		}
	}
	had := make(map[Session]bool, len(earlier))
	for _, s := range earlier {
		had[s] = true
		if !want[s] {
			del = append(del, s)
		}
	}
	for i, s := range all {
		if i != last && !had[s] {
			ins = append(ins, s)
		}
	}
	return next, del, ins
}

// extendLatest is MergeLatest when no earlier session can be reached: every
// point is at or after the latest session's start, or the user has no
// session. Points in event-time order extend the latest session or close
// it and start the next.
func extendLatest(user string, latest *Session, points []Point) (next Session, del, ins []Session) {
	if !slices.IsSortedFunc(points, func(a, b Point) int { return cmp.Compare(a.At, b.At) }) {
		points = slices.Clone(points)
		slices.SortStableFunc(points, func(a, b Point) int { return cmp.Compare(a.At, b.At) })
	}
	gap := SessionGap.Milliseconds()
	open := latest != nil
	if open {
		next = *latest
	}
	for _, p := range points {
		if open && p.At-next.End <= gap {
			next.End = max(next.End, p.end())
			next.Events += p.events()
			next.Pages += p.Pages
			next.Orders += p.Orders
			next.Revenue += p.Revenue
			continue
		}
		if open {
			ins = append(ins, next)
		}
		next = Session{User: user, Start: p.At, End: p.end(), Events: p.events(), Pages: p.Pages, Orders: p.Orders, Revenue: p.Revenue}
		open = true
	}
	return next, nil, ins
}
