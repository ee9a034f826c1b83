package fraud

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// Rule names, as decisions and alerts report them.
const (
	RuleBlocklist       = "blocklist"
	RuleVelocity        = "velocity"
	RuleCardTesting     = "card_testing"
	RuleCardsPerAccount = "cards_per_account"
	RuleAccountsPerCard = "accounts_per_card"
	RuleAmount          = "amount"
	RuleQuantity        = "quantity"
	RuleTravel          = "impossible_travel"
	RuleAccountChange   = "account_change"
)

// Decisions.
const (
	DecisionApprove = "approve"
	DecisionReview  = "review"
	DecisionDecline = "decline"
)

// Facts is what one order_created says, as far as its producer's shape
// carries it: Amount is -1 and MaxUnits 0 when unknown; Card, IP, Device
// and Country are empty and HasFix false when the event has none.
type Facts struct {
	OrderID  string
	UserID   string
	At       int64 // event time, ms
	Card     string
	IP       string
	Device   string
	Country  string
	City     string
	Amount   int64 // cents
	MaxUnits int
	HasFix   bool
	Lat, Lon float64
}

// Payment is what one payment event says.
type Payment struct {
	OrderID string
	UserID  string
	At      int64
	Card    string
	Failed  bool
	Amount  int64 // cents; -1 when unknown
}

// Finding is one rule's contribution: its reason (rule, score, detail) for
// the order at hand, and the other orders the same evidence implicates
// (earlier orders of a burst, the other orders on a shared card), which are
// escalated with the same reason.
type Finding struct {
	Reason event.FraudReason
	Also   []string
}

func finding(rule string, score float64, format string, args ...any) *Finding {
	d := fmt.Sprintf(format, args...)
	if len(d) > event.MaxShortText {
		d = d[:event.MaxShortText]
	}
	return &Finding{Reason: event.FraudReason{Rule: rule, Score: score, Detail: d}}
}

// FactsOf reads the facts of an order_created event; missing lists what its
// shape lacked that some rule needs.
func FactsOf(e *event.OrderCreated) (f Facts, missing []string) {
	f = Facts{OrderID: e.OrderID, UserID: e.UserID, At: e.OccurredAt.UnixMilli(), Card: string(e.CardFingerprint),
		IP: string(e.IP), Device: e.Device, Amount: -1}
	switch {
	case e.TotalAmount != nil && !e.Origin.Lacks("total_amount"):
		f.Amount = e.TotalAmount.Cents()
	case len(e.Items) > 0 && !e.Origin.Lacks("items.price"):
		var t event.Money
		for _, it := range e.Items {
			t += it.Price.Mul(it.Quantity)
		}
		f.Amount = t.Cents()
	default:
		missing = append(missing, RuleAmount+": no amount")
	}
	for _, it := range e.Items {
		f.MaxUnits = max(f.MaxUnits, it.Quantity)
	}
	if f.MaxUnits == 0 {
		missing = append(missing, RuleQuantity+": no items")
	}
	if l := e.Location; l != nil {
		f.Country, f.City = l.Country, l.City
		if l.HasCoordinates() {
			f.HasFix, f.Lat, f.Lon = true, *l.Lat, *l.Lon
		}
	}
	if !f.HasFix {
		missing = append(missing, RuleTravel+": no coordinates")
	}
	if f.Card == "" {
		missing = append(missing, RuleAccountsPerCard+": no card", RuleCardsPerAccount+": no card")
	}
	if f.IP == "" && f.Device == "" {
		missing = append(missing, RuleAccountChange+": no ip or device")
	}
	return f, missing
}

// PaymentOf reads a payment event.
func PaymentOf(e event.Event) (Payment, bool) {
	var o *event.Order
	p := Payment{Amount: -1, At: e.Meta().OccurredAt.UnixMilli()}
	switch e := e.(type) {
	case *event.PaymentAuthorized:
		o = &e.Order
	case *event.PaymentFailed:
		o, p.Failed = &e.Order, true
	default:
		return p, false
	}
	p.OrderID, p.UserID, p.Card = o.OrderID, o.UserID, string(o.CardFingerprint)
	if o.TotalAmount != nil && !e.Meta().Origin.Lacks("total_amount") {
		p.Amount = o.TotalAmount.Cents()
	}
	return p, true
}

