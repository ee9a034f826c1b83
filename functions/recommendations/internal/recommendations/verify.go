package recommendations

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/shopstream/shopstream/shared/generator"
)

// maxDiffs bounds the differences Compare lists one by one.
const maxDiffs = 50

// Expected returns the related and popular items the truth's counts make
// under p: the same folding, horizon and ranking as the function's, from the
// exact counts. Versions and marks are left empty.
func Expected(truth *generator.Truth, p Policy) (related, popular map[string]*Item) {
	p = p.withDefaults()
	related, popular = map[string]*Item{}, map[string]*Item{}
	get := func(m map[string]*Item, key string) *Item {
		it := m[key]
		if it == nil {
			it = NewItem(key)
			m[key] = it
		}
		return it
	}
	counts := func(rs []generator.RecCount) []Count {
		cs := make([]Count, len(rs))
		for i, r := range rs {
			cs[i] = Count{Bucket: r.Hour, Views: r.Views, Buys: r.Purchases}
		}
		return cs
	}
	for _, pr := range truth.Recs.Pairs {
		it := get(related, pr.ProductID)
		it.Entries[pr.RelatedID] = counts(pr.Counts)
		it.Category = truth.Recs.Categories[pr.ProductID]
	}
	for _, pp := range truth.Recs.Popular {
		get(popular, pp.Category).Entries[pp.ProductID] = counts(pp.Counts)
	}
	for _, m := range []map[string]*Item{related, popular} {
		for _, it := range m {
			prune(it, p)
			it.Top = Rank(it, p, p.TopN)
		}
	}
	return related, popular
}

// Compare compares every related and popular item in d with what the
// truth's counts make under p (counts per bucket, categories and rankings,
// scores bit for bit) and returns the differences; none means the final
// state is exactly the truth's.
func Compare(ctx context.Context, d *DynamoDB, truth *generator.Truth, p Policy) []string {
	var diffs []string
	more := 0
	add := func(format string, args ...any) {
		if len(diffs) < maxDiffs {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	wantRelated, wantPopular := Expected(truth, p)
	if len(wantRelated) == 0 || len(wantPopular) == 0 {
		add("recommendations: the truth has %d products with pairs and %d popularity rankings: nothing to compare",
			len(wantRelated), len(wantPopular))
	}
	for _, k := range []Kind{Related, Popular} {
		want := wantRelated
		if k == Popular {
			want = wantPopular
		}
		items, err := d.AllItems(ctx, k)
		if err != nil {
			return []string{fmt.Sprintf("recommendations: read %s items: %v", k, err)}
		}
		got := make(map[string]*Item, len(items))
		for _, it := range items {
			got[it.Key] = it
		}
		for _, key := range slices.Sorted(maps.Keys(want)) {
			w, g := want[key], got[key]
			delete(got, key)
			if g == nil {
				add("recommendations: %s item %s missing, want %d entries", k, key, len(w.Entries))
				continue
			}
			for _, d := range diffItem(w, g) {
				add("recommendations: %s item %s: %s", k, key, d)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(got)) {
			add("recommendations: %s item %s (%d entries) is not in the truth", k, key, len(got[key].Entries))
		}
	}
	if more > 0 {
		diffs = append(diffs, fmt.Sprintf("recommendations: and %d more differences", more))
	}
	return diffs
}

// diffItem lists how got differs from want: entries, counts per bucket,
// category, ranking.
func diffItem(want, got *Item) []string {
	var out []string
	if want.Category != got.Category {
		out = append(out, fmt.Sprintf("category %q, want %q", got.Category, want.Category))
	}
	for _, id := range slices.Sorted(maps.Keys(want.Entries)) {
		g, ok := got.Entries[id]
		if !ok {
			out = append(out, fmt.Sprintf("entry %s missing, want %v", id, want.Entries[id]))
		} else if !slices.Equal(g, want.Entries[id]) {
			out = append(out, fmt.Sprintf("entry %s counts %v, want %v", id, g, want.Entries[id]))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(got.Entries)) {
		if _, ok := want.Entries[id]; !ok {
			out = append(out, fmt.Sprintf("entry %s (%v) is not in the truth", id, got.Entries[id]))
		}
	}
	if !slices.Equal(got.Top, want.Top) {
		out = append(out, fmt.Sprintf("ranking %v, want %v", got.Top, want.Top))
	}
	return out
}
