// Package analytics is the logic of the analytics function: tumbling
// 1-minute and 5-minute aggregates per category and overall, top products,
// search terms and sessions from user activity (user_events) and the order
// lifecycle (transactions), in PostgreSQL, exactly once although batches
// arrive at least once.
//
// # Model
//
// analytics.windows holds one row per window size, window start (by event
// time) and category, plus the category "_all" that counts each event once:
// page views, product views, clicks, searches, add-to-cart and
// remove-from-cart; orders, units and order value (order_created), paying
// orders and revenue (payment_authorized), failed payments, shipments,
// cancellations, refunds and refunded value, all money in cents; and the
// distinct users, exactly: the row keeps its users as one user set (the
// ids sorted and front-coded, see EncodeUsers) and their number (users). An
// order event counts once in each category among its items, with that
// category's units and value, and once in "_all" with all of them; an item
// without a category, or an order without items, counts under "unknown".
// The conversion funnel (product view -> cart -> order -> paid) is
// product_views, add_to_cart, orders and paid_orders of a row; the funnel
// view divides them, average order value is order_value / orders.
// analytics.category_minutes holds, per minute and category, its products'
// views, carts, units ordered and revenue as parallel arrays; the view
// analytics.product_minutes shows them one product per row, and
// analytics.product_windows those and their 5-minute sums (top products:
// the top_products view ranks them). analytics.search_minutes holds each
// minute's search texts, verbatim, and their counts; the view
// analytics.search_terms shows them one per row with their SHA-256.
// Pre-computed metric events go to analytics.metrics, never into the sales
// figures. Wide rows are the point: a batch reads the rows it adds to,
// merges into them in memory and writes each once, instead of writing a
// row per user, product or text.
//
// # Sessions
//
// A session is a user's session events (see generator.Session: activity,
// orders and payment attempts; not shipments, cancellations or refunds, the
// shop's doing) cut wherever two consecutive ones in event time are more
// than 30 minutes apart: it closes after 30 minutes without events. The
// definition is on the set of events, not on their arrival order: the ESM
// keeps each partition in order, but a user's activity (user_events) and
// orders (transactions) are two partitions that arrive in any interleaving.
// MergeSessions merges a batch's events into the user's stored sessions
// within the gap of them (an event may extend a session, start one, or join
// two), which gives the same sessions whatever the order. Each session has
// its start, end, events, pages (page and product views), orders, whether it
// converted (an order) and revenue (authorized payments).
//
// A user's latest session (the one that starts last) lives in the user's
// row of analytics.users; batches take turns (see below), so two
// invocations (one per topic) never merge one user's sessions at once. The
// earlier sessions are in analytics.earlier_sessions. Events at or after
// the start of the latest session can only extend it or start sessions
// after it, so merging most users reads and writes the user's row alone
// (MergeLatest); only events before it read the earlier sessions near them.
//
// Most batches do not merge at all: they store the sessions their events
// make within the batch as one row of analytics.session_points, and every
// DefaultCompaction-th batch of a store (WithCompaction) merges the waiting
// sessions of every row, and its own events, into the users' sessions and
// deletes the rows, in its transaction. A user's sessions are then read and
// written once for many batches instead of once per batch. Merging by the
// gap is associative, so a waiting session merges as its events would; the
// view analytics.sessions merges the waiting sessions into their users'
// sessions the same way, so it shows the same sessions before and after a
// merge. Postgres.Compact merges what waits at any time.
//
// # Exactly once, few round trips
//
// Handle folds the batch in memory in two passes (Folding): the first
// finds the records that count, on the watermarks the handler committed
// last, and the users' session events; the second, on its own goroutine,
// the windows, products and searches. One transaction on one pipelined
// connection then stores it in two round trips. The first takes the
// writers' turn (it locks the one row of analytics.writer_lock), reads the
// watermarks of the batch's partitions (analytics.offsets, per consumer
// group, topic and partition; sent while the second pass still runs), then
// the rows the batch adds to. The second writes what the batch merged into
// them (window counters added, user sets, product and search arrays; rows
// that did not exist are inserted), its waiting sessions, the late events,
// the metrics and the new watermarks, and commits (a merging batch reads
// the waiting sessions in the first, its users' rows in a round trip of
// their own, and writes their sessions in the last); each statement
// goes to the server as soon as it is built, so it runs while the next is
// merged. Taking turns costs next to no concurrency: almost every batch
// adds to the window rows of the current minute, so two seldom could write
// at once anyway; what it saves is a lock, and an empty row created
// beforehand, for every row a batch reads. Parameters and results travel
// in binary, each statement unnamed and planned for its own arrays (a
// generic plan, which assumes arrays of ten, costs several times as much).
//
// When the stored watermarks are not those the batch was folded on (another
// invocation moved them, or the commit of the batch's last try succeeded
// but its answer was lost), the transaction rolls back and the batch is
// folded again on them: records at or below a watermark are skipped, so a
// replayed batch, or its replayed head, changes nothing. A batch whose
// transaction failed (a dropped connection, a commit whose answer was lost)
// is tried again, up to three times, then returned as an error for the
// event source mapping to retry.
//
// # Late events
//
// An event counts in its own window whenever it arrives, as long as it is no
// more than the lateness bound (default one hour) behind the latest event
// time already seen on its partition; an older one goes, verbatim, to
// analytics.late_events and counts nowhere. The reference is per partition,
// in offset order, so which events are late does not depend on batching.
//
// # Dead letters
//
// The decoder dead-letters malformed records and invalid values. Handle also
// rejects an event with a NUL character in a text it stores (PostgreSQL text
// cannot hold one), so that it cannot fail its batch forever; it rejects it
// again when the record is replayed, in case its dead letter was what failed.
package analytics