// Blocklist: a listed card, IP address or country.
func Blocklist(c *Config, f *Facts) *Finding {
	var what []string
	if c.blockedCard(f.Card) {
		what = append(what, "card")
	}
	if c.blockedIP(f.IP) {
		what = append(what, "ip address")
	}
	if c.blockedCountry(f.Country) {
		what = append(what, "country "+f.Country)
	}
	if len(what) == 0 {
		return nil
	}
	return finding(RuleBlocklist, c.Blocklist.Score, "blocklisted %s", strings.Join(what, ", "))
}

// Velocity: more orders by the account in a sliding window than the
// window's limit. The whole window is implicated.
func Velocity(c *Config, p *UserProfile, f *Facts) *Finding {
	var best *Finding
	for _, w := range c.Velocity.UserOrders {
		var in []string
		for _, o := range p.Orders {
			if o.At > f.At-w.Window.ms() && o.At <= f.At && o.ID != f.OrderID {
				in = append(in, o.ID)
			}
		}
		if n := len(in) + 1; n > w.Limit && (best == nil || w.Score > best.Reason.Score) {
			best = finding(RuleVelocity, w.Score, "%d orders by the account in %s (limit %d)", n, w.Window.D(), w.Limit)
			best.Also = in
		}
	}
	return best
}

// PaymentVelocity: more payment attempts by the account in a window than
// its limit.
func PaymentVelocity(c *Config, p *UserProfile, pay *Payment) *Finding {
	var best *Finding
	for _, w := range c.Velocity.UserPaymentAttempts {
		n := 1
		for _, q := range p.Payments {
			if q.At > pay.At-w.Window.ms() && q.At <= pay.At {
				n++
			}
		}
		if n > w.Limit && (best == nil || w.Score > best.Reason.Score) {
			best = finding(RuleVelocity, w.Score, "%d payment attempts by the account in %s (limit %d)", n, w.Window.D(), w.Limit)
		}
	}
	return best
}

// CardVelocity: more orders with one card, whichever the account, in a
// window than its limit.
func CardVelocity(c *Config, cp *CardProfile, u *CardUse) *Finding {
	var best *Finding
	for _, w := range c.Velocity.CardOrders {
		var in []string
		for _, o := range cp.Uses {
			if o.At > u.At-w.Window.ms() && o.At <= u.At && o.Order != u.Order {
				in = append(in, o.Order)
			}
		}
		if n := len(in) + 1; n > w.Limit && (best == nil || w.Score > best.Reason.Score) {
			best = finding(RuleVelocity, w.Score, "%d orders with the card in %s (limit %d)", n, w.Window.D(), w.Limit)
			best.Also = in
		}
	}
	return best
}

func (c *Config) small(cents int64) bool {
	return cents >= 0 && cents <= c.CardTesting.SmallAmount.Cents()
}

// smallFailures counts failed small authorisations in the window before t.
func (c *Config) smallFailures(ps []PaymentEntry, t int64) int {
	n := 0
	for _, q := range ps {
		if q.Failed && c.small(q.Amount) && q.At > t-c.CardTesting.Window.ms() && q.At <= t {
			n++
		}
	}
	return n
}

// CardTestingPayment: a failed small authorisation that brings the
// account's failed small authorisations in the window to the limit. Every
// small order of the account in the window is implicated.
func CardTestingPayment(c *Config, p *UserProfile, pay *Payment) *Finding {
	if !pay.Failed || !c.small(pay.Amount) {
		return nil
	}
	n := c.smallFailures(p.Payments, pay.At) + 1
	if n < c.CardTesting.MinFailed {
		return nil
	}
	f := finding(RuleCardTesting, c.CardTesting.Score, "%d failed authorisations under %s in %s on the account",
		n, c.CardTesting.SmallAmount, c.CardTesting.Window.D())
	for _, o := range p.Orders {
		if o.At > pay.At-c.CardTesting.Window.ms() && c.small(o.Amount) && o.ID != pay.OrderID {
			f.Also = append(f.Also, o.ID)
		}
	}
	return f
}

