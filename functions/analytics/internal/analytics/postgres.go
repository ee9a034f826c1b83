package analytics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Store on PostgreSQL (Aurora PostgreSQL in AWS). Every
// batch is one transaction of two round trips on one pipelined connection:
//
//  1. begin; lock the writer row (analytics.writer_lock: the function's
//     writers take turns); read the watermarks of the batch's partitions
//     and the window rows, product minutes and search minutes it adds to;
//  2. write what the batch merged into those rows (updating the rows it
//     read, inserting the others), its sessions (left waiting, see
//     waiting.go), the late events, the metrics and the watermarks;
//     commit. Each statement is sent as soon as it is built: the server
//     runs one while the next is merged.
//
// A batch that merges the waiting sessions also reads them in the first
// round trip, then its users' rows (with each user's latest session) in a
// round trip of their own, and the earlier sessions of users whose events
// come before their latest session, when it has any, in another.
// The writer row is the only lock a batch waits for: almost every batch
// adds to the current minute's window rows, so two batches seldom could
// write at once anyway, and reading rows without locking each, and without
// first creating the missing ones empty, is what a turn saves. Parameters and
// results travel in PostgreSQL's binary format, each statement unnamed, so
// each is planned for its own arrays.
type Postgres struct {
	pool  *pgxpool.Pool
	group string
	every int64

	// since counts the batches committed since this store last merged the
	// waiting sessions.
	since      atomic.Int64
	statements atomic.Int64
}

// DefaultCompaction is how many batches a store commits before the next
// merges the sessions waiting in analytics.session_points into the users'
// sessions.
const DefaultCompaction = 16

// PostgresOption configures a Postgres store.
type PostgresOption func(*Postgres)

// WithCompaction sets how many batches the store commits, their sessions
// left waiting in analytics.session_points, before the next merges them
// all into the users' sessions (1: every batch merges its own). Default
// DefaultCompaction.
func WithCompaction(batches int) PostgresOption {
	return func(s *Postgres) { s.every = int64(max(1, batches)) }
}

