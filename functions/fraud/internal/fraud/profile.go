package fraud

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"math"
	"slices"
)

// UserProfile is what the function keeps about one account: its recent
// orders and payment attempts, a summary of its order amounts, the cards,
// IP addresses (hashed), devices and places it used, and its last located
// order. Marks holds, per "topic-partition", the offset of the last record
// applied: a record at or below it is a replay and changes nothing.
type UserProfile struct {
	ID      string           `json:"-"`
	Version int64            `json:"-"`
	Marks   map[string]int64 `json:"marks"`
	// Orders and Payments are the activity of the last Retention.
	Orders   []OrderEntry   `json:"orders,omitempty"`
	Payments []PaymentEntry `json:"payments,omitempty"`
	// Amounts are the totals of the last orders, in cents, oldest first.
	Amounts []int64 `json:"amounts,omitempty"`
	// MaxUnits is the most units of one product the account ordered at once.
	MaxUnits   int     `json:"max_units,omitempty"`
	OrderCount int64   `json:"order_count,omitempty"`
	Cards      []Seen  `json:"cards,omitempty"`
	IPs        []Seen  `json:"ips,omitempty"`
	Devices    []Seen  `json:"devices,omitempty"`
	Places     []Place `json:"places,omitempty"`
	Last       *Fix    `json:"last,omitempty"`
	// LastAt is the event time of the latest event applied, in ms.
	LastAt int64 `json:"last_at"`
}

// OrderEntry is one recent order of an account.
type OrderEntry struct {
	ID     string `json:"id"`
	At     int64  `json:"at"`
	Card   string `json:"card,omitempty"`
	Amount int64  `json:"amount"` // cents; -1 when the producer sent none
}

// PaymentEntry is one recent payment attempt.
type PaymentEntry struct {
	Order  string `json:"order"`
	At     int64  `json:"at"`
	Failed bool   `json:"failed,omitempty"`
	Amount int64  `json:"amount"` // cents; -1 when unknown
}

// Seen is a value an account used, with when it first and last did.
type Seen struct {
	Key   string `json:"k"`
	First int64  `json:"f"`
	Last  int64  `json:"l"`
	N     int64  `json:"n"`
}

// Place is a location an account ordered from.
type Place struct {
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	City    string  `json:"city,omitempty"`
	Country string  `json:"country,omitempty"`
	N       int64   `json:"n"`
}

// Fix is a located event.
type Fix struct {
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
	At   int64   `json:"at"`
	City string  `json:"city,omitempty"`
}

// CardProfile is what the function keeps about one card fingerprint: the
// accounts that ordered with it and its recent failed authorisations.
type CardProfile struct {
	ID       string           `json:"-"`
	Version  int64            `json:"-"`
	Marks    map[string]int64 `json:"marks"`
	Uses     []CardUse        `json:"uses,omitempty"`
	Failures []PaymentEntry   `json:"failures,omitempty"`
	LastAt   int64            `json:"last_at"`
}

// CardUse is one order placed with a card.
type CardUse struct {
	User  string `json:"user"`
	Order string `json:"order"`
	At    int64  `json:"at"`
}

// maxEntries bounds every list of a profile, so that an item stays small
// whatever the traffic.
const (
	maxEntries = 100
	maxSeen    = 20
)

// NewUserProfile returns the empty profile of a new account.
func NewUserProfile(id string) *UserProfile {
	return &UserProfile{ID: id, Marks: map[string]int64{}}
}

// NewCardProfile returns the empty profile of a new card.
func NewCardProfile(id string) *CardProfile {
	return &CardProfile{ID: id, Marks: map[string]int64{}}
}

