package fraud

import (
	"strings"
	"testing"
	"time"
)

const minute = int64(time.Minute / time.Millisecond)

func profileWith(orders ...OrderEntry) *UserProfile {
	p := NewUserProfile("u-1")
	for _, o := range orders {
		p.Orders = append(p.Orders, o)
		if o.Amount >= 0 {
			p.Amounts = append(p.Amounts, o.Amount)
		}
		p.Cards = see(p.Cards, o.Card, o.At)
		p.OrderCount++
	}
	return p
}

func TestVelocity(t *testing.T) {
	c := DefaultConfig()
	at := 100 * minute
	for _, tc := range []struct {
		name   string
		gaps   []int64 // ms before at of earlier orders
		score  float64
		also   int
		reason string
	}{
		{"alone", nil, 0, 0, ""},
		{"three in the window", []int64{30_000, 60_000}, 0, 0, ""},
		{"four in 3m", []int64{30_000, 60_000, 170_000}, 55, 3, "4 orders by the account in 3m0s"},
		{"four spread out", []int64{30_000, 60_000, 200_000}, 0, 0, ""},
		{"six in 5m", []int64{20_000, 40_000, 60_000, 200_000, 280_000}, 85, 5, "6 orders by the account in 5m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var os []OrderEntry
			for i, g := range tc.gaps {
				os = append(os, OrderEntry{ID: "o-" + string(rune('a'+i)), At: at - g, Card: "fp_1", Amount: 1000})
			}
			f := Velocity(c, profileWith(os...), &Facts{OrderID: "o-new", At: at})
			if tc.score == 0 {
				if f != nil {
					t.Fatalf("got %+v, want nothing", f)
				}
				return
			}
			if f == nil || f.Reason.Score != tc.score || len(f.Also) != tc.also || !strings.Contains(f.Reason.Detail, tc.reason) {
				t.Fatalf("got %+v, want score %v, %d implicated, %q", f, tc.score, tc.also, tc.reason)
			}
		})
	}
}

func TestCardTesting(t *testing.T) {
	c := DefaultConfig()
	p := profileWith(OrderEntry{ID: "o-1", At: 0, Card: "fp_1", Amount: 799}, OrderEntry{ID: "o-2", At: 10_000, Card: "fp_2", Amount: 95_000})
	p.Payments = []PaymentEntry{{Order: "o-1", At: 5_000, Failed: true, Amount: 799}, {Order: "o-x", At: 8_000, Failed: true, Amount: 1299}}
	f := CardTestingPayment(c, p, &Payment{OrderID: "o-3", At: 20_000, Failed: true, Amount: 599})
	if f == nil || f.Reason.Score != c.CardTesting.Score || len(f.Also) != 1 || f.Also[0] != "o-1" {
		t.Fatalf("third small failure: %+v (the large order must not be implicated)", f)
	}
	if f := CardTestingPayment(c, p, &Payment{OrderID: "o-3", At: 20_000, Failed: true, Amount: 5_000}); f != nil {
		t.Fatalf("a large failed payment counted as card testing: %+v", f)
	}
	if f := CardTestingPayment(c, p, &Payment{OrderID: "o-3", At: 20_000, Failed: false, Amount: 599}); f != nil {
		t.Fatalf("an authorised payment counted as card testing: %+v", f)
	}
	if f := CardTestingPayment(c, p, &Payment{OrderID: "o-3", At: 20_000 + 11*minute, Failed: true, Amount: 599}); f != nil {
		t.Fatalf("failures out of the window counted: %+v", f)
	}
	if f := CardTestingPayment(c, p, &Payment{OrderID: "o-3", At: 20_000, Failed: true, Amount: -1}); f != nil {
		t.Fatalf("a payment of unknown amount counted as small: %+v", f)
	}
}