// NewPostgres returns the store of consumer group group (its watermarks are
// its own) on pool.
func NewPostgres(pool *pgxpool.Pool, group string, opts ...PostgresOption) *Postgres {
	s := &Postgres{pool: pool, group: group, every: DefaultCompaction}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Statements returns the number of SQL statements sent so far.
func (s *Postgres) Statements() int64 { return s.statements.Load() }

var _ Store = (*Postgres)(nil)

// ErrUserCreated is the error of a transaction that found a user missing
// while another transaction, one that did not take its turn at the writer
// row, was creating it: trying the batch again finds the user.
var ErrUserCreated = errors.New("another transaction created one of the batch's users at the same time")

// Apply implements Store.
func (s *Postgres) Apply(ctx context.Context, parts []Partition, basis map[Partition]Mark, g *Folding) (*Delta, error) {
	merge := s.since.Load()+1 >= s.every
	d, err := s.apply(ctx, parts, basis, g, merge)
	if err == nil {
		if merge {
			s.since.Store(0)
		} else {
			s.since.Add(1)
		}
	}
	return d, err
}

// Compact merges the sessions waiting in analytics.session_points into the
// users' sessions, in one transaction; it changes nothing that the views
// show.
func (s *Postgres) Compact(ctx context.Context) error {
	if _, err := s.apply(ctx, nil, nil, NewFolding(nil, nil, DefaultLateness), true); err != nil {
		return fmt.Errorf("merge the waiting sessions: %w", err)
	}
	s.since.Store(0)
	return nil
}

// apply stores a batch; merge says whether it merges the waiting sessions,
// and its own events, into the users' sessions, or leaves its own waiting.
func (s *Postgres) apply(ctx context.Context, parts []Partition, basis map[Partition]Mark, g *Folding, merge bool) (*Delta, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	// A connection released inside a transaction (after an error) is
	// closed by the pool, which rolls the transaction back.
	defer conn.Release()
	p := &pipe{pl: conn.Conn().PgConn().StartPipeline(ctx), count: &s.statements}
	defer p.pl.Close()

	// The server reads the watermarks (and the waiting sessions) while the
	// batch's windows, products and searches are folded.
	st := newStored()
	marks := s.begin(p, parts)
	var waiting *waitingPoints
	if merge {
		waiting = s.readWaiting(p)
	}
	if err := p.flush(); err != nil {
		return nil, fmt.Errorf("read watermarks: %w", err)
	}
	d := g.Delta()
	s.readRows(p, d, st)
	if err := p.sync(); err != nil {
		return nil, err
	}
	if !sameMarks(parts, marks, basis) {
		p.send("rollback", "ROLLBACK", nil, nil)
		if err := p.sync(); err != nil {
			return nil, fmt.Errorf("rollback: %w", err)
		}
		return nil, &StaleMarksError{Marks: marks}
	}
	var sessions []UserPoints
	if merge {
		sessions = waiting.with(d.Sessions)
		s.readUsers(p, sessions, st)
		if err := p.sync(); err != nil {
			return nil, err
		}
		if err := s.readEarlier(p, sessions, st); err != nil {
			return nil, err
		}
	}
	if err := s.write(p, d, st, sessions, waiting); err != nil {
		return nil, err
	}
	return d, nil
}

// pipe sends statements on a pipeline and reads their results, in order,
// at each sync.
type pipe struct {
	pl      *pgconn.Pipeline
	pending []pending
	count   *atomic.Int64
}

type pending struct {
	name string
	row  func(values [][]byte) error
	done func(tag pgconn.CommandTag) error
}

var binaryFormat = []int16{1}

// send queues a statement; row is called with each row of its result, done
// with its command tag.
func (p *pipe) send(name, sql string, ps *params, row func([][]byte) error) {
	p.sendTag(name, sql, ps, row, nil)
}

func (p *pipe) sendTag(name, sql string, ps *params, row func([][]byte) error, done func(pgconn.CommandTag) error) {
	if ps == nil {
		ps = &params{}
	}
	p.pl.SendQueryParams(sql, ps.values, ps.oids, binaryFormat, binaryFormat)
	p.pending = append(p.pending, pending{name, row, done})
	p.count.Add(1)
}

// flush sends what is queued, for the server to start on it.
func (p *pipe) flush() error { return p.pl.Flush() }

// sync ends what is queued with a synchronisation point and reads every
// result. The first error is returned; the server skips the rest.
func (p *pipe) sync() error {
	if err := p.pl.Sync(); err != nil {
		return err
	}
	todo := p.pending
	p.pending = nil
	for _, q := range todo {
		res, err := p.pl.GetResults()
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		rr, ok := res.(*pgconn.ResultReader)
		if !ok {
			return fmt.Errorf("%s: unexpected result %T", q.name, res)
		}
		var rowErr error
		for rr.NextRow() {
			if rowErr == nil && q.row != nil {
				rowErr = q.row(rr.Values())
			}
		}
		tag, err := rr.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		if rowErr != nil {
			return fmt.Errorf("%s: %w", q.name, rowErr)
		}
		if q.done != nil {
			if err := q.done(tag); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
		}
	}
	res, err := p.pl.GetResults()
	if err != nil {
		return err
	}
	if _, ok := res.(*pgconn.PipelineSync); !ok {
		return fmt.Errorf("sync: unexpected result %T", res)
	}
	return nil
}

// minuteKey names a category's minute of products.
type minuteKey struct {
	start    int64
	category string
}

// stored is what the transaction read: the rows the batch adds to that
// exist, and the users' sessions.
type stored struct {
	windows  map[WindowKey][]byte
	products map[minuteKey]*ProductList
	searches map[int64]*SearchList
	// latest holds each user with a row: its latest session, nil for none.
	latest  map[string]*Session
	earlier map[string][]Session
}

func newStored() *stored {
	return &stored{windows: map[WindowKey][]byte{}, products: map[minuteKey]*ProductList{},
		searches: map[int64]*SearchList{}, latest: map[string]*Session{}, earlier: map[string][]Session{}}
}

// begin begins the transaction and queues the statements that take the
// writer's turn, then read the watermarks of parts (a partition without a
// row has none yet). The returned watermarks are filled at the next sync.
func (s *Postgres) begin(p *pipe, parts []Partition) map[Partition]Mark {
	marks := make(map[Partition]Mark, len(parts))
	topics, nums := make([]string, len(parts)), make([]int32, len(parts))
	for i, pt := range parts {
		topics[i], nums[i] = pt.Topic, pt.Partition
	}
	p.send("begin", "BEGIN", nil, nil)
	p.send("take the writer's turn", "SELECT id FROM analytics.writer_lock FOR UPDATE", nil, nil)
	p.send("read watermarks", `SELECT o.topic, o.partition, o.last_offset, o.max_event_at
FROM analytics.offsets o JOIN unnest($2::text[], $3::int[]) AS x(t, p) ON o.topic = x.t AND o.partition = x.p
WHERE o.consumer_group = $1`, (&params{}).text(s.group).texts(topics).int4s(nums), func(v [][]byte) error {
		pt := Partition{Topic: string(v[0])}
		var mk Mark
		var err error
		if pt.Partition, err = readInt4(v[1]); err != nil {
			return err
		}
		if mk.Offset, err = readInt8(v[2]); err != nil {
			return err
		}
		if v[3] != nil {
			if mk.MaxEventAt, err = readTime(v[3]); err != nil {
				return err
			}
		}
		marks[pt] = mk
		return nil
	})
	return marks
}

// readUsers queues the statement that reads the rows of the users of
// sessions that exist, each with its latest session, into st at the next
// sync.
func (s *Postgres) readUsers(p *pipe, sessions []UserPoints, st *stored) {
	if len(sessions) == 0 {
		return
	}
	users := make([]string, len(sessions))
	for i, u := range sessions {
		users[i] = u.User
	}
	// A missing user is created by the write (see ErrUserCreated).
	stored := make([]Session, 0, len(users))
	p.send("read users", `SELECT user_id, start_at, end_at, events, pages, orders, revenue_cents
FROM analytics.users WHERE user_id = ANY($1::text[])`, (&params{}).texts(users), func(v [][]byte) error {
		user := string(v[0])
		st.latest[user] = nil
		for _, c := range v[1:] {
			if c == nil {
				return nil // no session (a row from before sessions were kept here)
			}
		}
		ss, err := readSession(v)
		if err != nil {
			return err
		}
		stored = append(stored, ss)
		st.latest[user] = &stored[len(stored)-1]
		return nil
	})
}

// readRows queues the statements that read the rows d adds to that exist;
// st is filled at the next sync.
func (s *Postgres) readRows(p *pipe, d *Delta, st *stored) {
	if n := len(d.Windows); n > 0 {
		secs, starts, cats := make([]int32, n), make([]int64, n), make([]string, n)
		for i, w := range d.Windows {
			secs[i], starts[i], cats[i] = w.Seconds, w.Start, w.Category
		}
		keys := (&params{}).int4s(secs).times(starts, nil).texts(cats)
		p.send("read window rows", `SELECT w.window_seconds, w.start_at, w.category, w.user_set
FROM analytics.windows w JOIN unnest($1::int[], $2::timestamptz[], $3::text[]) AS x(s, t, c)
    ON w.window_seconds = x.s AND w.start_at = x.t AND w.category = x.c`, keys, func(v [][]byte) error {
			var k WindowKey
			var err error
			if k.Seconds, err = readInt4(v[0]); err != nil {
				return err
			}
			if k.Start, err = readTime(v[1]); err != nil {
				return err
			}
			k.Category = string(v[2])
			st.windows[k] = slices.Clone(v[3]) // v is the connection's buffer
			return nil
		})
	}
	if n := len(d.Products); n > 0 {
		starts, cats := make([]int64, n), make([]string, n)
		for i, m := range d.Products {
			starts[i], cats[i] = m.Start, m.Category
		}
		keys := (&params{}).times(starts, nil).texts(cats)
		p.send("read product minutes", `SELECT m.start_at, m.category, m.product_ids, m.views, m.add_to_cart, m.units, m.revenue_cents
FROM analytics.category_minutes m JOIN unnest($1::timestamptz[], $2::text[]) AS x(t, c)
    ON m.start_at = x.t AND m.category = x.c`, keys, func(v [][]byte) error {
			var k minuteKey
			var err error
			if k.start, err = readTime(v[0]); err != nil {
				return err
			}
			k.category = string(v[1])
			l := &ProductList{}
			if l.IDs, err = readTexts(v[2]); err != nil {
				return err
			}
			for i, dst := range []*[]int64{&l.Views, &l.AddToCart, &l.Units, &l.Revenue} {
				if *dst, err = readInt8s(v[3+i]); err != nil {
					return err
				}
				if len(*dst) != len(l.IDs) {
					return fmt.Errorf("product minute %s: arrays of different lengths: %w", k.category, errWire)
				}
			}
			st.products[k] = l
			return nil
		})
	}
	if n := len(d.Searches); n > 0 {
		starts := make([]int64, n)
		for i, m := range d.Searches {
			starts[i] = m.Start
		}
		keys := (&params{}).times(starts, nil)
		p.send("read search minutes", `SELECT m.start_at, m.queries, m.searches
FROM analytics.search_minutes m JOIN unnest($1::timestamptz[]) AS x(t) ON m.start_at = x.t`, keys, func(v [][]byte) error {
			at, err := readTime(v[0])
			if err != nil {
				return err
			}
			l := &SearchList{}
			if l.Queries, err = readTexts(v[1]); err != nil {
				return err
			}
			if l.Searches, err = readInt8s(v[2]); err != nil {
				return err
			}
			if len(l.Searches) != len(l.Queries) {
				return fmt.Errorf("search minute: arrays of different lengths: %w", errWire)
			}
			st.searches[at] = l
			return nil
		})
	}
}

// readEarlier reads the earlier sessions near the events of the users
// whose events come before their latest session.
func (s *Postgres) readEarlier(p *pipe, sessions []UserPoints, st *stored) error {
	var users []string
	var from, to []int64
	gap := SessionGap.Milliseconds()
	for _, u := range sessions {
		l, ok := st.latest[u.User]
		if !ok || !NeedsEarlier(l, u.Points) {
			continue
		}
		lo, hi := u.Points[0].At, u.Points[0].At
		for _, pt := range u.Points {
			lo, hi = min(lo, pt.At), max(hi, pt.end())
		}
		users, from, to = append(users, u.User), append(from, lo-gap), append(to, hi+gap)
	}
	if len(users) == 0 {
		return nil
	}
	p.send("read earlier sessions", `SELECT s.user_id, s.start_at, s.end_at, s.events, s.pages, s.orders, s.revenue_cents
FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS x(id, lo, hi)
JOIN analytics.earlier_sessions s ON s.user_id = x.id AND s.end_at >= x.lo AND s.start_at <= x.hi`,
		(&params{}).texts(users).times(from, nil).times(to, nil), func(v [][]byte) error {
			ss, err := readSession(v)
			if err != nil {
				return err
			}
			st.earlier[ss.User] = append(st.earlier[ss.User], ss)
			return nil
		})
	return p.sync()
}

func readSession(v [][]byte) (Session, error) {
	ss := Session{User: string(v[0])}
	var err error
	if ss.Start, err = readTime(v[1]); err != nil {
		return ss, err
	}
	if ss.End, err = readTime(v[2]); err != nil {
		return ss, err
	}
	for i, dst := range []*int64{&ss.Events, &ss.Pages, &ss.Orders, &ss.Revenue} {
		if *dst, err = readInt8(v[3+i]); err != nil {
			return ss, err
		}
	}
	return ss, nil
}

// write sends what d adds merged with the rows read, the sessions (merged
// into the users' sessions, with the waiting ones, when waiting is not
// nil; else d's left waiting), late events, metrics and the
// new watermarks, and commits. The heaviest statements go first, each sent
// as soon as it is built.
func (s *Postgres) write(p *pipe, d *Delta, st *stored, sessions []UserPoints, waiting *waitingPoints) error {
	if waiting == nil {
		if len(d.Sessions) > 0 {
			p.send("waiting sessions", `INSERT INTO analytics.session_points (user_ids, start_at, end_at, events, pages, orders, revenue_cents)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, pointParams(d.Sessions), nil)
		}
	} else if len(waiting.ids) > 0 {
		p.send("merged sessions", `DELETE FROM analytics.session_points WHERE id = ANY($1::bigint[])`,
			(&params{}).int8s(waiting.ids), nil)
	}
	// Sessions: each user's latest in its row, the earlier ones apart.
	var created, updated, deleted, inserted []Session
	for _, u := range sessions {
		l, exists := st.latest[u.User]
		next, del, ins := MergeLatest(u.User, l, st.earlier[u.User], u.Points)
		switch {
		case !exists:
			created = append(created, next)
		case l == nil || *l != next:
			updated = append(updated, next)
		}
		deleted = append(deleted, del...)
		inserted = append(inserted, ins...)
	}
	if len(updated) > 0 {
		p.send("latest sessions", `UPDATE analytics.users AS u SET start_at = ($2::timestamptz[])[x.i],
    end_at = ($3::timestamptz[])[x.i], events = ($4::bigint[])[x.i], pages = ($5::bigint[])[x.i],
    orders = ($6::bigint[])[x.i], revenue_cents = ($7::bigint[])[x.i]
FROM unnest($1::text[]) WITH ORDINALITY AS x(id, i)
WHERE u.user_id = x.id`, sessionParams(updated), nil)
	}
	if len(created) > 0 {
		// Not ON CONFLICT: a user another invocation created meanwhile
		// fails the transaction, which is tried again (ErrUserCreated).
		p.send("new users", `INSERT INTO analytics.users (user_id, start_at, end_at, events, pages, orders, revenue_cents)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])`,
			sessionParams(created), nil)
	}
	if len(deleted) > 0 {
		users, starts := make([]string, len(deleted)), make([]int64, len(deleted))
		for i, s := range deleted {
			users[i], starts[i] = s.User, s.Start
		}
		p.send("merged sessions", `DELETE FROM analytics.earlier_sessions s USING unnest($1::text[], $2::timestamptz[]) AS x(u, t)
WHERE s.user_id = x.u AND s.start_at = x.t`, (&params{}).texts(users).times(starts, nil), nil)
	}
	if len(inserted) > 0 {
		p.send("earlier sessions", `INSERT INTO analytics.earlier_sessions (user_id, start_at, end_at, events, pages, orders, revenue_cents)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])`,
			sessionParams(inserted), nil)
	}
	if err := p.flush(); err != nil {
		return fmt.Errorf("write sessions: %w", err)
	}

	// Window rows: counters added, users merged; new ones inserted. Index
	// 0 of each pair is the rows read (updated), 1 the new ones (inserted).
	if len(d.Windows) > 0 {
		var rows [2]struct {
			ws     []WindowDelta
			counts []int64
			sets   [][]byte
		}
		for _, w := range d.Windows {
			stored, ok := st.windows[w.WindowKey]
			set, k := MergeUsers(stored, w.Users)
			r := &rows[fresh(ok)]
			r.ws, r.counts, r.sets = append(r.ws, w), append(r.counts, int64(k)), append(r.sets, set)
		}
		for i, q := range [2]statement{{"window rows", updateWindows}, {"new window rows", insertWindows}} {
			if r := rows[i]; len(r.ws) > 0 {
				p.send(q.name, q.sql, windowParams(r.ws, r.counts, r.sets), nil)
			}
		}
		if err := p.flush(); err != nil {
			return fmt.Errorf("write window rows: %w", err)
		}
	}

	// Product and search minutes: merged.
	if len(d.Products) > 0 {
		var rows [2]minuteSlices
		var all [2]ProductList // each statement's flat arrays
		for _, m := range d.Products {
			stored, ok := st.products[minuteKey{m.Start, m.Category}]
			if !ok {
				stored = &ProductList{}
			}
			i := fresh(ok)
			lo := int32(all[i].Len() + 1)
			MergeProducts(&all[i], stored, m.Products)
			rows[i].add(m.Start, m.Category, lo, int32(all[i].Len()))
		}
		for i, q := range [2]statement{{"product minutes", updateProducts}, {"new product minutes", insertProducts}} {
			if r, a := rows[i], all[i]; len(r.starts) > 0 {
				p.send(q.name, q.sql, (&params{}).times(r.starts, nil).texts(r.cats).int4s(r.lo).int4s(r.hi).
					texts(a.IDs).int8s(a.Views).int8s(a.AddToCart).int8s(a.Units).int8s(a.Revenue), nil)
			}
		}
	}
	if len(d.Searches) > 0 {
		var rows [2]minuteSlices
		var all [2]SearchList
		for _, m := range d.Searches {
			stored, ok := st.searches[m.Start]
			if !ok {
				stored = &SearchList{}
			}
			i := fresh(ok)
			lo := int32(len(all[i].Queries) + 1)
			MergeSearches(&all[i], stored, m.Queries)
			rows[i].add(m.Start, "", lo, int32(len(all[i].Queries)))
		}
		for i, q := range [2]statement{{"search minutes", updateSearches}, {"new search minutes", insertSearches}} {
			if r, a := rows[i], all[i]; len(r.starts) > 0 {
				p.send(q.name, q.sql, (&params{}).times(r.starts, nil).int4s(r.lo).int4s(r.hi).
					texts(a.Queries).int8s(a.Searches), nil)
			}
		}
	}
	if n := len(d.Late); n > 0 {
		topics, parts, offs, ids, types := make([]string, n), make([]int32, n), make([]int64, n), make([]string, n), make([]string, n)
		ats, maxs, values := make([]int64, n), make([]int64, n), make([][]byte, n)
		for i, l := range d.Late {
			topics[i], parts[i], offs[i], ids[i], types[i] = l.Topic, l.Partition.Partition, l.Offset, l.EventID, l.Type
			ats[i], maxs[i], values[i] = l.At, l.MaxEventAt, l.Value
		}
		p.send("late events", `INSERT INTO analytics.late_events (topic, partition, "offset", event_id, event_type, occurred_at, max_event_at, value)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::bytea[])
