package analytics

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
)

// A window row keeps its distinct users as one value, a user set: the user
// ids sorted (byte order) and front-coded, a version byte then, for each id,
// the length of the prefix it shares with the one before and the length of
// the rest, each a uvarint, and the rest (ids such as u-000123 take 3 or 4
// bytes). A minute of a category keeps its products, and a minute its
// search texts, as parallel arrays sorted by id or text. A batch merges its
// own sorted sets into them in one pass.

// userSetVersion starts a front-coded user set. A set migrated from the
// user id arrays of earlier versions holds the ids one per line instead
// (an id starts with a letter or digit); it reads as well.
const userSetVersion = 0x01

// EncodeUsers returns the user set of users, which are sorted and distinct.
func EncodeUsers(users []string) []byte {
	var w setWriter
	w.out = make([]byte, 0, 1+len(users)*4)
	for _, u := range users {
		w.add(u)
	}
	return w.bytes()
}

// DecodeUsers returns the ids of a user set.
func DecodeUsers(set []byte) []string {
	var out []string
	for r := newSetReader(set); r.next(); {
		out = append(out, string(r.cur))
	}
	return out
}

// MergeUsers merges the sorted, distinct users add into the user set
// stored and returns the new set and its size. A stored set out of order,
// or with an id twice, is read as a set all the same.
func MergeUsers(stored []byte, add []string) ([]byte, int) {
	var w setWriter
	w.out = make([]byte, 0, len(stored)+len(add)*4+1)
	j := 0
	r := newSetReader(stored)
	var prev []byte
	first := true
	for r.next() {
		if !first && string(r.cur) <= string(prev) {
			return mergeUnsorted(stored, add)
		}
		prev, first = append(prev[:0], r.cur...), false
		inserted := false
		for j < len(add) && add[j] < string(r.cur) {
			w.add(add[j])
			j++
			inserted = true
		}
		if j < len(add) && add[j] == string(r.cur) {
			j++
		}
		if !inserted && !r.lines && w.n > 0 {
			// Coded against the id before it, which is unchanged.
			w.out = append(w.out, r.raw...)
			w.prev = append(w.prev[:0], r.cur...)
			w.n++
			continue
		}
		w.addBytes(r.cur)
	}
	for _, u := range add[j:] {
		w.add(u)
	}
	return w.bytes(), w.n
}

func mergeUnsorted(stored []byte, add []string) ([]byte, int) {
	all := append(DecodeUsers(stored), add...)
	slices.Sort(all)
	all = slices.Compact(all)
	return EncodeUsers(all), len(all)
}

// setWriter front-codes sorted ids.
type setWriter struct {
	out  []byte
	prev []byte
	n    int
}

func (w *setWriter) add(id string) {
	if w.n == 0 {
		w.out = append(w.out, userSetVersion)
	}
	shared := 0
	for shared < len(id) && shared < len(w.prev) && id[shared] == w.prev[shared] {
		shared++
	}
	w.out = binary.AppendUvarint(w.out, uint64(shared))
	w.out = binary.AppendUvarint(w.out, uint64(len(id)-shared))
	w.out = append(w.out, id[shared:]...)
	w.prev = append(w.prev[:0], id...)
	w.n++
}

func (w *setWriter) addBytes(id []byte) {
	if w.n == 0 {
		w.out = append(w.out, userSetVersion)
	}
	shared := 0
	for shared < len(id) && shared < len(w.prev) && id[shared] == w.prev[shared] {
		shared++
	}
	w.out = binary.AppendUvarint(w.out, uint64(shared))
	w.out = binary.AppendUvarint(w.out, uint64(len(id)-shared))
	w.out = append(w.out, id[shared:]...)
	w.prev = append(w.prev[:0], id...)
	w.n++
}

func (w *setWriter) bytes() []byte {
	if w.n == 0 {
		return []byte{}
	}
	return w.out
}

// setReader reads the ids of a user set, front-coded or one per line; cur
// is the current id and raw its coding, valid until the next call of next.
type setReader struct {
	data  []byte
	cur   []byte
	raw   []byte
	lines bool
}

func newSetReader(set []byte) *setReader {
	if len(set) > 0 && set[0] == userSetVersion {
		return &setReader{data: set[1:]}
	}
	return &setReader{data: set, lines: true}
}

