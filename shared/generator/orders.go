package generator

import (
	"sort"

	"github.com/shopstream/shopstream/shared/event"
)

// order is an order in flight.
type order struct {
	id       string
	u        *user
	lines    []cartLine
	total    event.Money
	method   string
	card     string
	loc      *event.Location
	ip       string
	device   string
	fraud    string // pattern name for injected fraud
	declined bool   // the payment will fail
	paid     bool
	shipped  bool
	closed   bool
}

func (o *order) items() []event.Item {
	items := make([]event.Item, len(o.lines))
	for i, l := range o.lines {
		items[i] = event.Item{ProductID: l.p.id, Quantity: l.qty, Price: l.p.price, Category: categories[l.p.category].name}
	}
	return items
}

func (o *order) snapshot() event.Order {
	total := o.total
	return event.Order{
		OrderID: o.id, UserID: o.u.id, Items: o.items(), TotalAmount: &total, Currency: "USD",
		PaymentMethod: o.method, CardFingerprint: event.Sensitive(o.card), Location: o.loc,
		IP: event.Sensitive(o.ip), Device: o.device,
	}
}

// reserve keeps the lines that stock can cover, merging repeated products.
func reserveLines(lines []cartLine) []cartLine {
	merged := make([]cartLine, 0, len(lines))
	for _, l := range lines {
		found := false
		for i := range merged {
			if merged[i].p == l.p {
				merged[i].qty += l.qty
				found = true
			}
		}
		if !found {
			merged = append(merged, l)
		}
	}
	out := merged[:0]
	for _, l := range merged {
		if l.p.available() >= l.qty && l.qty <= event.MaxQuantity {
			out = append(out, l)
		}
	}
	return out
}

func (g *Generator) checkout(s *session) {
	lines := reserveLines(s.cart)
	s.cart = nil
	if len(lines) == 0 {
		return // everything in the cart sold out: the user leaves
	}
	u := s.u
	method := u.method
	o := &order{u: u, lines: lines, method: method, loc: s.loc, ip: u.ip, device: s.device}
	if method == "card" || method == "apple_pay" || method == "google_pay" {
		o.card = u.cards[g.r.IntN(len(u.cards))]
	}
	o.declined = g.chance(0.04)
	g.placeOrder(o)
	if g.cfg.FraudRate > 0 && g.chance(g.cfg.FraudRate/(1-g.cfg.FraudRate)/meanFraudOrders) {
		g.startCampaign()
	}
}

// placeOrder reserves stock and emits order_created, then schedules payment.
func (g *Generator) placeOrder(o *order) {
	o.id = g.id("o-", &g.nextOrder)
	var fx []stockFx
	for _, l := range o.lines {
		l.p.reserved += l.qty
		o.total += l.p.price.Mul(l.qty)
		fx = append(fx, stockFx{p: l.p, reserved: l.qty})
		g.maybeReorder(l.p)
	}
	e := &event.OrderCreated{Envelope: g.envelope(event.TypeOrderCreated), Order: o.snapshot()}
	var label *FraudLabel
	if o.fraud != "" {
		label = &FraudLabel{OrderID: o.id, UserID: o.u.id, Pattern: o.fraud}
	}
	g.emitWith(e, fx, label)
	u := o.u
	u.orders++
	u.amounts = append(u.amounts, o.total)
	if len(u.amounts) > 20 {
		u.amounts = u.amounts[1:]
	}
	u.lastAt = g.now
	g.schedule(action{at: g.after(2, 40), kind: actPayment, order: o})
}

func (g *Generator) pay(o *order) {
	if o.declined {
		reasons := []string{"card_declined", "insufficient_funds", "incorrect_cvc", "expired_card", "processing_error"}
		if o.fraud == patternCardTesting {
			reasons = []string{"card_declined", "incorrect_cvc", "expired_card", "card_declined"}
		}
		g.emit(&event.PaymentFailed{Envelope: g.envelope(event.TypePaymentFailed), Order: o.snapshot(),
			FailureReason: reasons[g.r.IntN(len(reasons))]})
		g.schedule(action{at: g.after(30, 600), kind: actCancel, order: o})
		return
	}
	o.paid = true
	g.minuteSale += o.total
	g.emit(&event.PaymentAuthorized{Envelope: g.envelope(event.TypePaymentAuthorized), Order: o.snapshot()})
	if g.chance(0.05) {
		g.schedule(action{at: g.after(120, 3600), kind: actCancel, order: o})
	} else {
		g.schedule(action{at: g.after(300, 2400), kind: actShip, order: o})
	}
}

func (g *Generator) ship(o *order) {
	if o.closed {
		return
	}
	o.shipped = true
	var fx []stockFx
	for _, l := range o.lines {
		l.p.onHand -= l.qty
		l.p.reserved -= l.qty
		fx = append(fx, stockFx{p: l.p, onHand: -l.qty, reserved: -l.qty})
	}
	carriers := []string{"UPS", "FedEx", "USPS", "DHL"}
	e := &event.OrderShipped{Envelope: g.envelope(event.TypeOrderShipped), Order: o.snapshot(),
		Carrier: carriers[g.r.IntN(len(carriers))], TrackingID: g.id("trk-", &g.nextShip)}
	e.WarehouseID = o.lines[0].p.warehouse
	for _, l := range o.lines {
		if l.p.warehouse != e.WarehouseID {
			e.WarehouseID = "" // shipped from several warehouses
		}
	}
	g.emitWith(e, fx, nil)
	if g.chance(0.03) {
		g.schedule(action{at: g.after(600, 5400), kind: actRefund, order: o})
	}
	if g.chance(0.3) {
		g.schedule(action{at: g.after(300, 3600), kind: actFeedback, order: o})
	}
}