ON CONFLICT DO NOTHING`, (&params{}).texts(topics).int4s(parts).int8s(offs).texts(ids).texts(types).
			times(ats, nil).times(maxs, nil).byteas(values), nil)
	}
	if n := len(d.Metrics); n > 0 {
		topics, parts, offs, ids, names := make([]string, n), make([]int32, n), make([]int64, n), make([]string, n), make([]string, n)
		values, cats, ats := make([]float64, n), make([]string, n), make([]int64, n)
		for i, m := range d.Metrics {
			topics[i], parts[i], offs[i], ids[i], names[i] = m.Topic, m.Partition.Partition, m.Offset, m.EventID, m.Name
			values[i], cats[i], ats[i] = m.Value, m.Category, m.At
		}
		p.send("metrics", `INSERT INTO analytics.metrics (topic, partition, "offset", event_id, name, value, category, occurred_at)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::timestamptz[])
ON CONFLICT DO NOTHING`, (&params{}).texts(topics).int4s(parts).int8s(offs).texts(ids).texts(names).float8s(values).
			texts(cats).times(ats, nil), nil)
	}
	if len(d.Marks) > 0 {
		parts := slices.SortedFunc(maps.Keys(d.Marks), comparePartitions)
		n := len(parts)
		topics, nums, offs, ats, null := make([]string, n), make([]int32, n), make([]int64, n), make([]int64, n), make([]bool, n)
		for i, pt := range parts {
			mk := d.Marks[pt]
			topics[i], nums[i], offs[i], ats[i], null[i] = pt.Topic, pt.Partition, mk.Offset, mk.MaxEventAt, mk.MaxEventAt == 0
		}
		p.send("watermarks", `INSERT INTO analytics.offsets (consumer_group, topic, partition, last_offset, max_event_at, updated_at)
