package generator

import (
	"sort"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// TestTruthSessions recomputes the sessions (of few users over two hours, so
// that most come back after more than SessionGap) and the distinct users of the
// 5-minute "_all" windows from the decoded records, each user's events
// sorted by time and cut at gaps over SessionGap, and compares them with the
// truth.
func TestTruthSessions(t *testing.T) {
	t.Parallel()
	recs, truth := generate(t, Config{Seed: 8, LegacyShare: 0.2, EventsPerSecond: 5, Users: 300}, 40000)
	type point struct {
		at                     int64
		pages, orders, revenue int64
	}
	per := map[string][]point{}
	users := map[int64]map[string]bool{}
	for i, r := range recs {
		if r.Bad != nil || (r.Topic != event.TopicUserEvents && r.Topic != event.TopicTransactions) {
			continue
		}
		e, err := event.Decode(r.Value, event.Source{Topic: r.Topic, Offset: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		at := e.Meta().OccurredAt
		var user string
		p := point{at: at.UnixMilli()}
		session := true
		switch e := e.(type) {
		case *event.PageView:
			user, p.pages = e.UserID, 1
		case *event.ProductView:
			user, p.pages = e.UserID, 1
		case *event.Click:
			user = e.UserID
		case *event.Search:
			user = e.UserID
		case *event.AddToCart:
			user = e.UserID
		case *event.RemoveFromCart:
			user = e.UserID
		case *event.OrderCreated:
			user, p.orders = e.UserID, 1
		case *event.PaymentAuthorized:
			user = e.UserID
			if len(e.Items) == 0 {
				p.revenue = e.TotalAmount.Cents()
			}
			for _, it := range e.Items {
				p.revenue += it.Price.Mul(it.Quantity).Cents()
			}
		case *event.PaymentFailed:
			user = e.UserID
		case *event.OrderShipped:
			user, session = e.UserID, false
		case *event.OrderCancelled:
			user, session = e.UserID, false
		case *event.RefundIssued:
			user, session = e.UserID, false
		default:
			continue
		}
		w := at.Truncate(5 * time.Minute).UnixMilli()
		if users[w] == nil {
			users[w] = map[string]bool{}
		}
		users[w][user] = true
		if session {
			per[user] = append(per[user], p)
		}
	}
	var want []Session
	for u, ps := range per {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
		for i, p := range ps {
			if i == 0 || p.at-want[len(want)-1].End.UnixMilli() > SessionGap.Milliseconds() {
				want = append(want, Session{UserID: u, Start: time.UnixMilli(p.at).UTC()})
			}
			s := &want[len(want)-1]
			s.End = time.UnixMilli(p.at).UTC()
			s.Events++
			s.Pages += p.pages
			s.Orders += p.orders
			s.Revenue += p.revenue
		}
	}
	sort.Slice(want, func(i, j int) bool {
		if want[i].UserID != want[j].UserID {
			return want[i].UserID < want[j].UserID
		}
		return want[i].Start.Before(want[j].Start)
	})
	got := truth.Analytics.Sessions
	if len(got) != len(want) || len(want) < 300 {
		t.Fatalf("truth has %d sessions, recomputed %d", len(got), len(want))
	}
	multi, converted := 0, 0
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) || got[i].UserID != want[i].UserID ||
			got[i].Events != want[i].Events || got[i].Pages != want[i].Pages || got[i].Orders != want[i].Orders || got[i].Revenue != want[i].Revenue {
			t.Fatalf("session %d: truth %+v, recomputed %+v", i, got[i], want[i])
		}
		if i > 0 && want[i-1].UserID == want[i].UserID {
			multi++
		}
		if want[i].Converted() {
			converted++
		}
	}
	if multi == 0 || converted == 0 {
		t.Fatalf("implausible sessions: %d users with several, %d converted", multi, converted)
	}
	n := 0
	for _, u := range truth.Analytics.Users.FiveMinute {
		if u.Category != AllCategories {
			continue
		}
		n++
		if int(u.Users) != len(users[u.Start.UnixMilli()]) {
			t.Fatalf("5-minute window %s: truth %d users, recomputed %d", u.Start, u.Users, len(users[u.Start.UnixMilli()]))
		}
	}
	if n != len(users) {
		t.Fatalf("truth has %d 5-minute windows with users, recomputed %d", n, len(users))
	}
}