func (g *Generator) cancel(o *order) {
	if o.closed || o.shipped {
		return
	}
	o.closed = true
	var fx []stockFx
	for _, l := range o.lines {
		l.p.reserved -= l.qty
		fx = append(fx, stockFx{p: l.p, reserved: -l.qty})
	}
	reason := "customer_request"
	if o.declined {
		reason = "payment_failed"
	}
	g.emitWith(&event.OrderCancelled{Envelope: g.envelope(event.TypeOrderCancelled), Order: o.snapshot(), Reason: reason}, fx, nil)
}

func (g *Generator) refund(o *order) {
	restock := g.chance(0.6)
	var fx []stockFx
	if restock {
		for _, l := range o.lines {
			l.p.onHand += l.qty
			fx = append(fx, stockFx{p: l.p, onHand: l.qty})
		}
	}
	reasons := []string{"damaged", "not_as_described", "changed_mind", "late_delivery"}
	g.emitWith(&event.RefundIssued{Envelope: g.envelope(event.TypeRefundIssued), Order: o.snapshot(),
		Amount: o.total, Restock: restock, Reason: reasons[g.r.IntN(len(reasons))]}, fx, nil)
}

var (
	goodFeedback = []string{"Great service!", "Arrived quickly, exactly as described.", "Love it, will buy again.",
		"Good value for the price.", "Packaging was excellent."}
	okFeedback  = []string{"It's fine.", "Okay product, shipping was slow.", "Does the job."}
	badFeedback = []string{"The item arrived broken, I want a refund.", "My package never arrived.",
		"Delivery was two weeks late.", "Wrong size and support never answered.", "I think my card was used for fraud."}
)

func (g *Generator) feedback(o *order) {
	var rating int
	switch x := g.r.Float64(); {
	case x < 0.45:
		rating = 5
	case x < 0.75:
		rating = 4
	case x < 0.87:
		rating = 3
	case x < 0.94:
		rating = 2
	default:
		rating = 1
	}
	var text string
	switch {
	case g.chance(0.02):
		text = hostileText[g.r.IntN(len(hostileText))]
	case rating >= 4:
		text = goodFeedback[g.r.IntN(len(goodFeedback))]
	case rating == 3:
		text = okFeedback[g.r.IntN(len(okFeedback))]
	default:
		text = badFeedback[g.r.IntN(len(badFeedback))]
	}
	channels := []string{"email", "app", "web"}
	g.emit(&event.Feedback{Envelope: g.envelope(event.TypeFeedback), UserID: o.u.id, Rating: rating, Text: text,
		OrderID: o.id, ProductID: o.lines[0].p.id, Channel: channels[g.r.IntN(len(channels))]})
}

// maybeReorder schedules a replenishment when available stock runs low.
func (g *Generator) maybeReorder(p *product) {
	if p.restockPending || p.available() > p.reorder {
		return
	}
	p.restockPending = true
	g.schedule(action{at: g.after(300, 2400), kind: actRestock, product: p})
}

func (g *Generator) restock(p *product) {
	p.restockPending = false
	qty := p.target - p.available()
	if qty <= 0 {
		return
	}
	p.onHand += qty
	fx := []stockFx{{p: p, onHand: qty}}
	st := event.Stock{ProductID: p.id, WarehouseID: p.warehouse}
	if g.chance(0.5) {
		g.emitWith(&event.Restocked{Envelope: g.envelope(event.TypeRestocked), Stock: st, Quantity: qty,
			SupplierID: "sup-" + pad(1+p.idx%17, 3)}, fx, nil)
	} else {
		g.emitWith(&event.ShipmentReceived{Envelope: g.envelope(event.TypeShipmentReceived), Stock: st, Quantity: qty,
			ShipmentID: g.id("in-", &g.nextShip)}, fx, nil)
	}
}

// adjust emits a small correction: damaged or lost units, or found ones.
func (g *Generator) adjust() {
	p := g.pickProduct(-1)
	change := 1 + g.r.IntN(2)
	reason := "found"
	if g.chance(0.7) {
		change = -change
		reason = []string{"damaged", "lost", "expired"}[g.r.IntN(3)]
		if p.available()+change < 0 {
			return
		}
	}
	p.onHand += change
	nq := p.onHand
	g.emitWith(&event.StockAdjusted{Envelope: g.envelope(event.TypeStockAdjusted),
		Stock: event.Stock{ProductID: p.id, WarehouseID: p.warehouse}, Change: change, Reason: reason, NewQuantity: &nq},
		[]stockFx{{p: p, onHand: change}}, nil)
	g.maybeReorder(p)
}

// count emits a stock count: of p at the start of the run, else of a random
// product, sometimes finding a unit of shrinkage.
func (g *Generator) count(p *product) {
	if p == nil {
		p = g.pickProduct(-1)
		if p.available() > 0 && g.chance(0.2) {
			p.onHand--
		}
	}
	g.emitWith(&event.StockCounted{Envelope: g.envelope(event.TypeStockCounted),
		Stock: event.Stock{ProductID: p.id, WarehouseID: p.warehouse}, Quantity: p.onHand},
		[]stockFx{{p: p, set: true, onHand: p.onHand}}, nil)
	g.maybeReorder(p)
}

// metric emits a pre-computed sales figure, as some producers do.
func (g *Generator) metric() {
	cats := Categories()
	sort.Strings(cats)
	value := float64(g.minuteSale.Cents()) / 100
	g.minuteSale = 0
	g.emitLegacyMetric(cats[g.r.IntN(len(cats))], value)
}

func moneyCents(ms []event.Money) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Cents()
	}
	return out
}