SELECT $1, x.t, x.p, x.off, x.at, now() FROM unnest($2::text[], $3::int[], $4::bigint[], $5::timestamptz[]) AS x(t, p, off, at)
ON CONFLICT (consumer_group, topic, partition) DO UPDATE
SET last_offset = excluded.last_offset, max_event_at = excluded.max_event_at, updated_at = excluded.updated_at`,
			(&params{}).text(s.group).texts(topics).int4s(nums).int8s(offs).times(ats, null), nil)
	}
	p.sendTag("commit", "COMMIT", nil, nil, func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			return fmt.Errorf("the server answered %q", tag.String())
		}
		return nil
	})
	if err := p.sync(); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && pe.TableName == "users" {
			return fmt.Errorf("write: %w (%w)", ErrUserCreated, err)
		}
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// sessionParams returns the columns of sessions, in the order of the
// sessions' columns.
func sessionParams(ss []Session) *params {
	n := len(ss)
	users, starts, ends := make([]string, n), make([]int64, n), make([]int64, n)
	evs, pages, orders, revenue := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, s := range ss {
		users[i], starts[i], ends[i] = s.User, s.Start, s.End
		evs[i], pages[i], orders[i], revenue[i] = s.Events, s.Pages, s.Orders, s.Revenue
	}
	return (&params{}).texts(users).times(starts, nil).times(ends, nil).int8s(evs).int8s(pages).int8s(orders).int8s(revenue)
}

// statement is a named SQL statement.
type statement struct{ name, sql string }

// fresh is the index, in the pairs write keeps, of a row that was read
// (0: updated) or not (1: inserted).
func fresh(read bool) int {
	if read {
		return 0
	}
	return 1
}

// minuteSlices are the minutes one statement writes: minute i is elements
// lo[i] to hi[i] (from 1, inclusive) of the flat arrays sent with it.
type minuteSlices struct {
	starts []int64
	cats   []string
	lo, hi []int32
}

func (m *minuteSlices) add(start int64, category string, lo, hi int32) {
	m.starts, m.cats, m.lo, m.hi = append(m.starts, start), append(m.cats, category), append(m.lo, lo), append(m.hi, hi)
}

// windowParams returns the parameters of updateWindows and insertWindows.
func windowParams(ws []WindowDelta, users []int64, sets [][]byte) *params {
	n := len(ws)
	secs, starts, cats := make([]int32, n), make([]int64, n), make([]string, n)
	var cols [16][]int64
	for i := range cols {
		cols[i] = make([]int64, n)
	}
	for i, w := range ws {
		secs[i], starts[i], cats[i] = w.Seconds, w.Start, w.Category
		c := &w.Counters
		for j, v := range [16]int64{c.PageViews, c.ProductViews, c.Clicks, c.Searches, c.AddToCart, c.RemoveFromCart,
			c.Orders, c.Units, c.OrderValue, c.PaidOrders, c.Revenue, c.FailedPayments, c.Shipped, c.Cancellations,
			c.Refunds, c.Refunded} {
			cols[j][i] = v
		}
	}
	ps := (&params{}).int4s(secs).times(starts, nil).texts(cats)
	for _, c := range cols {
		ps.int8s(c)
	}
	return ps.int8s(users).byteas(sets)
}

func compareWindowKeys(a, b WindowKey) int {
	if a.Seconds != b.Seconds {
		return int(a.Seconds - b.Seconds)
	}
	if a.Start != b.Start {
		if a.Start < b.Start {
			return -1
		}
		return 1
	}
	switch {
	case a.Category < b.Category:
		return -1
	case a.Category > b.Category:
		return 1
	}
	return 0
}

// updateWindows adds the batch's counters to locked rows and sets their
// merged users.
const updateWindows = `UPDATE analytics.windows AS w SET
    page_views = w.page_views + ($4::bigint[])[x.i],
    product_views = w.product_views + ($5::bigint[])[x.i],
    clicks = w.clicks + ($6::bigint[])[x.i],
    searches = w.searches + ($7::bigint[])[x.i],
    add_to_cart = w.add_to_cart + ($8::bigint[])[x.i],
    remove_from_cart = w.remove_from_cart + ($9::bigint[])[x.i],
    orders = w.orders + ($10::bigint[])[x.i],
    units = w.units + ($11::bigint[])[x.i],
    order_value_cents = w.order_value_cents + ($12::bigint[])[x.i],
    paid_orders = w.paid_orders + ($13::bigint[])[x.i],
    revenue_cents = w.revenue_cents + ($14::bigint[])[x.i],
    failed_payments = w.failed_payments + ($15::bigint[])[x.i],
    shipped = w.shipped + ($16::bigint[])[x.i],
    cancellations = w.cancellations + ($17::bigint[])[x.i],
    refunds = w.refunds + ($18::bigint[])[x.i],
    refunded_cents = w.refunded_cents + ($19::bigint[])[x.i],
    users = ($20::bigint[])[x.i],
    user_set = ($21::bytea[])[x.i],
    updated_at = now()
