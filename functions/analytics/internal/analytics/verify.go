package analytics

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopstream/shopstream/shared/generator"
)

// maxDiffs bounds the differences Compare lists per table.
const maxDiffs = 20

// Compare compares every window row (counters and distinct users), every
// product window, every session and the metrics with the truth, and
// reports late events (a generated run has none: its events are late by
// less than a second). It returns the differences, none when equal.
func Compare(ctx context.Context, pool *pgxpool.Pool, truth *generator.Truth) []string {
	var diffs []string
	fail := func(err error) []string { return append(diffs, err.Error()) }

	// Windows.
	type wkey struct {
		secs  int32
		start int64
		cat   string
	}
	want := map[wkey][17]int64{}
	users := map[wkey]int64{}
	for _, u := range truth.Analytics.Users.OneMinute {
		users[wkey{60, u.Start.UnixMilli(), u.Category}] = u.Users
	}
	for _, u := range truth.Analytics.Users.FiveMinute {
		users[wkey{300, u.Start.UnixMilli(), u.Category}] = u.Users
	}
	for secs, ws := range map[int32][]generator.Window{60: truth.Windows.OneMinute, 300: truth.Windows.FiveMinute} {
		for _, w := range ws {
			k := wkey{secs, w.Start.UnixMilli(), w.Category}
			want[k] = [17]int64{w.PageViews, w.ProductViews, w.Clicks, w.Searches, w.AddToCart, w.RemoveFromCart,
				w.Orders, w.Units, w.OrderValue, w.PaidOrders, w.Revenue, w.FailedPayments, w.Shipped, w.Cancellations,
				w.Refunds, w.Refunded, users[k]}
		}
	}
	got := map[wkey][17]int64{}
	rows, err := pool.Query(ctx, `SELECT window_seconds, start_at, category, page_views, product_views, clicks, searches,
add_to_cart, remove_from_cart, orders, units, order_value_cents, paid_orders, revenue_cents, failed_payments,
shipped, cancellations, refunds, refunded_cents, users FROM analytics.windows`)
	if err != nil {
		return fail(fmt.Errorf("read windows: %w", err))
	}
	for rows.Next() {
		var k wkey
		var at time.Time
		var v [17]int64
		dst := []any{&k.secs, &at, &k.cat}
		for i := range v {
			dst = append(dst, &v[i])
		}
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return fail(fmt.Errorf("read windows: %w", err))
		}
		k.start = at.UnixMilli()
		got[k] = v
	}
	if err := rows.Err(); err != nil {
		return fail(fmt.Errorf("read windows: %w", err))
	}
	if len(want) == 0 {
		diffs = append(diffs, "the truth has no windows: nothing to compare")
	}
	diffs = append(diffs, compareMaps("window", want, got, func(k wkey) string {
		return fmt.Sprintf("%ds %s %s", k.secs, time.UnixMilli(k.start).UTC().Format(time.RFC3339), k.cat)
	}, func(v [17]int64) string {
		return fmt.Sprintf("views %d/%d clicks %d searches %d carts %d/%d orders %d units %d value %d paid %d revenue %d failed %d shipped %d cancelled %d refunds %d refunded %d users %d",
			v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16])
	})...)

	// Product windows.
	type pkey struct {
		secs  int32
		start int64
		cat   string
		id    string
	}
	wantP := map[pkey][4]int64{}
	for secs, ps := range map[int32][]generator.ProductWindow{60: truth.Analytics.Products.OneMinute, 300: truth.Analytics.Products.FiveMinute} {
		for _, p := range ps {
			wantP[pkey{secs, p.Start.UnixMilli(), p.Category, p.ProductID}] = [4]int64{p.Views, p.AddToCart, p.Units, p.Revenue}
		}
	}
	gotP := map[pkey][4]int64{}
	rows, err = pool.Query(ctx, `SELECT window_seconds, start_at, category, product_id, views, add_to_cart, units, revenue_cents FROM analytics.product_windows`)
	if err != nil {
		return fail(fmt.Errorf("read product windows: %w", err))
	}
	for rows.Next() {
		var k pkey
		var at time.Time
		var v [4]int64
		if err := rows.Scan(&k.secs, &at, &k.cat, &k.id, &v[0], &v[1], &v[2], &v[3]); err != nil {
			rows.Close()
			return fail(fmt.Errorf("read product windows: %w", err))
		}
		k.start = at.UnixMilli()
		gotP[k] = v
	}
	if err := rows.Err(); err != nil {
		return fail(fmt.Errorf("read product windows: %w", err))
	}
	diffs = append(diffs, compareMaps("product window", wantP, gotP, func(k pkey) string {
		return fmt.Sprintf("%ds %s %s %s", k.secs, time.UnixMilli(k.start).UTC().Format(time.RFC3339), k.cat, k.id)
	}, func(v [4]int64) string {
		return fmt.Sprintf("views %d carts %d units %d revenue %d", v[0], v[1], v[2], v[3])
	})...)

	// Sessions.
	type skey struct {
		user  string
		start int64
	}
	wantS := map[skey][5]int64{}
	for _, s := range truth.Analytics.Sessions {
		wantS[skey{s.UserID, s.Start.UnixMilli()}] = [5]int64{s.End.UnixMilli(), s.Events, s.Pages, s.Orders, s.Revenue}
	}
	gotS := map[skey][5]int64{}
	rows, err = pool.Query(ctx, `SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents FROM analytics.sessions`)
	if err != nil {
		return fail(fmt.Errorf("read sessions: %w", err))
	}
	for rows.Next() {
		var k skey
		var start, end time.Time
		var v [5]int64
		if err := rows.Scan(&k.user, &start, &end, &v[1], &v[2], &v[3], &v[4]); err != nil {
			rows.Close()
			return fail(fmt.Errorf("read sessions: %w", err))
		}
		k.start, v[0] = start.UnixMilli(), end.UnixMilli()
		gotS[k] = v
	}
	if err := rows.Err(); err != nil {
		return fail(fmt.Errorf("read sessions: %w", err))
	}
	diffs = append(diffs, compareMaps("session", wantS, gotS, func(k skey) string {
		return fmt.Sprintf("%s from %s", k.user, time.UnixMilli(k.start).UTC().Format(time.RFC3339Nano))
	}, func(v [5]int64) string {
		return fmt.Sprintf("end %s events %d pages %d orders %d revenue %d", time.UnixMilli(v[0]).UTC().Format(time.RFC3339Nano), v[1], v[2], v[3], v[4])
	})...)

	// Metrics and late events.
	gotM := map[string]int64{}
	rows, err = pool.Query(ctx, `SELECT name, count(*) FROM analytics.metrics GROUP BY name`)
	if err != nil {
		return fail(fmt.Errorf("read metrics: %w", err))
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return fail(fmt.Errorf("read metrics: %w", err))
		}
		gotM[name] = n
	}
	if err := rows.Err(); err != nil {
		return fail(fmt.Errorf("read metrics: %w", err))
	}
	if !maps.Equal(gotM, truth.Metrics) {
		diffs = append(diffs, fmt.Sprintf("metrics by name: got %v, want %v", gotM, truth.Metrics))
	}
	var late int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM analytics.late_events`).Scan(&late); err != nil {
		return fail(fmt.Errorf("read late events: %w", err))
	}
	if late != 0 {
		diffs = append(diffs, fmt.Sprintf("%d late events stored; the generated run has none", late))
	}
	return diffs
}

// compareMaps lists the keys missing from got, unexpected in it, or with
// other values, at most maxDiffs of each table, and a count of the rest.
func compareMaps[K comparable, V comparable](what string, want, got map[K]V, key func(K) string, val func(V) string) []string {
	var out []string
	n := 0
	note := func(s string) {
		n++
		if n <= maxDiffs {
			out = append(out, s)
		}
	}
	keys := func(m map[K]V) []K {
		ks := slices.Collect(maps.Keys(m))
		slices.SortFunc(ks, func(a, b K) int {
			sa, sb := key(a), key(b)
			switch {
			case sa < sb:
				return -1
			case sa > sb:
				return 1
			}
			return 0
		})
		return ks
	}
	for _, k := range keys(want) {
		g, ok := got[k]
		switch {
		case !ok:
			note(fmt.Sprintf("%s %s: missing, want %s", what, key(k), val(want[k])))
		case g != want[k]:
			note(fmt.Sprintf("%s %s: got %s, want %s", what, key(k), val(g), val(want[k])))
		}
	}
	for _, k := range keys(got) {
		if _, ok := want[k]; !ok {
			note(fmt.Sprintf("%s %s: unexpected %s", what, key(k), val(got[k])))
		}
	}
	if n > maxDiffs {
		out = append(out, fmt.Sprintf("%s: %d more differences", what, n-maxDiffs))
	}
	return out
}
