// Package recommendations is the logic of the recommendations function:
// co-view and co-purchase counts per product pair, time-decayed, each
// product's top related products, and each category's popular products (the
// fallback for cold products), in DynamoDB, exactly once although batches
// arrive at least once and partitions interleave in any order.
//
// # What is counted
//
// Co-views: within a session (user_events with a session_id), when a
// product is viewed (product_view) for the first time, it is paired with
// every product the session viewed before, both ways, once per session.
// Co-purchases: an order_created pairs its distinct products, both ways.
// Popularity: every product view, and every product of an order, counts
// for the product in the category the event names and in "_all". Events
// without a session (producer shapes that have none) count for popularity
// only; a view or order line without a category counts in "_all" only.
//
// # Bounded work
//
// Only the first DefaultMaxSessionProducts (20) distinct products of a
// session, and the first DefaultMaxOrderProducts (20) distinct products of
// an order in item order, make pairs: a session or an order makes at most
// 20·19 = 380 directed pairs however long it is (a crawler's session of
// thousands of views makes 380, then nothing), so a batch of 10,000 records
// makes at most 3.8 million contributions, and in practice about two per
// record. Views past the cap still count for popularity. An item keeps at
// most Policy.MaxEntries (2,000) related products, dropping the
// lowest-scored past that.
//
// # Time decay, deterministic
//
// Counts are integers per hour of event time (BucketOf): never the wall
// clock, never a float that depends on the order it was summed in. A score
// is computed from them whenever an item is ranked: the sum over hours b of
// (views + 5·purchases)·2^((b − newest)/halfLife), newest being the item's
// newest hour and halfLife 7 days (168 hours) by default, summed in hour
// order. Scores are thus renormalised to the item's newest hour, which keeps
// them in range for any era (2^((b − epoch)/halfLife) would overflow a
// float64 within two decades), ranks exactly as scores from any fixed epoch
// would, and is bit-identical for equal counts. Hours more than 20
// half-lives behind the newest (weight under 2^-20) are dropped; the final
// state does not depend on the order they arrived in (prune).
//
// # Exactly once across partitions
//
// One product's pairs come from many users on many partitions, so a
// product cannot be owned by one partition the way inventory's stock
// stream is. Instead every contribution is keyed by its source: the
// topic-partition and offset of the record that made it (for a co-view, the
// view that completed the pair). Each related or popular item keeps, per
// topic-partition, the offset of the last record whose contributions it
// holds (its marks). A batch folds all its contributions to an item in
// memory (Fold), skipping those at or below the item's mark for their
// partition, and writes the item once, conditional on its version, with the
// new marks in the same write: the counts and the marks that say which
// records they hold change together. A replayed batch, its retried tail, or
// a batch cut at any point and delivered again skips what the item holds;
// records of one partition reach the function in offset order, so the marks
// are exact. A version conflict (another invocation, on other partitions,
// wrote the item) reloads and refolds it.
//
// Co-views need each session's earlier products. Sessions are kept in their
// own table (the products, and per partition the offset of the last record
// that added one) and written after every item their records changed was
// written. When an item write fails, its records fail through the partial
// batch response, as do all records of every session that made one of its
// contributions, and those sessions are not written: the retry, from the
// lowest failed offset of each partition, starts from the same stored
// sessions and makes the same contributions with the same offsets, which
// the items already written skip by their marks. A replayed record that a
// stored session already holds is skipped by the session's mark.
//
// On the generator's default traffic in batches of 10,000 records this is
// about 0.05 DynamoDB requests per record (reads included), against about
// 1.9 for one write per contribution (BenchmarkBatch10k).
//
// # Read path
//
// Lookup (GET /recommendations/{product_id}, behind a Lambda function URL
// in AWS and on `shopstream dev`'s HTTP server locally) reads the product's
// ranking (one GetItem), then fills up to n with the popular products of
// its category, or of the category the request names for a product never
// seen, or of all categories.
//
// # Dead letters
//
// The decoder dead-letters malformed records and invalid values; the
// function rejects nothing itself: every valid event either counts or
// changes nothing.
package recommendations
