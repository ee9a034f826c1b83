// Package inventory is the logic of the inventory function: stock per
// product and warehouse from inventory events, reservations from the order
// lifecycle, low-stock, out-of-stock and backorder alerts, in DynamoDB,
// exactly once although batches arrive at least once and out of order.
//
// # Model
//
// One stock item per product holds, per warehouse, on hand, reserved and
// available (on hand − reserved). stock_adjusted, restocked and
// shipment_received add to on hand; stock_counted sets it as counted at its
// event time. order_created reserves each line (in the warehouse that holds
// the product), order_cancelled releases, order_shipped commits (on hand and
// reserved drop), refund_issued with restock puts the refunded items back.
// One order item per order holds its lifecycle (reserved or backordered,
// shipped, cancelled), its lines and what it has applied; see Order.Apply for
// every transition, including a ship or cancel that arrives before its
// order_created, a duplicate ship, and a cancel after ship (which releases
// nothing).
//
// # Exactly once, few writes
//
// Handle runs each order's lifecycle events of the batch from its stored
// state, which turns them into stock changes, and groups those with the
// inventory events by product. Each product's changes are folded in memory
// (Fold) into its new state, written with one UpdateItem conditional on the
// item's version. The item also records, per topic-partition, the offset of
// the last record applied to it; Fold skips records at or below it, so a
// replayed batch, or its retried tail, changes nothing. Orders are written
// after every product write they depend on succeeded (BatchWriteItem, 25 per
// request): an order whose product write failed is not written, its records
// are failed through the partial batch response, and the retry recomputes
// the same changes from the same stored order, the products that were
// written skipping them by their marks. A version conflict (another
// invocation wrote the product) reloads and refolds it. On the generator's
// default traffic in batches of 10,000 records this is about 0.065 write
// requests per record.
//
// # Convergence
//
// In one event source mapping over inventory_updates (keyed by product) and
// transactions (keyed by user), the records of one product's stock stream,
// and of one order, arrive in order, but an order can be processed before
// stock events that precede it in event time, or after later ones. The final
// state does not depend on that interleaving:
//
//   - Reserved is a sum of reservations, releases and commits: it commutes.
//   - On hand is "the latest count, plus every change after it". Each
//     warehouse keeps the count applied (its event time and its record's
//     partition and offset) and a journal of the on-hand changes after it.
//     A change before the count is already in it and is dropped; a change
//     after it is added and journaled. A count after the current one sets on
//     hand to its quantity plus the journaled changes after it, and drops the
//     rest; an earlier count is superseded and dropped. "After" is decided
//     pairwise: on the same partition by offset (a product's inventory events
//     share one partition, in the order they happened, even when a
//     producer's timestamps have whole seconds only), across partitions by
//     event time, a change of the same millisecond as the count counting as
//     the earlier. Any order of delivery therefore ends with the same on
//     hand as applying everything in order (TestFoldOrderIndependent,
//     TestFoldSameMillisecond, TestDenseLegacyTraffic). What stays ambiguous:
//     an order event (transactions) in the same millisecond as a count, or
//     one whose producer shape has whole-second timestamps, in the same
//     second. Journal entries older than Policy.Horizon (24 hours) behind the
//     product's latest event are pruned; a count arriving later than that is
//     applied inexactly and counted (FoldResult.Inexact).
//   - Which warehouse a line uses: the product's only warehouse, or the one
//     with most available stock. An order that reaches a product before any
//     inventory event waits under Pending and moves into the first warehouse
//     that appears.
//   - Backorders: a reservation that leaves available stock negative puts the
//     order on the product's backorder list (and raises a backordered alert):
//     stock is never oversold silently. When a fold leaves no warehouse of
//     the product short, the list empties and those orders count as
//     reserved: an order that was processed before the restock that preceded
//     it is re-evaluated when the stock arrives. The product items are the
//     authority on backorders (State); the order item's status follows them.
//     The final state converges because the final stock of every product is
//     reached by its last fold, and a fold that ends with nothing short
//     clears every backorder.
//   - Order lifecycle events of one order share a partition, so they arrive
//     in order; duplicates are skipped by the order's marks and by the
//     transitions themselves.
//
// # Alerts
//
// Low stock (available under the product's threshold) and out of stock
// (nothing available) are raised once per crossing into the worse level, not
// per event, and reset when stock recovers; an order that cannot be covered
// raises backordered. Alerts go to the alerts table and the inventory_alerts
// topic before the write that records them, with ids derived from the
// product, the item version and their place in the fold: a retried batch
// raises the same ids, which the table overwrites and topic readers drop. A
// fold lost to a version conflict may have sent an alert that the refold,
// from the newer version, raises under another id or not at all.
//
// # Dead letters
//
// The decoder dead-letters malformed records and invalid values (a negative
// restock, a zero change, a count below zero). Handle also rejects, with
// reason "rejected", a stock count that names no warehouse (it could
// overwrite the wrong one) and a restocking refund of an unknown order that
// lists no items.
package inventory
