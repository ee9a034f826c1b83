package analytics

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Store on PostgreSQL (Aurora PostgreSQL in AWS). Every
// batch is one transaction of two round trips: begin, lock the watermarks
// and the users and read the sessions near the batch (one pipelined batch
// of statements); write every table and the watermarks, and commit (one
// pipelined batch, each table one multi-row statement over arrays).
type Postgres struct {
	pool  *pgxpool.Pool
	group string

	statements atomic.Int64
}

// NewPostgres returns the store of consumer group group (its watermarks are
// its own) on pool.
func NewPostgres(pool *pgxpool.Pool, group string) *Postgres {
	return &Postgres{pool: pool, group: group}
}

// Statements returns the number of SQL statements sent so far.
func (s *Postgres) Statements() int64 { return s.statements.Load() }

var _ Store = (*Postgres)(nil)

// Apply implements Store.
func (s *Postgres) Apply(ctx context.Context, parts []Partition, users []UserRange, plan func(map[Partition]Mark) *Delta) (*Delta, error) {
	// The transaction spans two pipelined batches on one connection: the
	// first begins it, the second commits it. A connection released inside
	// a transaction (after an error) is closed by the pool, which rolls the
	// transaction back.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()

	marks, stored, err := s.lock(ctx, conn, parts, users)
	if err != nil {
		return nil, err
	}
	d := plan(marks)
	var deleted, written []Session
	for _, u := range slices.Sorted(maps.Keys(d.Points)) {
		del, wr := MergeSessions(u, stored[u], d.Points[u])
		deleted = append(deleted, del...)
		written = append(written, wr...)
	}
	if err := s.write(ctx, conn, d, deleted, written); err != nil {
		return nil, err
	}
	return d, nil
}

// lock locks the watermarks of parts (creating missing ones) and the users
// (creating missing ones), in key order, and reads the watermarks and the
// stored sessions within SessionGap of each user's range.
func (s *Postgres) lock(ctx context.Context, tx batcher, parts []Partition, users []UserRange) (map[Partition]Mark, map[string][]Session, error) {
	topics := make([]string, len(parts))
	nums := make([]int32, len(parts))
	for i, p := range parts {
		topics[i], nums[i] = p.Topic, p.Partition
	}
	ids := make([]string, len(users))
	from := make([]time.Time, len(users))
	to := make([]time.Time, len(users))
	gap := SessionGap.Milliseconds()
	for i, u := range users {
		ids[i] = u.User
		from[i] = time.UnixMilli(u.From - gap).UTC()
		to[i] = time.UnixMilli(u.To + gap).UTC()
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(`INSERT INTO analytics.offsets (consumer_group, topic, partition)
SELECT $1, t, p FROM unnest($2::text[], $3::int[]) AS x(t, p)
ON CONFLICT DO NOTHING`, s.group, topics, nums)
	b.Queue(`SELECT o.topic, o.partition, o.last_offset, o.max_event_at
FROM analytics.offsets o JOIN unnest($2::text[], $3::int[]) AS x(t, p) ON o.topic = x.t AND o.partition = x.p
WHERE o.consumer_group = $1
ORDER BY o.topic, o.partition
FOR UPDATE OF o`, s.group, topics, nums)
	if len(users) > 0 {
		// Users are sorted: their rows are locked in one order by everyone.
		b.Queue(`INSERT INTO analytics.users (user_id) SELECT * FROM unnest($1::text[]) ON CONFLICT DO NOTHING`, ids)
		b.Queue(`SELECT 1 FROM analytics.users WHERE user_id = ANY($1::text[]) ORDER BY user_id FOR UPDATE`, ids)
		b.Queue(`SELECT s.user_id, s.start_at, s.end_at, s.events, s.pages, s.orders, s.revenue_cents
FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS x(id, lo, hi)
JOIN analytics.sessions s ON s.user_id = x.id AND s.end_at >= x.lo AND s.start_at <= x.hi`, ids, from, to)
	}
	s.statements.Add(int64(b.Len()))
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return nil, nil, fmt.Errorf("create watermarks: %w", err)
	}
	marks := map[Partition]Mark{}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("lock watermarks: %w", err)
	}
	for rows.Next() {
		var p Partition
		var mk Mark
		var at *time.Time
		if err := rows.Scan(&p.Topic, &p.Partition, &mk.Offset, &at); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("read watermarks: %w", err)
		}
		if at != nil {
			mk.MaxEventAt = at.UnixMilli()
		}
		marks[p] = mk
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("lock watermarks: %w", err)
	}
	stored := map[string][]Session{}
	if len(users) > 0 {
		if _, err := br.Exec(); err != nil {
			return nil, nil, fmt.Errorf("create users: %w", err)
		}
		if _, err := br.Exec(); err != nil {
			return nil, nil, fmt.Errorf("lock users: %w", err)
		}
		rows, err := br.Query()
		if err != nil {
			return nil, nil, fmt.Errorf("read sessions: %w", err)
		}
		for rows.Next() {
			var ss Session
			var start, end time.Time
			if err := rows.Scan(&ss.User, &start, &end, &ss.Events, &ss.Pages, &ss.Orders, &ss.Revenue); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("read sessions: %w", err)
			}
			ss.Start, ss.End = start.UnixMilli(), end.UnixMilli()
			stored[ss.User] = append(stored[ss.User], ss)
		}
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("read sessions: %w", err)
		}
	}
	return marks, stored, br.Close()
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

