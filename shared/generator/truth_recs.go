package generator

import (
	"cmp"
	"slices"

	"github.com/shopstream/shopstream/shared/event"
)

// Caps the recommendations truth counts with: the first RecsSessionProducts
// distinct products viewed in a session make co-view pairs, the first
// RecsOrderProducts distinct products of an order make co-purchase pairs.
// They are the recommendations function's defaults.
const (
	RecsSessionProducts = 20
	RecsOrderProducts   = 20
)

// RecsAllCategories is the popularity key that counts every product.
const RecsAllCategories = "_all"

// RecsTruth is what the recommendations function counts, exactly, by hour
// of event time (milliseconds since the Unix epoch / 3,600,000):
//   - co-views: in each session (events with a session_id), when a product
//     is viewed (product_view) for the first time and the session has viewed
//     fewer than RecsSessionProducts distinct products, it is paired with
//     every product viewed before, both ways, in the hour of that view;
//   - co-purchases: every order_created pairs its distinct products (the
//     first RecsOrderProducts in item order), both ways;
//   - popularity: views and purchases (one per order line) per product, in
//     the category the event names and in RecsAllCategories.
//
// Every list is sorted.
type RecsTruth struct {
	Pairs   []RecPair       `json:"pairs"`
	Popular []RecPopularity `json:"popular"`
	// Categories is the category of every product that has pairs, as the
	// first pair's event named it ("" when none did).
	Categories map[string]string `json:"categories"`
}

// RecCount is what one hour holds: co-views and co-purchases of a pair, or
// views and purchases of a product.
type RecCount struct {
	Hour      int64 `json:"hour"`
	Views     int64 `json:"views"`
	Purchases int64 `json:"purchases"`
}

// RecPair counts how often RelatedID was viewed in the same session as, or
// bought in the same order as, ProductID.
type RecPair struct {
	ProductID string     `json:"product_id"`
	RelatedID string     `json:"related_id"`
	Counts    []RecCount `json:"counts"`
}

// RecPopularity counts a product's views and purchases in a category.
type RecPopularity struct {
	Category  string     `json:"category"`
	ProductID string     `json:"product_id"`
	Counts    []RecCount `json:"counts"`
}

type recsKey struct{ a, b string }

type recsBuilder struct {
	sessions map[string][]string // session -> distinct products viewed, at most the cap
	pairs    map[recsKey]map[int64]*RecCount
	popular  map[recsKey]map[int64]*RecCount
	cats     map[string]string
	viewCats map[recsKey]string // (session, product) -> category its view named
	dirty    bool
	built    RecsTruth
}

func (r *recsBuilder) count(m map[recsKey]map[int64]*RecCount, k recsKey, hour int64, views, buys int64) {
	hs := m[k]
	if hs == nil {
		hs = map[int64]*RecCount{}
		m[k] = hs
	}
	c := hs[hour]
	if c == nil {
		c = &RecCount{Hour: hour}
		hs[hour] = c
	}
	c.Views += views
	c.Purchases += buys
}

func (r *recsBuilder) pair(x, y, xCategory string, hour, views, buys int64) {
	r.count(r.pairs, recsKey{x, y}, hour, views, buys)
	if _, ok := r.cats[x]; !ok || r.cats[x] == "" {
		r.cats[x] = xCategory
	}
}

func (r *recsBuilder) popularity(category, product string, hour, views, buys int64) {
	if category != "" && category != RecsAllCategories {
		r.count(r.popular, recsKey{category, product}, hour, views, buys)
	}
	r.count(r.popular, recsKey{RecsAllCategories, product}, hour, views, buys)
}

func recsHour(e event.Event) int64 {
	ms := e.Meta().OccurredAt.UnixMilli()
	if ms < 0 {
		return (ms - 3_599_999) / 3_600_000
	}
	return ms / 3_600_000
}

// observe counts what a reader recovers from one good record.
func (r *recsBuilder) observe(e event.Event) {
	if r.pairs == nil {
		r.sessions, r.cats, r.viewCats = map[string][]string{}, map[string]string{}, map[recsKey]string{}
		r.pairs, r.popular = map[recsKey]map[int64]*RecCount{}, map[recsKey]map[int64]*RecCount{}
	}
	switch e := e.(type) {
	case *event.ProductView:
		r.dirty = true
		hour := recsHour(e)
		r.popularity(e.Category, e.ProductID, hour, 1, 0)
		if e.SessionID == "" {
			return
		}
		seen := r.sessions[e.SessionID]
		if slices.Contains(seen, e.ProductID) || len(seen) >= RecsSessionProducts {
			return
		}
		for _, y := range seen {
			r.pair(e.ProductID, y, e.Category, hour, 1, 0)
			r.pair(y, e.ProductID, r.sessionCategory(y, e.SessionID), hour, 1, 0)
		}
		r.sessions[e.SessionID] = append(seen, e.ProductID)
		r.sessionCats(e.SessionID, e.ProductID, e.Category)
	case *event.OrderCreated:
		r.dirty = true
		hour := recsHour(e)
		var ids, cats []string
		for _, it := range e.Items {
			if len(ids) >= RecsOrderProducts {
				break
			}
			if it.ProductID == "" || slices.Contains(ids, it.ProductID) {
				continue
			}
			ids, cats = append(ids, it.ProductID), append(cats, it.Category)
		}
		for i, x := range ids {
			r.popularity(cats[i], x, hour, 0, 1)
			for _, y := range ids {
				if y != x {
					r.pair(x, y, cats[i], hour, 0, 1)
				}
			}
		}
	}
}

// sessionCats remembers the category a session's view of a product named.
func (r *recsBuilder) sessionCats(session, product, category string) {
	r.viewCats[recsKey{session, product}] = category
}

func (r *recsBuilder) sessionCategory(product, session string) string {
	return r.viewCats[recsKey{session, product}]
}

func (r *recsBuilder) build() RecsTruth {
	if !r.dirty {
		return r.built
	}
	out := RecsTruth{Pairs: []RecPair{}, Popular: []RecPopularity{}, Categories: map[string]string{}}
	counts := func(hs map[int64]*RecCount) []RecCount {
		cs := make([]RecCount, 0, len(hs))
		for _, c := range hs {
			cs = append(cs, *c)
		}
		slices.SortFunc(cs, func(a, b RecCount) int { return cmp.Compare(a.Hour, b.Hour) })
		return cs
	}
	for k, hs := range r.pairs {
		out.Pairs = append(out.Pairs, RecPair{ProductID: k.a, RelatedID: k.b, Counts: counts(hs)})
		out.Categories[k.a] = r.cats[k.a]
	}
	slices.SortFunc(out.Pairs, func(a, b RecPair) int {
		return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.RelatedID, b.RelatedID))
	})
	for k, hs := range r.popular {
		out.Popular = append(out.Popular, RecPopularity{Category: k.a, ProductID: k.b, Counts: counts(hs)})
	}
	slices.SortFunc(out.Popular, func(a, b RecPopularity) int {
		return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.ProductID, b.ProductID))
	})
	r.built, r.dirty = out, false
	return out
}