// Clone returns a deep copy of p.
func (p *UserProfile) Clone() *UserProfile {
	q := *p
	q.Marks = maps.Clone(p.Marks)
	if q.Marks == nil {
		q.Marks = map[string]int64{}
	}
	q.Orders, q.Payments, q.Amounts = slices.Clone(p.Orders), slices.Clone(p.Payments), slices.Clone(p.Amounts)
	q.Cards, q.IPs, q.Devices, q.Places = slices.Clone(p.Cards), slices.Clone(p.IPs), slices.Clone(p.Devices), slices.Clone(p.Places)
	if p.Last != nil {
		l := *p.Last
		q.Last = &l
	}
	return &q
}

// Clone returns a deep copy of p.
func (p *CardProfile) Clone() *CardProfile {
	q := *p
	q.Marks = maps.Clone(p.Marks)
	if q.Marks == nil {
		q.Marks = map[string]int64{}
	}
	q.Uses, q.Failures = slices.Clone(p.Uses), slices.Clone(p.Failures)
	return &q
}

// applied reports whether the record at offset of part is already in the
// profile, and otherwise records it.
func applied(marks map[string]int64, part string, offset int64) bool {
	if m, ok := marks[part]; ok && offset <= m {
		return true
	}
	marks[part] = offset
	return false
}

// prune drops activity older than keep before the latest event, and keeps
// each list under maxEntries.
func (p *UserProfile) prune(keep int64) {
	from := p.LastAt - keep
	p.Orders = pruneBy(p.Orders, func(e OrderEntry) bool { return e.At < from })
	p.Payments = pruneBy(p.Payments, func(e PaymentEntry) bool { return e.At < from })
}

func (p *CardProfile) prune(keep int64) {
	from := p.LastAt - keep
	p.Uses = pruneBy(p.Uses, func(e CardUse) bool { return e.At < from })
	p.Failures = pruneBy(p.Failures, func(e PaymentEntry) bool { return e.At < from })
}

func pruneBy[T any](s []T, old func(T) bool) []T {
	s = slices.DeleteFunc(s, old)
	if len(s) > maxEntries {
		s = slices.Delete(s, 0, len(s)-maxEntries)
	}
	return s
}

// see records that the account used key at t; the least recently used
// value goes when the list is full.
func see(list []Seen, key string, t int64) []Seen {
	if key == "" {
		return list
	}
	for i := range list {
		if list[i].Key == key {
			list[i].N++
			list[i].Last = max(list[i].Last, t)
			return list
		}
	}
	if len(list) >= maxSeen {
		oldest := 0
		for i := range list {
			if list[i].Last < list[oldest].Last {
				oldest = i
			}
		}
		list = slices.Delete(list, oldest, oldest+1)
	}
	return append(list, Seen{Key: key, First: t, Last: t, N: 1})
}

func known(list []Seen, key string) bool {
	return slices.ContainsFunc(list, func(s Seen) bool { return s.Key == key })
}

// hashIP is how IP addresses are kept in profiles: only equality matters.
func hashIP(ip string) string {
	if ip == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("shopstream-fraud-ip\x00" + ip))
	return hex.EncodeToString(sum[:12])
}

// addPlace records an order location; places within near km merge.
func (p *UserProfile) addPlace(lat, lon float64, city, country string, near float64) {
	for i := range p.Places {
		if distanceKM(lat, lon, p.Places[i].Lat, p.Places[i].Lon) <= near {
			p.Places[i].N++
			return
		}
	}
	if len(p.Places) >= maxSeen {
		least := 0
		for i := range p.Places {
			if p.Places[i].N < p.Places[least].N {
				least = i
			}
		}
		p.Places = slices.Delete(p.Places, least, least+1)
	}
	p.Places = append(p.Places, Place{Lat: round4(lat), Lon: round4(lon), City: city, Country: country, N: 1})
}

// nearestPlaceKM is the distance to the closest known place, or +Inf.
func (p *UserProfile) nearestPlaceKM(lat, lon float64) float64 {
	best := math.Inf(1)
	for _, pl := range p.Places {
		best = min(best, distanceKM(lat, lon, pl.Lat, pl.Lon))
	}
	return best
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// distanceKM is the great-circle distance between two points.
func distanceKM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(min(1, a)))
}
