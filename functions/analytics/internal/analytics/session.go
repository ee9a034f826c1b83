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
		items = append(items, item{Session{User: user, Start: p.At, End: p.At, Events: 1, Pages: p.Pages, Orders: p.Orders, Revenue: p.Revenue}, false})
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