func (r *setReader) next() bool {
	if len(r.data) == 0 {
		return false
	}
	if r.lines {
		i := bytes.IndexByte(r.data, '\n')
		if i < 0 {
			r.cur, r.data = r.data, nil
		} else {
			r.cur, r.data = r.data[:i], r.data[i+1:]
		}
		if len(r.cur) == 0 {
			return r.next()
		}
		return true
	}
	shared, k := binary.Uvarint(r.data)
	if k <= 0 || shared > uint64(len(r.cur)) {
		r.data = nil
		return false
	}
	rest, m := binary.Uvarint(r.data[k:])
	if m <= 0 || rest > uint64(len(r.data)-k-m) {
		r.data = nil
		return false
	}
	r.cur = append(r.cur[:shared], r.data[k+m:k+m+int(rest)]...)
	r.raw = r.data[:k+m+int(rest)]
	r.data = r.data[k+m+int(rest):]
	return true
}

// ProductList is the stored products of one minute and category, as
// parallel arrays sorted by id.
type ProductList struct {
	IDs                              []string
	Views, AddToCart, Units, Revenue []int64
}

func (l *ProductList) grow(n int) {
	l.IDs = slices.Grow(l.IDs, n)
	l.Views = slices.Grow(l.Views, n)
	l.AddToCart = slices.Grow(l.AddToCart, n)
	l.Units = slices.Grow(l.Units, n)
	l.Revenue = slices.Grow(l.Revenue, n)
}

// Len returns the number of products.
func (l *ProductList) Len() int { return len(l.IDs) }

func (l *ProductList) add(id string, c ProductCounters) {
	l.IDs = append(l.IDs, id)
	l.Views = append(l.Views, c.Views)
	l.AddToCart = append(l.AddToCart, c.AddToCart)
	l.Units = append(l.Units, c.Units)
	l.Revenue = append(l.Revenue, c.Revenue)
}

func (l *ProductList) at(i int) ProductCounters {
	return ProductCounters{Views: l.Views[i], AddToCart: l.AddToCart[i], Units: l.Units[i], Revenue: l.Revenue[i]}
}

// MergeProducts appends to out the stored products plus add (sorted by id,
// distinct), each product's figures summed. A stored list out of order, or
// with a product twice, is summed all the same.
func MergeProducts(out *ProductList, stored *ProductList, add []ProductDelta) {
	out.grow(stored.Len() + len(add))
	if !increasing(stored.IDs) {
		stored = normalizeProducts(stored)
	}
	j := 0
	for i, id := range stored.IDs {
		for j < len(add) && add[j].ID < id {
			out.add(add[j].ID, add[j].ProductCounters)
			j++
		}
		c := stored.at(i)
		if j < len(add) && add[j].ID == id {
			c.Views += add[j].Views
			c.AddToCart += add[j].AddToCart
			c.Units += add[j].Units
			c.Revenue += add[j].Revenue
			j++
		}
		out.add(id, c)
	}
	for _, p := range add[j:] {
		out.add(p.ID, p.ProductCounters)
	}
}

func normalizeProducts(l *ProductList) *ProductList {
	sum := map[string]ProductCounters{}
	for i, id := range l.IDs {
		c := sum[id]
		c.Views += l.Views[i]
		c.AddToCart += l.AddToCart[i]
		c.Units += l.Units[i]
		c.Revenue += l.Revenue[i]
		sum[id] = c
	}
	out := &ProductList{}
	for _, id := range slices.Sorted(maps.Keys(sum)) {
		out.add(id, sum[id])
	}
	return out
}

// SearchList is the stored search texts of one minute, as parallel arrays
// sorted by text.
type SearchList struct {
	Queries  []string
	Searches []int64
}

// MergeSearches appends to out the stored texts plus add (sorted, distinct),
// each text's searches summed. A stored list out of order, or with a text
// twice, is summed all the same.
func MergeSearches(out *SearchList, stored *SearchList, add []SearchCount) {
	if !increasing(stored.Queries) {
		sum := map[string]int64{}
		for i, q := range stored.Queries {
			sum[q] += stored.Searches[i]
		}
		stored = &SearchList{}
		for _, q := range slices.Sorted(maps.Keys(sum)) {
			stored.Queries = append(stored.Queries, q)
			stored.Searches = append(stored.Searches, sum[q])
		}
	}
	j := 0
	for i, q := range stored.Queries {
		for j < len(add) && add[j].Query < q {
			out.Queries = append(out.Queries, add[j].Query)
			out.Searches = append(out.Searches, add[j].Searches)
			j++
		}
		n := stored.Searches[i]
		if j < len(add) && add[j].Query == q {
			n += add[j].Searches
			j++
		}
		out.Queries = append(out.Queries, q)
		out.Searches = append(out.Searches, n)
	}
	for _, s := range add[j:] {
		out.Queries = append(out.Queries, s.Query)
		out.Searches = append(out.Searches, s.Searches)
	}
}

// increasing says whether ss is sorted without repeats.
func increasing(ss []string) bool {
	for i := 1; i < len(ss); i++ {
		if ss[i] <= ss[i-1] {
			return false
		}
	}
	return true
}
