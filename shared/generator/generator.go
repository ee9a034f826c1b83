package generator

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// Record is one generated Kafka record.
type Record struct {
	Topic string
	Key   string
	Value []byte
	// Time is the record's event time.
	Time time.Time
	// Type is the event type of a good record, "" for a bad one.
	Type event.Type
	// Shape is the producer shape a good record is written in ("" = canonical).
	Shape event.Shape
	// Bad describes a bad record; nil for a good one.
	Bad *BadRecord

	view  event.Event // what a reader can recover from Value, for the truth
	fx    []stockFx   // stock effects, applied to the truth when emitted
	label *FraudLabel // set on the order_created record of a fraudulent order
}

// Generator produces an endless, deterministic stream of records. It is not
// safe for concurrent use.
type Generator struct {
	cfg  Config
	r    *rand.Rand
	cat  *catalog
	zipf *rand.Zipf
	czip []*rand.Zipf
	run  string

	now   int64 // event time being simulated, ms since cfg.Start
	seq   uint64
	queue actionHeap
	out   []Record
	head  int

	// emitted and badEmitted count the records Next has returned, and the
	// bad ones among them, for readers on other goroutines (a progress
	// view) too.
	emitted, badEmitted atomic.Int64
	nextEvent           uint64
	nextOrder           uint64
	nextSess            uint64
	nextShip            uint64
	nextFraudU          int

	sessionGap float64 // mean ms between session arrivals
	truth      *truthBuilder
	minuteSale event.Money
}

// New returns a Generator for cfg.
func New(cfg Config) (*Generator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed5eed5eed5eed))
	g := &Generator{cfg: cfg, r: r}
	g.run = strconv.FormatUint(cfg.Seed%(36*36*36*36*36), 36)
	g.cat = newCatalog(r, cfg)
	g.zipf = rand.NewZipf(r, 1.15, 1, uint64(cfg.Products-1))
	for _, l := range g.cat.byCategory {
		g.czip = append(g.czip, rand.NewZipf(r, 1.15, 1, uint64(max(len(l)-1, 1))))
	}
	g.truth = newTruthBuilder(cfg)
	// About 11 records per session, counting the order lifecycle.
	g.sessionGap = 1000 * 11 / cfg.EventsPerSecond

	// The day starts with a stock count of every product.
	for _, p := range g.cat.products {
		p.onHand = p.target
		g.schedule(action{at: 0, kind: actCount, product: p})
	}
	g.schedule(action{at: 1, kind: actSessionArrival})
	g.schedule(action{at: g.gap(50), kind: actAdjust})
	g.schedule(action{at: g.gap(100), kind: actCount})
	if cfg.LegacyShare > 0 {
		g.schedule(action{at: 60_000, kind: actMetric})
	}
	return g, nil
}

// Config returns the configuration in use, defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Next returns the next record.
func (g *Generator) Next() Record {
	for g.head == len(g.out) {
		g.out = g.out[:0]
		g.head = 0
		g.step()
	}
	rec := g.out[g.head]
	g.out[g.head] = Record{}
	g.head++
	g.truth.observe(g.emitted.Add(1)-1, &rec)
	if rec.Bad != nil {
		g.badEmitted.Add(1)
	}
	return rec
}

// Emitted returns the number of records Next has returned. It is safe to
// call while another goroutine calls Next.
func (g *Generator) Emitted() int64 { return g.emitted.Load() }

// BadEmitted returns how many of the records Next has returned are bad. It
// is safe to call while another goroutine calls Next.
func (g *Generator) BadEmitted() int64 { return g.badEmitted.Load() }

// Truth returns the ground truth of the records returned so far. It must
// not be called while another goroutine calls Next.
func (g *Generator) Truth() *Truth { return g.truth.build() }

func (g *Generator) schedule(a action) {
	g.seq++
	a.seq = g.seq
	g.queue.push(a)
}

// gap returns an exponentially distributed delay with the given mean in
// events (at the configured density), in ms, at least 1.
func (g *Generator) gap(meanEvents float64) int64 {
	return max(1, int64(g.r.ExpFloat64()*meanEvents*1000/g.cfg.EventsPerSecond))
}

// after returns a time between lo and hi seconds from now, in ms.
func (g *Generator) after(lo, hi float64) int64 {
	return g.now + int64((lo+g.r.Float64()*(hi-lo))*1000)
}

func (g *Generator) chance(p float64) bool { return g.r.Float64() < p }

func (g *Generator) step() {
	a := g.queue.pop()
	g.now = a.at
	switch a.kind {
	case actSessionArrival:
		g.startSession()
		g.schedule(action{at: g.now + max(1, int64(g.r.ExpFloat64()*g.sessionGap)), kind: actSessionArrival})
	case actSessionStep:
		g.sessionStep(a.session)
	case actPayment:
		g.pay(a.order)
	case actShip:
		g.ship(a.order)
	case actCancel:
		g.cancel(a.order)
	case actRefund:
		g.refund(a.order)
	case actFeedback:
		g.feedback(a.order)
	case actRestock:
		g.restock(a.product)
	case actAdjust:
		g.adjust()
		g.schedule(action{at: g.now + g.gap(50), kind: actAdjust})
	case actCount:
		g.count(a.product)
		if a.product == nil {
			g.schedule(action{at: g.now + g.gap(100), kind: actCount})
		}
	case actMetric:
		g.metric()
		g.schedule(action{at: g.now + 60_000, kind: actMetric})
	case actFraudStep:
		g.fraudStep(a.campaign)
	}
}

func (g *Generator) eventTime() time.Time {
	return g.cfg.Start.Add(time.Duration(g.now) * time.Millisecond)
}

func (g *Generator) id(prefix string, n *uint64) string {
	*n++
	b := make([]byte, 0, 24)
	b = append(b, prefix...)
	b = append(b, g.run...)
	b = append(b, '-')
	b = strconv.AppendUint(b, *n, 10)
	return string(b)
}

func (g *Generator) envelope(t event.Type) event.Envelope {
	return event.Envelope{
		EventID:       g.id("e-", &g.nextEvent),
		EventType:     t,
		SchemaVersion: event.SchemaVersion,
		OccurredAt:    g.eventTime(),
	}
}

// pickProduct picks a product by popularity, within category cat when cat >= 0.
func (g *Generator) pickProduct(cat int) *product {
	if cat >= 0 {
		l := g.cat.byCategory[cat]
		i := int(g.czip[cat].Uint64())
		if i >= len(l) {
			i = len(l) - 1
		}
		return g.cat.products[l[i]]
	}
	return g.cat.products[g.cat.popular[g.zipf.Uint64()]]
}

func (g *Generator) location(c int, jitter bool) *event.Location {
	ct := cities[c]
	lat, lon := ct.lat, ct.lon
	if jitter {
		lat += (g.r.Float64() - 0.5) * 0.1
		lon += (g.r.Float64() - 0.5) * 0.1
	}
	lat = math.Round(lat*1e4) / 1e4
	lon = math.Round(lon*1e4) / 1e4
	return &event.Location{Country: ct.country, City: ct.name, Lat: &lat, Lon: &lon}
}