func TestCardsAndAccounts(t *testing.T) {
	c := DefaultConfig()
	p := profileWith(OrderEntry{ID: "o-1", At: 0, Card: "fp_1"}, OrderEntry{ID: "o-2", At: 1000, Card: "fp_2"}, OrderEntry{ID: "o-3", At: 2000, Card: "fp_3"})
	f := CardsPerAccount(c, p, &Facts{OrderID: "o-4", At: 3000, Card: "fp_4"})
	if f == nil || len(f.Also) != 3 {
		t.Fatalf("fourth new card: %+v", f)
	}
	if f := CardsPerAccount(c, p, &Facts{OrderID: "o-4", At: 3000, Card: "fp_2"}); f != nil {
		t.Fatalf("a known card counted: %+v", f)
	}
	if f := CardsPerAccount(c, p, &Facts{OrderID: "o-4", At: 3000}); f != nil {
		t.Fatalf("an order without a card counted: %+v", f)
	}
	cp := NewCardProfile("fp_9")
	if f := AccountsPerCard(c, cp, &CardUse{User: "u-1", Order: "o-1", At: 0}); f != nil {
		t.Fatalf("first use flagged: %+v", f)
	}
	cp.Uses = []CardUse{{User: "u-1", Order: "o-1", At: 0}, {User: "u-1", Order: "o-2", At: 1000}}
	if f := AccountsPerCard(c, cp, &CardUse{User: "u-1", Order: "o-3", At: 2000}); f != nil {
		t.Fatalf("one account's own card flagged: %+v", f)
	}
	// A use seen first but later in time implicates the earlier ones all the same.
	f = AccountsPerCard(c, cp, &CardUse{User: "u-2", Order: "o-0", At: -5 * minute})
	if f == nil || len(f.Also) != 2 {
		t.Fatalf("second account: %+v", f)
	}
	if f := AccountsPerCard(c, cp, &CardUse{User: "u-2", Order: "o-9", At: 25 * 60 * minute}); f != nil {
		t.Fatalf("a use a day later flagged: %+v", f)
	}
}

func TestAmountAndQuantity(t *testing.T) {
	c := DefaultConfig()
	p := profileWith(OrderEntry{ID: "o-1", Amount: 2000}, OrderEntry{ID: "o-2", Amount: 2500}, OrderEntry{ID: "o-3", Amount: 3000})
	for _, tc := range []struct {
		amount int64
		want   float64
	}{{2600, 0}, {15_000, 0}, {60_000, c.Amount.Score}, {-1, 0}} {
		f := Amount(c, p, &Facts{Amount: tc.amount})
		if (f == nil && tc.want != 0) || (f != nil && f.Reason.Score != tc.want) {
			t.Errorf("amount %d: %+v, want %v", tc.amount, f, tc.want)
		}
	}
	cold := NewUserProfile("u-new")
	if f := Amount(c, cold, &Facts{Amount: 50_000}); f != nil {
		t.Errorf("a new account's ordinary order flagged: %+v", f)
	}
	if f := Amount(c, cold, &Facts{Amount: 200_000}); f == nil || f.Reason.Score != c.Amount.ColdStartScore {
		t.Errorf("cold start: %+v", f)
	}
	p.MaxUnits = 2
	for _, tc := range []struct {
		units int
		want  float64
	}{{1, 0}, {4, 0}, {5, c.Quantity.Score}, {8, c.Quantity.HighScore}, {0, 0}} {
		f := Quantity(c, p, &Facts{MaxUnits: tc.units})
		if (f == nil && tc.want != 0) || (f != nil && f.Reason.Score != tc.want) {
			t.Errorf("%d units: %+v, want %v", tc.units, f, tc.want)
		}
	}
}