// write sends every change of d, and the new watermarks, in one batch.
func (s *Postgres) write(ctx context.Context, tx batcher, d *Delta, deleted, written []Session) error {
	b := &pgx.Batch{}
	var what []string
	queue := func(name, sql string, args ...any) {
		b.Queue(sql, args...)
		what = append(what, name)
	}
	if len(d.Windows) > 0 {
		keys := slices.SortedFunc(maps.Keys(d.Windows), compareWindowKeys)
		n := len(keys)
		secs, starts, cats := make([]int32, n), make([]time.Time, n), make([]string, n)
		cols := make([][]int64, 16)
		for i := range cols {
			cols[i] = make([]int64, n)
		}
		for i, k := range keys {
			secs[i], starts[i], cats[i] = k.Seconds, ms(k.Start), k.Category
			c := d.Windows[k]
			for j, v := range []int64{c.PageViews, c.ProductViews, c.Clicks, c.Searches, c.AddToCart, c.RemoveFromCart,
				c.Orders, c.Units, c.OrderValue, c.PaidOrders, c.Revenue, c.FailedPayments, c.Shipped, c.Cancellations,
				c.Refunds, c.Refunded} {
				cols[j][i] = v
			}
		}
		args := []any{secs, starts, cats}
		for _, c := range cols {
			args = append(args, c)
		}
		args = append(args, userLists(d, keys))
		queue("windows", upsertWindows, args...)
	}
	if len(d.Products) > 0 {
		keys := slices.SortedFunc(maps.Keys(d.Products), func(a, b ProductKey) int {
			if c := compareWindowKeys(a.WindowKey, b.WindowKey); c != 0 {
				return c
			}
			return cmp.Compare(a.Product, b.Product)
		})
		n := len(keys)
		starts, cats, ids := make([]time.Time, n), make([]string, n), make([]string, n)
		views, carts, units, revenue := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		for i, k := range keys {
			c := d.Products[k]
			starts[i], cats[i], ids[i] = ms(k.Start), k.Category, k.Product
			views[i], carts[i], units[i], revenue[i] = c.Views, c.AddToCart, c.Units, c.Revenue
		}
		queue("products", upsertProducts, starts, cats, ids, views, carts, units, revenue)
	}
	if len(d.Searches) > 0 {
		type row struct {
			start int64
			hash  []byte
			query string
			n     int64
		}
		rows := make([]row, 0, len(d.Searches))
		for k, n := range d.Searches {
			rows = append(rows, row{k.Start, queryHash(k.Query), k.Query, n})
		}
		slices.SortFunc(rows, func(a, b row) int {
			if c := cmp.Compare(a.start, b.start); c != 0 {
				return c
			}
			return slices.Compare(a.hash, b.hash)
		})
		starts, hashes, queries, counts := make([]time.Time, len(rows)), make([][]byte, len(rows)), make([]string, len(rows)), make([]int64, len(rows))
		for i, r := range rows {
			starts[i], hashes[i], queries[i], counts[i] = ms(r.start), r.hash, r.query, r.n
		}
		queue("search terms", upsertSearches, starts, hashes, queries, counts)
	}
	if len(d.Late) > 0 {
		n := len(d.Late)
		topics, parts, offs, ids, types := make([]string, n), make([]int32, n), make([]int64, n), make([]string, n), make([]string, n)
		ats, maxs, values := make([]time.Time, n), make([]time.Time, n), make([][]byte, n)
		for i, l := range d.Late {
			topics[i], parts[i], offs[i], ids[i], types[i] = l.Topic, l.Partition.Partition, l.Offset, l.EventID, l.Type
			ats[i], maxs[i], values[i] = ms(l.At), ms(l.MaxEventAt), l.Value
		}
		queue("late events", `INSERT INTO analytics.late_events (topic, partition, "offset", event_id, event_type, occurred_at, max_event_at, value)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::bytea[])
ON CONFLICT DO NOTHING`, topics, parts, offs, ids, types, ats, maxs, values)
	}
	if len(d.Metrics) > 0 {
		n := len(d.Metrics)
		topics, parts, offs, ids, names := make([]string, n), make([]int32, n), make([]int64, n), make([]string, n), make([]string, n)
		values, cats, ats := make([]float64, n), make([]string, n), make([]time.Time, n)
		for i, m := range d.Metrics {
			topics[i], parts[i], offs[i], ids[i], names[i] = m.Topic, m.Partition.Partition, m.Offset, m.EventID, m.Name
			values[i], cats[i], ats[i] = m.Value, m.Category, ms(m.At)
		}
		queue("metrics", `INSERT INTO analytics.metrics (topic, partition, "offset", event_id, name, value, category, occurred_at)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::timestamptz[])
ON CONFLICT DO NOTHING`, topics, parts, offs, ids, names, values, cats, ats)
	}
	// A session whose start stays is updated in place; one merged into
	// another (its start gone) is deleted.
	kept := make(map[Session]bool, len(written))
	for _, s := range written {
		kept[Session{User: s.User, Start: s.Start}] = true
	}
	var gone []Session
	for _, s := range deleted {
		if !kept[Session{User: s.User, Start: s.Start}] {
			gone = append(gone, s)
		}
	}
	if len(gone) > 0 {
		users, starts := make([]string, len(gone)), make([]time.Time, len(gone))
		for i, s := range gone {
			users[i], starts[i] = s.User, ms(s.Start)
		}
		queue("merged sessions", `DELETE FROM analytics.sessions s USING unnest($1::text[], $2::timestamptz[]) AS x(u, t)
WHERE s.user_id = x.u AND s.start_at = x.t`, users, starts)
	}
	if len(written) > 0 {
		n := len(written)
		users, starts, ends := make([]string, n), make([]time.Time, n), make([]time.Time, n)
		evs, pages, orders, revenue := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		for i, s := range written {
			users[i], starts[i], ends[i] = s.User, ms(s.Start), ms(s.End)
			evs[i], pages[i], orders[i], revenue[i] = s.Events, s.Pages, s.Orders, s.Revenue
		}
		queue("sessions", `INSERT INTO analytics.sessions AS s (user_id, start_at, end_at, events, pages, orders, revenue_cents)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
ON CONFLICT (user_id, start_at) DO UPDATE SET end_at = excluded.end_at, events = excluded.events,
    pages = excluded.pages, orders = excluded.orders, revenue_cents = excluded.revenue_cents`,
			users, starts, ends, evs, pages, orders, revenue)
	}
	if len(d.Marks) > 0 {
		parts := slices.SortedFunc(maps.Keys(d.Marks), comparePartitions)
		topics, nums, offs, ats := make([]string, len(parts)), make([]int32, len(parts)), make([]int64, len(parts)), make([]*time.Time, len(parts))
		for i, p := range parts {
			mk := d.Marks[p]
			topics[i], nums[i], offs[i] = p.Topic, p.Partition, mk.Offset
			if mk.MaxEventAt != 0 {
				t := ms(mk.MaxEventAt)
				ats[i] = &t
			}
		}
		queue("watermarks", `UPDATE analytics.offsets o SET last_offset = x.off, max_event_at = x.at, updated_at = now()
FROM unnest($2::text[], $3::int[], $4::bigint[], $5::timestamptz[]) AS x(t, p, off, at)
WHERE o.consumer_group = $1 AND o.topic = x.t AND o.partition = x.p`, s.group, topics, nums, offs, ats)
	}
	queue("commit", "COMMIT")
	s.statements.Add(int64(b.Len()))
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for _, name := range what {
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if name == "commit" && tag.String() != "COMMIT" {
			return fmt.Errorf("commit: the server answered %q", tag.String())
		}
	}
	return br.Close()
}

