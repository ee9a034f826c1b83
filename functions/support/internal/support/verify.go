package support

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shopstream/shopstream/shared/generator"
)

// maxDiffs bounds the differences Compare lists one by one.
const maxDiffs = 50

// Compare compares the rating aggregates and the cases in d with the truth
// and returns the differences; none means the final state is exactly the
// truth's.
func Compare(ctx context.Context, d *DynamoDB, truth *generator.Truth) []string {
	ratings, err := d.AllRatings(ctx)
	if err != nil {
		return []string{fmt.Sprintf("support: read ratings: %v", err)}
	}
	cases, err := d.AllCases(ctx)
	if err != nil {
		return []string{fmt.Sprintf("support: read cases: %v", err)}
	}
	return CompareState(ratings, cases, &truth.Support)
}

// CompareState compares rating aggregates and cases with the truth.
func CompareState(ratings map[RatingKey]Ratings, cases []*Case, truth *generator.SupportTruth) []string {
	var diffs []string
	more := 0
	add := func(format string, args ...any) {
		if len(diffs) < maxDiffs {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	got := maps.Clone(ratings)
	for _, w := range truth.Ratings {
		k := RatingKey{Scope: w.Scope, Key: w.Key, Hour: w.Hour.Unix()}
		r, ok := got[k]
		delete(got, k)
		want := Ratings{Count: w.Count, Sum: w.Sum, Dist: w.Dist}
		switch {
		case !ok:
			add("support: ratings %s missing, want %+v", name(k), want)
		case r != want:
			add("support: ratings %s are %+v, want %+v", name(k), r, want)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(got), compareKeys) {
		add("support: ratings %s (%+v) are not in the truth", name(k), got[k])
	}

	byID := map[string]*Case{}
	orderless := map[string][]*Case{}
	for _, c := range cases {
		if c.OrderID != "" {
			byID[c.OrderID] = c
		} else {
			k := c.UserID + "@" + c.OpenedAt.UTC().Format(time.RFC3339Nano)
			orderless[k] = append(orderless[k], c)
		}
	}
	for _, w := range truth.Cases {
		var c *Case
		if w.OrderID != "" {
			c = byID[w.OrderID]
			delete(byID, w.OrderID)
		} else {
			k := w.UserID + "@" + w.OpenedAt.UTC().Format(time.RFC3339Nano)
			if l := orderless[k]; len(l) > 0 {
				c, orderless[k] = l[0], l[1:]
			}
		}
		what := "case of order " + w.OrderID
		if w.OrderID == "" {
			what = fmt.Sprintf("case of %s's feedback at %s", w.UserID, w.OpenedAt.Format(time.RFC3339))
		}
		if c == nil {
			add("support: %s missing, want %s priority, reasons %v", what, w.Priority, w.Reasons)
			continue
		}
		for _, d := range compareCase(c, &w) {
			add("support: %s: %s", what, d)
		}
	}
	for id, c := range byID {
		add("support: case %s of order %s (%s, %v) is not in the truth", c.ID, id, c.Priority, c.Reasons)
	}
	for _, l := range orderless {
		for _, c := range l {
			add("support: case %s (%s, %v) is not in the truth", c.ID, c.Priority, c.Reasons)
		}
	}
	if more > 0 {
		diffs = append(diffs, fmt.Sprintf("support: and %d more differences", more))
	}
	return diffs
}

func compareCase(c *Case, w *generator.SupportCase) []string {
	var d []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			d = append(d, fmt.Sprintf(format, args...))
		}
	}
	check(c.Status == StatusOpen, "status %q", c.Status)
	check(c.UserID == w.UserID, "user %s, want %s", c.UserID, w.UserID)
	check(c.Priority == w.Priority, "priority %s, want %s", c.Priority, w.Priority)
	check(slices.Equal(c.Reasons, w.Reasons), "reasons %v, want %v", c.Reasons, w.Reasons)
	check(len(c.Feedback) == w.Feedback, "%d feedback, want %d", len(c.Feedback), w.Feedback)
	check(c.LowestRating == w.LowestRating, "lowest rating %d, want %d", c.LowestRating, w.LowestRating)
	check(c.OpenedAt.Equal(w.OpenedAt), "opened at %s, want %s", c.OpenedAt, w.OpenedAt)
	check((c.AlertID != "") == (w.Priority == PriorityHigh), "alert id %q at priority %s", c.AlertID, w.Priority)
	switch {
	case w.Order == nil && c.Order != nil:
		d = append(d, "has order context, the truth has none")
	case w.Order == nil:
		want := OrderNotSeen
		if w.OrderID == "" {
			want = NoOrderID
		}
		check(c.ContextMissing == want, "context missing %q, want %q", c.ContextMissing, want)
	case c.Order == nil:
		d = append(d, fmt.Sprintf("no order context (%s), want the order's", c.ContextMissing))
	default:
		o := c.Order
		check(o.UserID == w.Order.UserID, "order user %s, want %s", o.UserID, w.Order.UserID)
		check(slices.Equal(o.Lifecycle, w.Order.Lifecycle), "lifecycle %v, want %v", o.Lifecycle, w.Order.Lifecycle)
		check((o.TotalCents == nil) == (w.Order.TotalCents == nil) && (o.TotalCents == nil || *o.TotalCents == *w.Order.TotalCents),
			"total %v, want %v", cents(o.TotalCents), cents(w.Order.TotalCents))
		cats := map[string]string{}
		for p, l := range o.Items {
			cats[p] = l.Category
		}
		check(maps.Equal(cats, w.Order.Categories), "items %v, want %v", cats, w.Order.Categories)
	}
	return d
}

func cents(p *int64) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

func name(k RatingKey) string {
	h := time.Unix(k.Hour, 0).UTC().Format("2006-01-02T15")
	if k.Key == "" {
		return k.Scope + "@" + h
	}
	return k.Scope + " " + k.Key + "@" + h
}

func compareKeys(a, b RatingKey) int {
	return cmp.Or(cmp.Compare(a.Hour, b.Hour), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Key, b.Key))
}
