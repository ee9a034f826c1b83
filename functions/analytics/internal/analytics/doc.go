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
// distinct users, exactly: the row keeps its users' ids (user_ids, sorted)
// and their number (users). An order event counts once in each category among
// its items, with that category's units and value, and once in "_all" with
// all of them; an item without a category, or an order without items, counts
// under "unknown". The conversion funnel (product view -> cart -> order ->
// paid) is product_views, add_to_cart, orders and paid_orders of a row; the
// funnel view divides them, average order value is order_value / orders.
// analytics.product_minutes holds each product's views, carts, units ordered
// and revenue per minute and category, the view analytics.product_windows
// those and their 5-minute sums (top products: the top_products view ranks
// them); analytics.search_terms each search text per minute, stored
// verbatim and keyed by its SHA-256. Pre-computed metric events go to
// analytics.metrics, never into the sales figures.
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
// two), which gives the same sessions whatever the order. Each session row
// has its start, end, events, pages (page and product views), orders,
// whether it converted (an order) and revenue (authorized payments). The
// users' rows in analytics.users are locked, in user order, before their
// sessions are read: two invocations (one per topic) never merge one user's
// sessions at once.
//
// # Exactly once, few round trips
//
// Handle folds the batch in memory (Fold) and applies it in one
// transaction: lock the watermarks of the batch's partitions
// (analytics.offsets, per consumer group, topic and partition) and its
// users, read the sessions near the batch; skip the records at or below
// their partition's watermark; write every table with one multi-row
// statement over arrays (INSERT ... SELECT FROM unnest ... ON CONFLICT DO
// UPDATE adding the deltas), the sessions and the new watermarks; commit.
// The statements of each phase go in one pipelined batch: four round trips
// per invocation (begin, lock and read, write, commit). A replayed batch, or
// its replayed head, is skipped by the watermarks and changes nothing; a
// batch whose transaction failed (a dropped connection, a deadlock, a
// commit whose answer was lost) is tried again, up to three times, then
// returned as an error for the event source mapping to retry.
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