// CardTestingOrder: a small order from an account that is testing cards.
func CardTestingOrder(c *Config, p *UserProfile, f *Facts) *Finding {
	if !c.small(f.Amount) {
		return nil
	}
	if n := c.smallFailures(p.Payments, f.At); n >= c.CardTesting.MinFailed {
		return finding(RuleCardTesting, c.CardTesting.Score, "small order after %d failed authorisations under %s in %s",
			n, c.CardTesting.SmallAmount, c.CardTesting.Window.D())
	}
	return nil
}

// CardTestingCard: failed small authorisations on one card, whichever the
// account.
func CardTestingCard(c *Config, cp *CardProfile, pay *Payment) *Finding {
	if !pay.Failed || !c.small(pay.Amount) {
		return nil
	}
	if n := c.smallFailures(cp.Failures, pay.At) + 1; n >= c.CardTesting.MinFailed {
		return finding(RuleCardTesting, c.CardTesting.Score, "%d failed authorisations under %s in %s on the card",
			n, c.CardTesting.SmallAmount, c.CardTesting.Window.D())
	}
	return nil
}

// CardsPerAccount: an order with a card the account never used that brings its
// distinct cards in the window to the limit. Orders of the retro window
// paid with cards the account only started using in the window are
// implicated.
func CardsPerAccount(c *Config, p *UserProfile, f *Facts) *Finding {
	if f.Card == "" {
		return nil
	}
	w := c.CardsPerAccount.Window.ms()
	cards := map[string]bool{}
	for _, o := range p.Orders {
		if o.Card != "" && o.At > f.At-w && o.At <= f.At {
			cards[o.Card] = true
		}
	}
	if cards[f.Card] || known(p.Cards, f.Card) {
		return nil
	}
	n := len(cards) + 1
	if n < c.CardsPerAccount.MinCards {
		return nil
	}
	r := finding(RuleCardsPerAccount, c.CardsPerAccount.Score, "%d cards on the account in %s", n, c.CardsPerAccount.Window.D())
	fresh := map[string]bool{}
	for _, s := range p.Cards {
		if s.First > f.At-w {
			fresh[s.Key] = true
		}
	}
	for _, o := range p.Orders {
		if o.At > f.At-c.CardsPerAccount.RetroWindow.ms() && fresh[o.Card] && o.ID != f.OrderID {
			r.Also = append(r.Also, o.ID)
		}
	}
	return r
}

// AccountsPerCard: one card used by several accounts within the window on
// either side of this use. Every order on the card in that span is
// implicated, so the result does not depend on which use is seen last.
func AccountsPerCard(c *Config, cp *CardProfile, u *CardUse) *Finding {
	w := c.AccountsPerCard.Window.ms()
	users := map[string]bool{u.User: true}
	var also []string
	for _, o := range cp.Uses {
		if o.At >= u.At-w && o.At <= u.At+w && o.Order != u.Order {
			users[o.User] = true
			also = append(also, o.Order)
		}
	}
	if len(users) < c.AccountsPerCard.MinAccounts {
		return nil
	}
	f := finding(RuleAccountsPerCard, c.AccountsPerCard.Score, "card used by %d accounts within %s", len(users), c.AccountsPerCard.Window.D())
	f.Also = also
	return f
}

