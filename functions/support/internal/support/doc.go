// Package support is the logic of the support function: rating aggregates
// per hour (overall, per product, per category) and support cases from
// customer feedback, with order context from the transactions topic, in
// DynamoDB, exactly once although batches arrive at least once and the two
// topics arrive in any interleaving.
//
// # Model
//
// Everything is kept per subject: an order ("o#" + order id), holding its
// context merged from every lifecycle event of the order (user, items with
// their categories, total, payment method, the lifecycle events seen) and
// every feedback that names it; or a feedback that names no order ("f#" +
// event id; producer shapes such as {"user_id","feedback","timestamp",
// "rating"} carry none). A subject is a join of what arrived: merging is
// idempotent, commutative and associative (Subject.MergeOrder, AddFeedback
// keyed by event id), so a subject ends the same whatever the order of its
// records and however often they come.
//
// What the function writes is a function of subjects:
//   - Contributions: each rating counts in its hour overall, for the product
//     the feedback names, and for that product's category in the order's
//     context, or UnknownCategory while (or if ever) the context gives none.
//   - CaseOf: a subject with a feedback rated LowRating or less, or whose text
//     signals a problem (Classify: refund, broken, late, never arrived,
//     fraud...), has one case: the union of its feedback's reasons, the
//     highest of their priorities (fraud, not delivered and a rating of 1 are
//     high; damaged, refund, wrong item and a rating of 2 medium; late and no
//     response low), every feedback of the subject, and the order context, or
//     ContextMissing saying why there is none.
//
// # Exactly once, in any arrival order
//
// Handle groups a batch's records by subject, reads the subjects (100 per
// BatchGetItem), merges the batch into each, and for every subject that
// changed writes, in one transaction: the subject, conditional on its
// version; the difference between the new and the old subject's
// contributions, added to the rating items; and the case, when it changed.
// A feedback that arrives before its order counts under UnknownCategory and
// opens its case without context; the order's first transaction moves the
// rating to its category (minus one there, plus one here) and completes the
// case, in the same transaction. Up to 100 actions make one
// TransactWriteItems: on the generator's traffic, in batches of 10,000
// records, under 0.01 requests per record.
//
// Idempotency is keyed on event ids, not on offsets: a feedback's
// contribution depends on records of another topic that may come later, so
// it must be revisable, and that needs to know per feedback what was
// counted, which the subject holds. A replayed record changes no subject and
// writes nothing; a batch cut anywhere leaves each subject either written,
// with its ratings and case, or not at all. A subject another invocation
// wrote meanwhile fails its condition and is read and merged again.
//
// # Alerts
//
// A case that becomes high priority raises an Alert (to the support_alerts
// topic, and to any other Publisher, such as SNS) before the transaction
// that records it; its id derives from the case, so a retry raises the same
// id and receivers drop duplicates.
//
// # Text
//
// Feedback text is data: stored capped at MaxStoredText bytes (with its
// full length), logged as a short escaped excerpt (Text), and only searched
// for known words and phrases, never interpreted otherwise.
//
// # Dead letters and limits
//
// The decoder dead-letters malformed records and invalid values. A subject
// keeps at most MaxFeedback feedback (so that its change fits one
// transaction); further mentions are rejected to the dead-letter path.
package support
