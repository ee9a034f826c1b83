package recommendations

import (
	"cmp"
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
	"time"
)

// BucketMillis is the width of a count bucket: one hour of event time.
// Counts are kept per bucket, as integers, so that the decayed scores are a
// function of the counts alone, whatever the order and the batches the
// events arrived in.
const BucketMillis = int64(time.Hour / time.Millisecond)

// BucketOf returns the bucket of an event time in milliseconds since the
// Unix epoch.
func BucketOf(ms int64) int64 {
	if ms < 0 {
		return (ms - BucketMillis + 1) / BucketMillis
	}
	return ms / BucketMillis
}

// Count is what one bucket of event time holds for one entry: co-views and
// co-purchases for a related product, views and purchases for a popular one.
type Count struct {
	Bucket      int64
	Views, Buys int64
}

// Policy is how counts become rankings.
type Policy struct {
	// TopN is how many related (or popular) products an item keeps ranked.
	// Default 10.
	TopN int
	// HalfLife is the decay: a count weighs half as much as one HalfLife of
	// event time newer. Default 7 days.
	HalfLife time.Duration
	// PurchaseWeight is what one co-purchase weighs against one co-view.
	// Default 5.
	PurchaseWeight int64
	// Horizon is how many half-lives of event time behind an item's newest
	// bucket a bucket is kept (weighing less than 2^-Horizon). Default 20.
	Horizon int
	// MaxEntries bounds the entries (related products) an item keeps; past
	// it, or past MaxEntriesBytes of counts, the lowest-scored are dropped.
	// Default 2000.
	MaxEntries int
}

// DefaultPolicy is the policy the deployed function runs with.
var DefaultPolicy = Policy{TopN: 10, HalfLife: 7 * 24 * time.Hour, PurchaseWeight: 5, Horizon: 20, MaxEntries: 2000}

func (p Policy) withDefaults() Policy {
	d := DefaultPolicy
	if p.TopN > 0 {
		d.TopN = p.TopN
	}
	if p.HalfLife > 0 {
		d.HalfLife = p.HalfLife
	}
	if p.PurchaseWeight > 0 {
		d.PurchaseWeight = p.PurchaseWeight
	}
	if p.Horizon > 0 {
		d.Horizon = p.Horizon
	}
	if p.MaxEntries > 0 {
		d.MaxEntries = p.MaxEntries
	}
	return d
}

// halfLifeBuckets is the half-life in buckets.
func (p Policy) halfLifeBuckets() float64 {
	return float64(p.HalfLife) / float64(time.Duration(BucketMillis)*time.Millisecond)
}

// horizonBuckets is how many buckets behind the newest one are kept.
func (p Policy) horizonBuckets() int64 {
	return int64(math.Ceil(float64(p.Horizon) * p.halfLifeBuckets()))
}

// Score is the decayed weight of counts as of bucket ref:
// the sum over buckets b of (views + w·buys) · 2^((b − ref)/halfLife).
// Buckets are summed in ascending order and every product is rounded to
// float64 before it is added, so equal counts give bit-identical scores on
// every platform.
func Score(counts []Count, ref int64, p Policy) float64 {
	hl := p.halfLifeBuckets()
	var s float64
	for _, c := range counts {
		w := float64(c.Views + p.PurchaseWeight*c.Buys)
		f := math.Exp2(float64(c.Bucket-ref) / hl)
		s += float64(w * f)
	}
	return s
}

// Scored is one ranked entry: a related or popular product.
type Scored struct {
	ID string `json:"product_id"`
	// Score is the decayed weight as of the item's newest bucket.
	Score float64 `json:"score"`
	// Views and Buys are the undecayed totals within the horizon: co-views
	// and co-purchases, or views and purchases.
	Views int64 `json:"views"`
	Buys  int64 `json:"purchases"`
}

