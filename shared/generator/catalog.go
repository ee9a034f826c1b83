package generator

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/shopstream/shopstream/shared/event"
)

type category struct {
	name     string
	minPrice int // cents
	maxPrice int
	words    []string
}

var categories = []category{
	{"electronics", 999, 149900, []string{"headphones", "charger", "laptop", "monitor", "speaker", "camera", "keyboard", "mouse"}},
	{"books", 499, 5999, []string{"novel", "cookbook", "biography", "atlas", "poetry", "thriller", "guide"}},
	{"home", 799, 39999, []string{"lamp", "rug", "pillow", "kettle", "blender", "curtains", "mirror"}},
	{"toys", 499, 12999, []string{"puzzle", "lego", "doll", "drone", "board game", "plush", "train set"}},
	{"clothing", 999, 24999, []string{"jacket", "sneakers", "jeans", "t-shirt", "dress", "scarf", "hoodie"}},
	{"beauty", 399, 14999, []string{"serum", "lipstick", "shampoo", "perfume", "moisturizer", "mascara"}},
	{"sports", 699, 89999, []string{"yoga mat", "dumbbells", "bike helmet", "running shoes", "tent", "racket"}},
	{"grocery", 199, 4999, []string{"coffee", "olive oil", "tea", "chocolate", "pasta", "honey", "granola"}},
	{"garden", 599, 59999, []string{"hose", "planter", "seeds", "grill", "shears", "lawn mower"}},
	{"automotive", 899, 49999, []string{"dash cam", "wipers", "car charger", "seat cover", "tire gauge"}},
	{"jewelry", 1999, 299900, []string{"ring", "necklace", "earrings", "bracelet", "watch"}},
	{"music", 999, 199900, []string{"guitar", "vinyl", "ukulele", "keyboard stand", "microphone", "strings"}},
}

// Categories returns the names of the catalogue's categories.
func Categories() []string {
	out := make([]string, len(categories))
	for i, c := range categories {
		out[i] = c.name
	}
	return out
}

type city struct {
	name     string
	country  string
	lat, lon float64
	weight   int // share of users living there
}

var cities = []city{
	{"New York", "US", 40.7128, -74.0060, 14}, {"Los Angeles", "US", 34.0522, -118.2437, 10},
	{"Chicago", "US", 41.8781, -87.6298, 8}, {"Houston", "US", 29.7604, -95.3698, 6},
	{"Phoenix", "US", 33.4484, -112.0740, 4}, {"Seattle", "US", 47.6062, -122.3321, 5},
	{"Miami", "US", 25.7617, -80.1918, 5}, {"Boston", "US", 42.3601, -71.0589, 5},
	{"Denver", "US", 39.7392, -104.9903, 4}, {"Atlanta", "US", 33.7490, -84.3880, 5},
	{"Toronto", "CA", 43.6532, -79.3832, 5}, {"Vancouver", "CA", 49.2827, -123.1207, 3},
	{"Mexico City", "MX", 19.4326, -99.1332, 3}, {"London", "GB", 51.5074, -0.1278, 5},
	{"Berlin", "DE", 52.5200, 13.4050, 3}, {"Paris", "FR", 48.8566, 2.3522, 3},
	{"Madrid", "ES", 40.4168, -3.7038, 2}, {"Amsterdam", "NL", 52.3676, 4.9041, 2},
	{"Tokyo", "JP", 35.6762, 139.6503, 2}, {"Sydney", "AU", -33.8688, 151.2093, 2},
	{"São Paulo", "BR", -23.5505, -46.6333, 2}, {"Lagos", "NG", 6.5244, 3.3792, 1},
	{"Mumbai", "IN", 19.0760, 72.8777, 1}, {"Singapore", "SG", 1.3521, 103.8198, 1},
	{"Moscow", "RU", 55.7558, 37.6173, 1}, {"Jakarta", "ID", -6.2088, 106.8456, 1},
}

// distanceKM is the great-circle distance between two points.
func distanceKM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

type product struct {
	idx        int
	id         string
	category   int
	name       string
	price      event.Money
	warehouse  string
	companions []int // products often bought together with this one

	onHand, reserved int
	target, reorder  int
	restockPending   bool
}

func (p *product) available() int { return p.onHand - p.reserved }

type user struct {
	idx      int
	id       string
	city     int
	device   string
	ip       string
	cards    []string
	interest int // favourite category
	method   string

	orders  int
	amounts []event.Money // recent order totals, newest last
	lastAt  int64
}

