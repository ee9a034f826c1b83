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
// One order item per order holds its lifecycle (reserved, backordered or
// partially reserved, shipped, cancelled), its lines and what it has
// applied; see Order.Apply for every transition, including a ship or cancel
// that arrives before its order_created, a duplicate ship, and a cancel
// after ship (which releases nothing).
//
// # Reservation modes
//
// Policy.Reservation says what an order gets when stock cannot cover it.
// ReserveBackorder (the default) reserves every line in full, leaving
// available stock negative, and backorders the order (see Convergence).
// ReservePartial reserves, per line, what is available, and no more: the
// product item records the units the order is short of (Product.Shorts),
// raises a backordered alert naming the order, and the order item becomes
// partially_reserved with the short units on its lines (Line.Short). The
// order's cancel releases, and its ship commits, exactly what was reserved:
// the product folds leave the recorded short out. A refund that lists no
// items puts back what shipped. The product item is the authority on what
// was short, and keeps it after the order ships or is cancelled for
// Policy.Horizon of event time, so that a batch retried after its order
// writes failed projects the same short units onto the order. A partial
// reservation is decided once, against the stock known when the order is
// processed, and is not topped up when stock arrives later.
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
//   - Partial reservations do not converge in that sense: what an order
//     reserved depends on the stock processed before it, so an order
//     processed ahead of the restock that preceded it in event time stays
//     short of it. Delivered in event-time order, as a mapping reading live
//     traffic delivers, partial mode ends with the state of applying every
//     event in event-time order (TestPartialReservationEqualsModel); replays,
//     duplicate deliveries and cut batches change nothing, as in the
//     default mode.
//
// # Alerts
//
// Low stock (available at or below the product's threshold) and out of
// stock (nothing available) are raised once per crossing into the worse
// level, not per event, and reset when stock recovers; an order that cannot
// be covered raises backordered. Thresholds come from Rules: the product's
// own, else its category's, else the default; a threshold of 0 leaves out
// of stock as the only level. The product item records its threshold and,
// while a warehouse is at or below it, a low_stock summary that
// DynamoDB.LowStock reads for the dashboard. Alerts go to the alerts table and the inventory_alerts
// topic before the write that records them, with ids derived from the
// product, the item version and their place in the fold: a retried batch
// raises the same ids, which the table overwrites and topic readers drop. A
// fold lost to a version conflict may have sent an alert that the refold,
// from the newer version, raises under another id or not at all.
//
// # Dead letters
//
// The decoder dead-letters malformed records and invalid values (a negative
// restock, a zero change, a count below zero, an order line of no units).
// Handle also rejects, with reason "rejected", a stock count that names no
// warehouse (it could overwrite the wrong one), a restocking refund of an
// unknown order that lists no items and, when WithCatalog is set (unknown
// products rejected), any inventory event about a product outside the
// catalogue and any order lifecycle event with an item of one (the whole
// record: an order is never applied in part). Without a catalogue every
// product is accepted: an inventory event about a new product creates its
// stock, and an order for a product with no stock record reserves under
// Pending and is backordered (short of everything in partial mode), with an
// alert, until stock arrives.
package inventory