// Item is one product's related products, or one category's popular
// products: integer counts per entry and bucket, the offsets of the last
// record of each topic-partition applied to it (Marks), and its ranking.
type Item struct {
	Key      string
	Version  int64
	Category string
	Marks    map[string]int64
	Entries  map[string][]Count // by entry id, buckets ascending
	Top      []Scored
}

// NewItem returns an empty item.
func NewItem(key string) *Item {
	return &Item{Key: key, Marks: map[string]int64{}, Entries: map[string][]Count{}}
}

// Clone returns a deep copy of it.
func (it *Item) Clone() *Item {
	c := &Item{Key: it.Key, Version: it.Version, Category: it.Category,
		Marks: maps.Clone(it.Marks), Entries: make(map[string][]Count, len(it.Entries)), Top: slices.Clone(it.Top)}
	if c.Marks == nil {
		c.Marks = map[string]int64{}
	}
	for k, v := range it.Entries {
		c.Entries[k] = slices.Clone(v)
	}
	return c
}

// Newest returns the item's newest bucket, 0 for an empty item.
func (it *Item) Newest() int64 {
	var n int64
	first := true
	for _, cs := range it.Entries {
		if len(cs) > 0 && (first || cs[len(cs)-1].Bucket > n) {
			n, first = cs[len(cs)-1].Bucket, false
		}
	}
	return n
}

// Contribution is one record's effect on one item: counts to add to one
// entry in one bucket.
type Contribution struct {
	Key      string // the item: a product id or a category
	Entry    string // the related or popular product
	Bucket   int64
	Views    int64
	Buys     int64
	Category string // the item's product category, when the record names it
	Part     string // the record's "topic-partition"
	Offset   int64
	Msg      int // the record's index in its batch
}

// Fold adds to it the contributions it has not applied yet (those of a
// topic-partition above its mark), advances the marks, drops buckets past
// the horizon, and ranks the entries. It returns the number of contributions
// applied: 0 means the item is unchanged.
//
// The contributions of one topic-partition must come in offset order, and
// all of one batch's contributions of a topic-partition to the item must be
// folded together: the mark then says exactly which contributions the item
// holds.
func Fold(it *Item, cs []Contribution, p Policy) int {
	p = p.withDefaults()
	applied := 0
	marks := map[string]int64{}
	for _, c := range cs {
		if m, ok := it.Marks[c.Part]; ok && c.Offset <= m {
			continue
		}
		applied++
		if m, ok := marks[c.Part]; !ok || c.Offset > m {
			marks[c.Part] = c.Offset
		}
		if it.Category == "" && c.Category != "" {
			it.Category = c.Category
		}
		it.Entries[c.Entry] = addCount(it.Entries[c.Entry], Count{Bucket: c.Bucket, Views: c.Views, Buys: c.Buys})
	}
	if applied == 0 {
		return 0
	}
	for part, off := range marks {
		it.Marks[part] = off
	}
	prune(it, p)
	it.Top = Rank(it, p, p.TopN)
	return applied
}

func addCount(cs []Count, c Count) []Count {
	i, found := slices.BinarySearchFunc(cs, c.Bucket, func(x Count, b int64) int { return cmp.Compare(x.Bucket, b) })
	if found {
		cs[i].Views += c.Views
		cs[i].Buys += c.Buys
		return cs
	}
	return slices.Insert(cs, i, c)
}