// catalog is the generated world: products, users and lookup tables.
type catalog struct {
	products   []*product
	byCategory [][]int // product indices per category, most popular first
	popular    []int   // product indices, most popular first
	cheap      []int   // products under 15.00, for card testing
	users      []*user
	cityPick   []int // city index repeated by weight
}

func newCatalog(r *rand.Rand, cfg Config) *catalog {
	c := &catalog{byCategory: make([][]int, len(categories))}
	for i := 0; i < cfg.Products; i++ {
		cat := i % len(categories)
		cd := categories[cat]
		// Log-uniform prices between the category's bounds, rounded to .99 or .49.
		lo, hi := math.Log(float64(cd.minPrice)), math.Log(float64(cd.maxPrice))
		cents := int(math.Exp(lo + r.Float64()*(hi-lo)))
		cents = cents/100*100 + []int{99, 49, 95}[r.IntN(3)]
		if cents < cd.minPrice {
			cents = cd.minPrice
		}
		word := cd.words[r.IntN(len(cd.words))]
		p := &product{
			idx:       i,
			id:        "p-" + pad(i, 5),
			category:  cat,
			name:      word,
			price:     event.FromCents(int64(cents)),
			warehouse: "wh-" + pad(1+r.IntN(cfg.Warehouses), 2),
		}
		c.products = append(c.products, p)
		if cents <= 1500 {
			c.cheap = append(c.cheap, i)
		}
	}
	// Popularity: a random permutation; rank 0 is the most popular.
	c.popular = r.Perm(cfg.Products)
	for _, pi := range c.popular {
		p := c.products[pi]
		c.byCategory[p.category] = append(c.byCategory[p.category], pi)
	}
	rank := make([]int, cfg.Products)
	for rk, pi := range c.popular {
		rank[pi] = rk
	}
	for _, p := range c.products {
		// Popular products keep more stock.
		rk := float64(rank[p.idx]) / float64(cfg.Products)
		p.target = 15 + int(250*math.Pow(1-rk, 2)) + r.IntN(20)
		p.reorder = p.target / 2
		// Companions: two from the same category, one from another.
		same := c.byCategory[p.category]
		for len(p.companions) < 2 && len(same) > 2 {
			q := same[r.IntN(len(same))]
			if q != p.idx && !contains(p.companions, q) {
				p.companions = append(p.companions, q)
			}
		}
		other := (p.category + 1 + r.IntN(len(categories)-1)) % len(categories)
		if l := c.byCategory[other]; len(l) > 0 {
			p.companions = append(p.companions, l[r.IntN(min(len(l), 10))])
		}
	}
	for i, ct := range cities {
		for range ct.weight {
			c.cityPick = append(c.cityPick, i)
		}
	}
	for i := 0; i < cfg.Users; i++ {
		c.users = append(c.users, c.newUser(r, i, "u-"+pad(i, 6)))
	}
	return c
}

var devices = []string{"desktop", "desktop", "mobile", "mobile", "mobile", "tablet", "app", "app"}
var methods = []string{"card", "card", "card", "card", "paypal", "apple_pay", "google_pay", "gift_card"}

func (c *catalog) newUser(r *rand.Rand, idx int, id string) *user {
	u := &user{
		idx:      idx,
		id:       id,
		city:     c.cityPick[r.IntN(len(c.cityPick))],
		device:   devices[r.IntN(len(devices))],
		ip:       randomIP(r),
		interest: r.IntN(len(categories)),
		method:   methods[r.IntN(len(methods))],
	}
	u.cards = []string{fingerprint(r)}
	if r.IntN(4) == 0 {
		u.cards = append(u.cards, fingerprint(r))
	}
	return u
}

func fingerprint(r *rand.Rand) string {
	const hexd = "0123456789abcdef"
	b := []byte("fp_0000000000000000")
	for i := 3; i < len(b); i++ {
		b[i] = hexd[r.IntN(16)]
	}
	return string(b)
}

func randomIP(r *rand.Rand) string {
	// Public unicast space, avoiding the private and reserved first octets.
	for {
		a := 1 + r.IntN(223)
		switch a {
		case 10, 100, 127, 169, 172, 192, 198, 203:
			continue
		}
		return strconv.Itoa(a) + "." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(1+r.IntN(254))
	}
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