FROM unnest($1::int[], $2::timestamptz[], $3::text[]) WITH ORDINALITY AS x(s, t, c, i)
WHERE w.window_seconds = x.s AND w.start_at = x.t AND w.category = x.c`

// insertWindows inserts the rows the batch's counters and users start.
const insertWindows = `INSERT INTO analytics.windows (window_seconds, start_at, category, page_views, product_views, clicks,
    searches, add_to_cart, remove_from_cart, orders, units, order_value_cents, paid_orders, revenue_cents,
    failed_payments, shipped, cancellations, refunds, refunded_cents, users, user_set)
SELECT * FROM unnest($1::int[], $2::timestamptz[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
    $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],
    $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[],
    $21::bytea[])`

// The product and search minutes travel as flat arrays: minute i is
// elements lo[i] to hi[i] of each.

const updateProducts = `UPDATE analytics.category_minutes AS m
SET product_ids = ($5::text[])[x.lo:x.hi], views = ($6::bigint[])[x.lo:x.hi], add_to_cart = ($7::bigint[])[x.lo:x.hi],
    units = ($8::bigint[])[x.lo:x.hi], revenue_cents = ($9::bigint[])[x.lo:x.hi]
FROM unnest($1::timestamptz[], $2::text[], $3::int[], $4::int[]) AS x(t, c, lo, hi)
WHERE m.start_at = x.t AND m.category = x.c`

const updateSearches = `UPDATE analytics.search_minutes AS m
SET queries = ($4::text[])[x.lo:x.hi], searches = ($5::bigint[])[x.lo:x.hi]
FROM unnest($1::timestamptz[], $2::int[], $3::int[]) AS x(t, lo, hi)
WHERE m.start_at = x.t`

const insertProducts = `INSERT INTO analytics.category_minutes (start_at, category, product_ids, views, add_to_cart, units, revenue_cents)
SELECT x.t, x.c, ($5::text[])[x.lo:x.hi], ($6::bigint[])[x.lo:x.hi], ($7::bigint[])[x.lo:x.hi],
    ($8::bigint[])[x.lo:x.hi], ($9::bigint[])[x.lo:x.hi]
FROM unnest($1::timestamptz[], $2::text[], $3::int[], $4::int[]) AS x(t, c, lo, hi)`

const insertSearches = `INSERT INTO analytics.search_minutes (start_at, queries, searches)
SELECT x.t, ($4::text[])[x.lo:x.hi], ($5::bigint[])[x.lo:x.hi]
FROM unnest($1::timestamptz[], $2::int[], $3::int[]) AS x(t, lo, hi)`