// prune drops the buckets more than the horizon behind the item's newest
// bucket, the entries left empty, and, past MaxEntries, the lowest-ranked
// entries. The horizon rule gives the same final state in any order of
// delivery: the newest bucket only grows, and a bucket is kept exactly when
// it is within the horizon of the final newest one.
func prune(it *Item, p Policy) {
	floor := it.Newest() - p.horizonBuckets()
	for id, cs := range it.Entries {
		i := 0
		for i < len(cs) && cs[i].Bucket <= floor {
			i++
		}
		if i == len(cs) {
			delete(it.Entries, id)
		} else if i > 0 {
			it.Entries[id] = slices.Clone(cs[i:])
		}
	}
	if len(it.Entries) > p.MaxEntries {
		for _, s := range Rank(it, p, 0)[p.MaxEntries:] {
			delete(it.Entries, s.ID)
		}
	}
	// An item must stay under DynamoDB's 400 KB: past MaxEntriesBytes of
	// counts, the lowest-ranked entries go.
	size := 0
	for id, cs := range it.Entries {
		size += entrySize(id, cs)
	}
	if size > MaxEntriesBytes {
		ranked := Rank(it, p, 0)
		for i := len(ranked) - 1; i >= 0 && size > MaxEntriesBytes; i-- {
			id := ranked[i].ID
			size -= entrySize(id, it.Entries[id])
			delete(it.Entries, id)
		}
	}
}

// MaxEntriesBytes bounds the encoded counts of one item, leaving room for
// its ranking and marks under DynamoDB's 400 KB item size.
const MaxEntriesBytes = 300 << 10

// entrySize is an upper bound of the bytes encodeEntries writes for an
// entry.
func entrySize(id string, cs []Count) int {
	n := binary.MaxVarintLen64*2 + len(id)
	for _, c := range cs {
		n += varintLen(c.Bucket) + varintLen(c.Views) + varintLen(c.Buys)
	}
	return n
}

func varintLen(v int64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutVarint(b[:], v)
}

// Rank returns the item's entries by score, highest first, ties by id; the
// first n of them, or all for n <= 0.
func Rank(it *Item, p Policy, n int) []Scored {
	p = p.withDefaults()
	ref := it.Newest()
	out := make([]Scored, 0, len(it.Entries))
	for id, cs := range it.Entries {
		s := Scored{ID: id, Score: Score(cs, ref, p)}
		for _, c := range cs {
			s.Views += c.Views
			s.Buys += c.Buys
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// encodeEntries writes a format version, then each entry in id order: its
// id, its number of buckets, and per bucket the difference from the
// previous bucket (the first absolute), views and buys, as varints.
func encodeEntries(es map[string][]Count) []byte {
	ids := slices.Sorted(maps.Keys(es))
	b := make([]byte, 0, 16*len(ids))
	b = binary.AppendUvarint(b, 1)
	for _, id := range ids {
		cs := es[id]
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.AppendUvarint(b, uint64(len(cs)))
		var prev int64
		for _, c := range cs {
			b = binary.AppendVarint(b, c.Bucket-prev)
			b = binary.AppendVarint(b, c.Views)
			b = binary.AppendVarint(b, c.Buys)
			prev = c.Bucket
		}
	}
	return b
}

var errEntries = errors.New("entries: malformed")

// decodeEntries reads what encodeEntries wrote. Buckets must ascend.
func decodeEntries(b []byte) (map[string][]Count, error) {
	out := map[string][]Count{}
	if len(b) == 0 {
		return out, nil
	}
	bad := false
	uv := func() uint64 {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			bad = true
			return 0
		}
		b = b[k:]
		return v
	}
	sv := func() int64 {
		v, k := binary.Varint(b)
		if k <= 0 {
			bad = true
			return 0
		}
		b = b[k:]
		return v
	}
	if uv() != 1 || bad {
		return nil, errors.New("entries: unknown format")
	}
	for len(b) > 0 {
		l := uv()
		if bad || l > uint64(len(b)) {
			return nil, errEntries
		}
		id := string(b[:l])
		b = b[l:]
		n := uv()
		if bad || n == 0 || n > uint64(len(b)) {
			return nil, errEntries
		}
		if _, dup := out[id]; dup {
			return nil, errEntries
		}
		cs := make([]Count, 0, n)
		var prev int64
		for i := range n {
			d, v, y := sv(), sv(), sv()
			if bad || (i > 0 && d <= 0) {
				return nil, errEntries
			}
			prev += d
			cs = append(cs, Count{Bucket: prev, Views: v, Buys: y})
		}
		out[id] = cs
	}
	return out, nil
}