func TestTravelAndAccountChange(t *testing.T) {
	c := DefaultConfig()
	p := NewUserProfile("u-1")
	p.applyOrder(c, &Facts{OrderID: "o-1", At: 0, Card: "fp_1", IP: "1.2.3.4", Device: "mobile", HasFix: true, Lat: 40.71, Lon: -74.0, City: "New York", Amount: 1000, MaxUnits: 1})
	berlin := Facts{OrderID: "o-2", At: 30 * minute, Card: "fp_1", IP: "1.2.3.4", Device: "mobile", HasFix: true, Lat: 52.52, Lon: 13.4, City: "Berlin"}
	if f := Travel(c, p, &berlin); f == nil || !strings.Contains(f.Reason.Detail, "New York to Berlin") {
		t.Fatalf("New York to Berlin in 30 minutes: %+v", f)
	}
	slow := berlin
	slow.At = 20 * 60 * minute
	if f := Travel(c, p, &slow); f != nil {
		t.Fatalf("New York to Berlin in 20 hours flagged: %+v", f)
	}
	noFix := berlin
	noFix.HasFix = false
	if f := Travel(c, p, &noFix); f != nil {
		t.Fatalf("an order without coordinates flagged: %+v", f)
	}
	// Coming home from a trip is no impossible travel.
	p.applyOrder(c, &berlin)
	home := Facts{OrderID: "o-3", At: 31 * minute, HasFix: true, Lat: 40.72, Lon: -74.01, City: "New York"}
	if f := Travel(c, p, &home); f != nil {
		t.Fatalf("back home flagged: %+v", f)
	}
	q := NewUserProfile("u-2")
	q.applyOrder(c, &Facts{OrderID: "o-1", At: 0, Card: "fp_1", IP: "1.2.3.4", Device: "mobile", HasFix: true, Lat: 40.71, Lon: -74.0})
	f := AccountChange(c, q, &Facts{OrderID: "o-2", At: minute, Card: "fp_2", IP: "5.6.7.8", Device: "desktop", HasFix: true, Lat: -33.87, Lon: 151.2})
	want := c.AccountChange.NewCard + c.AccountChange.NewIP + c.AccountChange.NewDevice + c.AccountChange.FarFromHome
	if f == nil || f.Reason.Score != want {
		t.Fatalf("takeover: %+v, want %v", f, want)
	}
	if f := AccountChange(c, q, &Facts{OrderID: "o-2", At: minute}); f != nil {
		t.Fatalf("an order with nothing to compare flagged: %+v", f)
	}
	if f := AccountChange(c, NewUserProfile("u-3"), &Facts{OrderID: "o-1", Card: "fp_9", IP: "9.9.9.9"}); f != nil {
		t.Fatalf("a first order flagged as a change: %+v", f)
	}
}

func TestBlocklist(t *testing.T) {
	c := DefaultConfig()
	if f := Blocklist(c, &Facts{Card: "fp_1", IP: "1.2.3.4", Country: "US"}); f != nil {
		t.Fatalf("empty blocklists flagged %+v", f)
	}
	c.Blocklist.Cards, c.Blocklist.IPs, c.Blocklist.Countries = []string{"fp_bad"}, []string{"6.6.6.6"}, []string{"XX"}
	for _, tc := range []Facts{{Card: "fp_bad"}, {IP: "6.6.6.6"}, {Country: "xx"}} {
		if f := Blocklist(c, &tc); f == nil || c.Decide(f.Reason.Score) != DecisionDecline {
			t.Errorf("%+v: %+v, want a decline", tc, f)
		}
	}
}

func TestDecisionMerge(t *testing.T) {
	c := DefaultConfig()
	d := &Decision{OrderID: "o-1", UserID: "u-1", At: 1_767_225_600_000, RuleVersion: c.Version}
	d.merge(finding(RuleVelocity, 55, "4 orders").Reason)
	d.merge(finding(RuleVelocity, 30, "lower").Reason)
	d.merge(finding(RuleAmount, 30, "spike").Reason)
	d.settle(c)
	if d.Score != 85 || d.Decision != DecisionDecline || len(d.Reasons) != 2 || d.Reasons[1].Detail != "4 orders" {
		t.Fatalf("%+v", d)
	}
	if !d.needsAlert() {
		t.Fatal("a decline without an alert needs one")
	}
	d.Alerted = DecisionDecline
	if d.needsAlert() {
		t.Fatal("an alerted decline needs no second alert")
	}
	if a, b := d.Alert(), d.Alert(); a.EventID != b.EventID || a.Validate() != nil {
		t.Fatalf("alert ids differ or the alert is invalid: %v %v", a.EventID, a.Validate())
	}
}
