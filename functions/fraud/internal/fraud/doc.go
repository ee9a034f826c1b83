// Package fraud is the logic of the fraud function: it scores every order
// of the transactions topic with configurable rules over per-account and
// per-card profiles kept in DynamoDB, records one decision per order
// (approve, review or decline, with its score, reasons and the rules'
// version), and raises an alert for every order it reviews or declines:
// to the alerts table, the fraud_alerts topic and, in AWS, SNS.
//
// # Rules
//
// Each rule is a small function of the order (or payment) and a profile
// that returns a Finding: a score contribution and a reason, and the other
// orders the same evidence implicates. A decision counts each rule once, at
// its highest contribution; the total maps onto the decision through the
// thresholds. The rules: Blocklist (cards, IP addresses, countries),
// Velocity (orders and payment attempts per account, orders per card, in
// sliding windows), CardTesting (failed small authorisations per account
// and per card), CardsPerAccount, AccountsPerCard, Amount (median and MAD
// of the account's log order totals, with a cold-start rule for accounts
// with little history), Quantity (units of one product far above the
// account's own), Travel (speed between consecutive located orders, to a
// place the account never ordered from) and AccountChange (a card, IP
// address, device or place new to an established account). Thresholds and
// scores are a versioned JSON document (rules.json, embedded; the
// function's FRAUD_RULES names another).
//
// A producer shape may lack the card, the location, the prices: a rule
// that needs what an order lacks does not run, and the decision lists it
// under Unevaluated ("amount: no amount"); a missing field never counts
// as suspicious.
//
// # Evidence after the fact
//
// Some evidence appears only after the orders it concerns: the fourth order
// of a burst, the third failed authorisation of a card-testing account, the
// second account to use a card. Such a finding escalates the implicated
// orders' stored decisions too (review, then decline; never down), and
// their alerts follow. AccountsPerCard looks at uses on either side of an
// order, so the final decisions do not depend on which account's
// partition is processed first.
//
// # Exactly once, few requests
//
// Handle groups a batch's events by account (one partition, in order) and
// by card. Each account's events are folded into its profile (one read and
// one write per account and batch, whatever its number of events), then
// each card's into the card's profile. Every profile records, per
// topic-partition, the offset of the last record it applied; a record at or
// below it is a replay and changes nothing. The findings are merged into
// the decisions (read in BatchGetItem, written only when changed, each
// write conditional on the item's version, in TransactWriteItems of 100);
// alerts are raised before the decisions that record them, with ids
// derived from the order and the decision, so a replay raises none and a
// retry after a failure raises the same ones again. Profiles are written
// last, conditional on their versions: a profile whose findings could not
// all be stored is not written, and its records fail through the partial
// batch response, to come back and be folded again from the same state.
// Profiles expire (TTL) 30 days after their last activity. On the
// generator's default traffic, a batch of 10,000 records costs about 0.02
// DynamoDB requests per record (BenchmarkHandler10k).
//
// # Dead letters
//
// The decoder dead-letters malformed records and invalid values with their
// reason; they never fail the batch. Shipments, cancellations, refunds and
// metrics pass through without effect.
package fraud