// userLists returns, for each window row of keys, its users in the batch,
// sorted and joined by newlines (user ids are identifiers: no newline).
func userLists(d *Delta, keys []WindowKey) []string {
	per := make(map[WindowKey][]string, len(keys))
	for k := range d.Users {
		per[k.WindowKey] = append(per[k.WindowKey], k.User)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		us := per[k]
		slices.Sort(us)
		out[i] = strings.Join(us, "\n")
	}
	return out
}

// batcher sends pipelined batches: a connection, or a transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func compareWindowKeys(a, b WindowKey) int {
	if c := cmp.Compare(a.Seconds, b.Seconds); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Start, b.Start); c != 0 {
		return c
	}
	return cmp.Compare(a.Category, b.Category)
}

const upsertWindows = `INSERT INTO analytics.windows AS w (window_seconds, start_at, category,
    page_views, product_views, clicks, searches, add_to_cart, remove_from_cart,
    orders, units, order_value_cents, paid_orders, revenue_cents, failed_payments,
    shipped, cancellations, refunds, refunded_cents, user_ids, users)
SELECT s, t, c, pv, prv, cl, se, ac, rc, o, un, ov, po, rv, fp, sh, ca, rf, rfc, ids, cardinality(ids)
FROM (SELECT s, t, c, pv, prv, cl, se, ac, rc, o, un, ov, po, rv, fp, sh, ca, rf, rfc, string_to_array(u, E'\n') AS ids
    FROM unnest($1::int[], $2::timestamptz[], $3::text[],
    $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
    $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
    $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[], $20::text[])
    AS x(s, t, c, pv, prv, cl, se, ac, rc, o, un, ov, po, rv, fp, sh, ca, rf, rfc, u)) d
ON CONFLICT (window_seconds, start_at, category) DO UPDATE SET
    page_views = w.page_views + excluded.page_views,
    product_views = w.product_views + excluded.product_views,
    clicks = w.clicks + excluded.clicks,
    searches = w.searches + excluded.searches,
    add_to_cart = w.add_to_cart + excluded.add_to_cart,
    remove_from_cart = w.remove_from_cart + excluded.remove_from_cart,
    orders = w.orders + excluded.orders,
    units = w.units + excluded.units,
    order_value_cents = w.order_value_cents + excluded.order_value_cents,
    paid_orders = w.paid_orders + excluded.paid_orders,
    revenue_cents = w.revenue_cents + excluded.revenue_cents,
    failed_payments = w.failed_payments + excluded.failed_payments,
    shipped = w.shipped + excluded.shipped,
    cancellations = w.cancellations + excluded.cancellations,
    refunds = w.refunds + excluded.refunds,
    refunded_cents = w.refunded_cents + excluded.refunded_cents,
    (user_ids, users) = (SELECT m.ids, cardinality(m.ids) FROM
        (SELECT array_agg(DISTINCT u ORDER BY u) AS ids FROM unnest(w.user_ids || excluded.user_ids) AS u) m),
    updated_at = now()`

const upsertProducts = `INSERT INTO analytics.product_minutes AS p (start_at, category, product_id,
    views, add_to_cart, units, revenue_cents)
SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
ON CONFLICT (start_at, category, product_id) DO UPDATE SET
    views = p.views + excluded.views,
    add_to_cart = p.add_to_cart + excluded.add_to_cart,
    units = p.units + excluded.units,
    revenue_cents = p.revenue_cents + excluded.revenue_cents`

const upsertSearches = `INSERT INTO analytics.search_terms AS s (start_at, query_hash, query, searches)
SELECT * FROM unnest($1::timestamptz[], $2::bytea[], $3::text[], $4::bigint[])
ON CONFLICT (start_at, query_hash) DO UPDATE SET searches = s.searches + excluded.searches`
