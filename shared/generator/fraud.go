package generator

import (
	"sort"
)

// Fraud patterns the generator injects.
const (
	patternCardTesting     = "card_testing"
	patternVelocityBurst   = "velocity_burst"
	patternImpossibleTrave = "impossible_travel"
	patternAmountSpike     = "amount_spike"
	patternCardSharing     = "card_sharing"
	patternAccountTakeover = "account_takeover"
)

// Patterns lists the fraud patterns the generator injects.
func Patterns() []string {
	return []string{patternCardTesting, patternVelocityBurst, patternImpossibleTrave,
		patternAmountSpike, patternCardSharing, patternAccountTakeover}
}

// meanFraudOrders is about how many labelled orders one campaign makes.
const meanFraudOrders = 4.0

// campaign is one injected fraud pattern playing out over several steps.
type campaign struct {
	pattern string
	u       *user   // the account used (card testing: the fraudster's own)
	users   []*user // card sharing: the accounts sharing one card
	left    int
	card    string
	city    int
	ip      string
	device  string
}

func (g *Generator) startCampaign() {
	pats := Patterns()
	c := &campaign{pattern: pats[g.r.IntN(len(pats))]}
	switch c.pattern {
	case patternCardTesting:
		// A fresh account testing stolen cards with tiny orders.
		g.nextFraudU++
		c.u = g.cat.newUser(g.r, -1, "u-x"+g.run+"-"+pad(g.nextFraudU, 4))
		c.left = 6 + g.r.IntN(10)
		c.city = g.r.IntN(len(cities))
		c.ip = randomIP(g.r)
		c.device = "desktop"
	case patternVelocityBurst:
		c.u = g.randomUser()
		c.left = 4 + g.r.IntN(5)
		c.card = c.u.cards[0]
		c.city, c.ip, c.device = c.u.city, c.u.ip, c.u.device
	case patternImpossibleTrave:
		c.u = g.randomUser()
		c.left = 2 // one order from home, then one from far away
		c.card = c.u.cards[0]
		c.city, c.ip, c.device = c.u.city, c.u.ip, c.u.device
	case patternAmountSpike:
		c.u = g.userWithHistory(2)
		if c.u == nil {
			return
		}
		c.left = 1
		c.card = c.u.cards[0]
		c.city, c.ip, c.device = c.u.city, c.u.ip, c.u.device
	case patternCardSharing:
		n := 4 + g.r.IntN(4)
		for len(c.users) < n {
			u := g.randomUser()
			if !containsUser(c.users, u) {
				c.users = append(c.users, u)
			}
		}
		c.left = n
		c.card = fingerprint(g.r)
	case patternAccountTakeover:
		c.u = g.userWithHistory(1)
		if c.u == nil {
			return
		}
		c.left = 1
		c.card = fingerprint(g.r) // a card the account never used
		c.city = g.farCity(c.u.city)
		c.ip = randomIP(g.r)
		c.device = "desktop"
	}
	g.schedule(action{at: g.after(1, 60), kind: actFraudStep, campaign: c})
}

func containsUser(us []*user, u *user) bool {
	for _, x := range us {
		if x == u {
			return true
		}
	}
	return false
}

func (g *Generator) randomUser() *user { return g.cat.users[g.r.IntN(len(g.cat.users))] }

// userWithHistory returns a random user with at least n orders, or nil.
func (g *Generator) userWithHistory(n int) *user {
	for range 50 {
		if u := g.randomUser(); u.orders >= n {
			return u
		}
	}
	return nil
}

// farCity returns a city more than 3000 km from city c.
func (g *Generator) farCity(c int) int {
	var far []int
	for i, ct := range cities {
		if distanceKM(ct.lat, ct.lon, cities[c].lat, cities[c].lon) > 3000 {
			far = append(far, i)
		}
	}
	return far[g.r.IntN(len(far))]
}

func (g *Generator) fraudStep(c *campaign) {
	c.left--
	o := &order{method: "card", card: c.card, ip: c.ip, device: c.device, fraud: c.pattern}
	city := c.city
	next := g.after(5, 60)
	switch c.pattern {
	case patternCardTesting:
		o.u = c.u
		o.card = fingerprint(g.r)
		o.declined = g.chance(0.8)
		if len(g.cat.cheap) > 0 {
			o.lines = []cartLine{{g.cat.products[g.cat.cheap[g.r.IntN(len(g.cat.cheap))]], 1}}
		}
		next = g.after(3, 20)
	case patternVelocityBurst:
		o.u = c.u
		o.lines = []cartLine{{g.pickProduct(-1), 1 + g.r.IntN(2)}}
		next = g.after(10, 60)
	case patternImpossibleTrave:
		o.u = c.u
		o.lines = []cartLine{{g.pickProduct(c.u.interest), 1}}
		if c.left == 1 {
			o.fraud = "" // the genuine order from home
			next = g.after(600, 2400)
		} else {
			city = g.farCity(c.u.city)
			o.ip = randomIP(g.r)
		}
	case patternAmountSpike:
		o.u = c.u
		o.lines = g.spikeLines(c.u)
	case patternCardSharing:
		o.u = c.users[c.left]
		city = o.u.city
		o.ip, o.device = o.u.ip, o.u.device
		o.lines = []cartLine{{g.pickProduct(-1), 1}}
		next = g.after(60, 900)
	case patternAccountTakeover:
		o.u = c.u
		o.lines = g.spikeLines(c.u)
	}
	o.loc = g.location(city, true)
	if o.lines = reserveLines(o.lines); len(o.lines) > 0 {
		g.placeOrder(o)
	}
	if c.left > 0 {
		g.schedule(action{at: next, kind: actFraudStep, campaign: c})
	}
}

// spikeLines builds an order worth many times the user's usual amount.
func (g *Generator) spikeLines(u *user) []cartLine {
	amounts := append([]int64(nil), moneyCents(u.amounts)...)
	sort.Slice(amounts, func(i, j int) bool { return amounts[i] < amounts[j] })
	median := int64(5000)
	if len(amounts) > 0 {
		median = amounts[len(amounts)/2]
	}
	goal := median * int64(10+g.r.IntN(20))
	// The most expensive popular products, in quantity, until the goal is met.
	for try := 0; try < 20; try++ {
		p := g.pickProduct(g.r.IntN(len(categories)))
		if p.price.Cents() < median/2 {
			continue
		}
		qty := int(goal / max(p.price.Cents(), 1))
		qty = max(qty, 1)
		if qty <= p.available() && qty <= 50 {
			return []cartLine{{p, qty}}
		}
	}
	return nil
}