// Amount: an order total far above the account's own history, by the
// median and the median absolute deviation of its log amounts. An account
// with too little history falls under the cold-start rule: a fixed amount.
func Amount(c *Config, p *UserProfile, f *Facts) *Finding {
	if f.Amount < 0 {
		return nil
	}
	a := c.Amount
	if len(p.Amounts) < a.MinHistory {
		if a.ColdStartAmount > 0 && f.Amount >= a.ColdStartAmount.Cents() {
			return finding(RuleAmount, a.ColdStartScore, "%s from an account with %d orders of history (cold start limit %s)",
				event.FromCents(f.Amount), len(p.Amounts), a.ColdStartAmount)
		}
		return nil
	}
	logs := make([]float64, len(p.Amounts))
	for i, v := range p.Amounts {
		logs[i] = math.Log(float64(max(v, 1)))
	}
	med := median(logs)
	dev := make([]float64, len(logs))
	for i, v := range logs {
		dev[i] = math.Abs(v - med)
	}
	mad := max(1.4826*median(dev), a.MADFloor)
	x := math.Log(float64(max(f.Amount, 1)))
	ratio := math.Exp(x - med)
	z := (x - med) / mad
	if ratio < a.MinRatio || z < a.MinZ {
		return nil
	}
	return finding(RuleAmount, a.Score, "%s is %.1fx the account's median order (robust z %.1f over %d orders)",
		event.FromCents(f.Amount), ratio, z, len(p.Amounts))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Quantity: many units of one product, more than the account ever ordered;
// from HighUnits on, the higher score.
func Quantity(c *Config, p *UserProfile, f *Facts) *Finding {
	q := c.Quantity
	if f.MaxUnits < q.MinUnits || (p.MaxUnits > 0 && float64(f.MaxUnits) < q.Factor*float64(p.MaxUnits)) {
		return nil
	}
	score := q.Score
	if q.HighUnits > 0 && f.MaxUnits >= q.HighUnits {
		score = max(score, q.HighScore)
	}
	return finding(RuleQuantity, score, "%d units of one product (the account's most before: %d)", f.MaxUnits, p.MaxUnits)
}

// Travel: the distance from the account's last located order, over the time
// since, is faster than travel allows, to a place the account never ordered
// from.
func Travel(c *Config, p *UserProfile, f *Facts) *Finding {
	t := c.Travel
	if !f.HasFix || p.Last == nil {
		return nil
	}
	d := distanceKM(p.Last.Lat, p.Last.Lon, f.Lat, f.Lon)
	if d < t.MinDistanceKM || p.nearestPlaceKM(f.Lat, f.Lon) <= t.KnownPlaceKM {
		return nil
	}
	hours := max(float64(f.At-p.Last.At)/3.6e6, 1.0/60)
	if speed := d / hours; speed <= t.MaxSpeedKMH {
		return nil
	}
	return finding(RuleTravel, t.Score, "%s to %s (%.0f km) in %s", orUnknown(p.Last.City), orUnknown(f.City), d,
		(time.Duration(f.At-p.Last.At) * time.Millisecond).Round(time.Second))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown place"
	}
	return s
}

// AccountChange: an established account ordering with a card, IP address
// or device it never used, or from far away from every place it ordered
// from: each adds its score.
func AccountChange(c *Config, p *UserProfile, f *Facts) *Finding {
	a := c.AccountChange
	if p.OrderCount == 0 {
		return nil
	}
	var score float64
	var what []string
	if f.Card != "" && len(p.Cards) > 0 && !known(p.Cards, f.Card) && a.NewCard > 0 {
		score += a.NewCard
		what = append(what, "new card")
	}
	if ip := hashIP(f.IP); ip != "" && len(p.IPs) > 0 && !known(p.IPs, ip) && a.NewIP > 0 {
		score += a.NewIP
		what = append(what, "new ip address")
	}
	if f.Device != "" && len(p.Devices) > 0 && !known(p.Devices, f.Device) && a.NewDevice > 0 {
		score += a.NewDevice
		what = append(what, "new device "+f.Device)
	}
	if f.HasFix && len(p.Places) > 0 && a.FarFromHome > 0 {
		if d := p.nearestPlaceKM(f.Lat, f.Lon); d > a.FarFromHomeKM {
			score += a.FarFromHome
			what = append(what, fmt.Sprintf("%.0f km from every place the account ordered from", d))
		}
	}
	if len(what) == 0 {
		return nil
	}
	return finding(RuleAccountChange, min(score, 100), "%s", strings.Join(what, ", "))
}
