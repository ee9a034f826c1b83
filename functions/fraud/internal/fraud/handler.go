package fraud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/kafkabatch"
)

// Name is the function's name in dead letters, logs and metrics.
const Name = "fraud"

// ErrConflict is returned for an item whose stored version is not the one
// the write was computed from: another invocation wrote it.
var ErrConflict = errors.New("fraud: item changed concurrently")

// UserKey and CardKey name profiles in PutProfiles results.
func UserKey(id string) string { return "user#" + id }

// CardKey names a card profile; see UserKey.
func CardKey(fingerprint string) string { return "card#" + fingerprint }

// Store keeps profiles and decisions.
//
// Users, Cards and Decisions return the stored items among ids, leaving
// absent ones out. PutProfiles and PutDecisions write each item only if the
// stored one is at the item's Version-1 (absent when Version is 1), and
// return the error of every item not written (ErrConflict when the version
// did not match), keyed by UserKey or CardKey, or by order id. An item
// already stored exactly as given counts as written (a retried write that
// had landed). Implementations must be safe for concurrent use.
type Store interface {
	Users(ctx context.Context, ids []string) (map[string]*UserProfile, error)
	Cards(ctx context.Context, ids []string) (map[string]*CardProfile, error)
	PutProfiles(ctx context.Context, users []*UserProfile, cards []*CardProfile) map[string]error
	Decisions(ctx context.Context, orderIDs []string) (map[string]*Decision, error)
	PutDecisions(ctx context.Context, ds []*Decision) map[string]error
}

// AlertSink delivers fraud alerts. Send must deliver every alert or return
// an error, and must be idempotent: an alert sent again has the same
// EventID, and delivering it twice must be harmless (overwrite it, or let
// readers drop it by EventID). Send must be safe for concurrent use.
type AlertSink interface {
	Send(ctx context.Context, alerts []*event.FraudAlert) error
}

// Handler scores orders from the transactions topic.
type Handler struct {
	store  Store
	alerts AlertSink
	cfg    *Config
	logger *slog.Logger
	stats  Counters
}

// Counters are running totals of a Handler, for tests and benchmarks.
type Counters struct {
	Events, Orders, Payments, Ignored, Replayed  atomic.Int64
	Approved, Reviewed, Declined, Escalated      atomic.Int64
	Alerts, DecisionWrites, ProfileWrites, Fails atomic.Int64
}

// Option configures a Handler.
type Option func(*Handler)

// WithConfig sets the rules. Default: DefaultConfig().
func WithConfig(c *Config) Option { return func(h *Handler) { h.cfg = c } }

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.logger = l } }

// New returns a Handler keeping state in store and raising alerts to alerts.
func New(store Store, alerts AlertSink, opts ...Option) *Handler {
	h := &Handler{store: store, alerts: alerts}
	for _, o := range opts {
		o(h)
	}
	if h.cfg == nil {
		h.cfg = DefaultConfig()
	}
	if h.logger == nil {
		h.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h
}

// Stats returns the handler's running totals.
func (h *Handler) Stats() *Counters { return &h.stats }

// Config returns the rules in use.
func (h *Handler) Config() *Config { return h.cfg }

var _ kafkabatch.Handler = (*Handler)(nil)

// pending gathers what a batch says about one order.
type pending struct {
	facts       *Facts // set when the batch holds the order's order_created
	reasons     []event.FraudReason
	unevaluated []string
	sources     map[string]bool // profile keys whose evaluation contributed
	msg         int             // the latest message that contributed
}

type batch struct {
	h      *Handler
	msgs   []*kafkabatch.Message
	pend   map[string]*pending
	users  map[string][]int
	cards  map[string][]int
	failed map[string]error // profile key -> why its records fail
	report *BatchReport
}

func (w *batch) add(order string, f *Finding, source string, msg int) {
	if f == nil {
		return
	}
	for _, id := range append([]string{order}, f.Also...) {
		p := w.pend[id]
		if p == nil {
			p = &pending{sources: map[string]bool{}}
			w.pend[id] = p
		}
		p.reasons = append(p.reasons, f.Reason)
		p.sources[source] = true
		p.msg = max(p.msg, msg)
	}
}

func (w *batch) fail(key string, err error) {
	if w.failed[key] == nil {
		w.failed[key] = err
	}
}

// Handle implements kafkabatch.Handler. It folds each account's events of
// the batch into its profile (one read, one write per account), then each
// card's (one read, one write per card), collecting every rule's findings
// per order; merges them into the stored decisions (one read for all, one
// conditional write per changed decision, in batches); raises the alerts of
// decisions newly flagged; and writes the profiles last, each conditional on
// its version and carrying the offsets it applied. A replayed record is at
// or below its profile's offset and changes nothing. Anything that fails
// fails the records of the profiles it depends on, which are not written,
// so that the event source mapping delivers them again.
func (h *Handler) Handle(ctx context.Context, b *kafkabatch.Batch) error {
	w := &batch{h: h, msgs: b.Messages(), pend: map[string]*pending{}, users: map[string][]int{},
		cards: map[string][]int{}, failed: map[string]error{}, report: reportFrom(ctx)}
	for i, m := range w.msgs {
		var user, card string
		switch e := m.Event.(type) {
		case *event.OrderCreated:
			user, card = e.UserID, string(e.CardFingerprint)
			h.stats.Orders.Add(1)
		case *event.PaymentAuthorized:
			user, card = e.UserID, string(e.CardFingerprint)
			h.stats.Payments.Add(1)
		case *event.PaymentFailed:
			user, card = e.UserID, string(e.CardFingerprint)
			h.stats.Payments.Add(1)
		default:
			h.stats.Ignored.Add(1) // shipments, cancellations, refunds, metrics
			continue
		}
		w.users[user] = append(w.users[user], i)
		if card != "" {
			w.cards[card] = append(w.cards[card], i)
		}
	}
	h.stats.Events.Add(int64(len(w.msgs)))
	if len(w.users) == 0 {
		return nil
	}
	userIDs := slices.Sorted(maps.Keys(w.users))
	cardIDs := slices.Sorted(maps.Keys(w.cards))
	users, err := h.store.Users(ctx, userIDs)
	if err != nil {
		w.failAll(fmt.Errorf("load %d user profiles: %w", len(userIDs), err))
		w.finish(ctx, b)
		return nil
	}
	cards, err := h.store.Cards(ctx, cardIDs)
	if err != nil {
		w.failAll(fmt.Errorf("load %d card profiles: %w", len(cardIDs), err))
		w.finish(ctx, b)
		return nil
	}
	var putUsers []*UserProfile
	for _, id := range userIDs {
		if p := w.foldUser(id, users[id]); p != nil {
			putUsers = append(putUsers, p)
		}
	}
	var putCards []*CardProfile
	for _, id := range cardIDs {
		if p := w.foldCard(id, cards[id]); p != nil {
			putCards = append(putCards, p)
		}
	}
	w.decide(ctx)
	// Profiles last: only those whose findings are all stored.
	putUsers = slices.DeleteFunc(putUsers, func(p *UserProfile) bool { return w.failed[UserKey(p.ID)] != nil })
	putCards = slices.DeleteFunc(putCards, func(p *CardProfile) bool { return w.failed[CardKey(p.ID)] != nil })
	if len(putUsers)+len(putCards) > 0 {
		errs := h.store.PutProfiles(ctx, putUsers, putCards)
		for k, err := range errs {
			w.fail(k, fmt.Errorf("write profile: %w", err))
		}
		h.stats.ProfileWrites.Add(int64(len(putUsers) + len(putCards) - len(errs)))
	}
	w.finish(ctx, b)
	return nil
}

// finish fails the records of every profile not written.
func (w *batch) finish(ctx context.Context, b *kafkabatch.Batch) {
	h := w.h
	failedMsgs := map[int]error{}
	for key, err := range w.failed {
		var idx []int
		if id, ok := cutPrefix(key, "user#"); ok {
			idx = w.users[id]
		} else if id, ok := cutPrefix(key, "card#"); ok {
			idx = w.cards[id]
		}
		for _, i := range idx {
			if failedMsgs[i] == nil {
				failedMsgs[i] = err
			}
		}
	}
	for i, err := range failedMsgs {
		b.Fail(w.msgs[i], err)
	}
	if len(w.failed) > 0 {
		keys := slices.Sorted(maps.Keys(w.failed))
		h.logger.LogAttrs(ctx, slog.LevelWarn, "records failed, to be delivered again", w.attrs(ctx, w.msgs[slices.Min(slices.Collect(maps.Keys(failedMsgs)))],
			slog.Int("records", len(failedMsgs)), slog.Int("profiles", len(keys)), slog.String("profile", keys[0]), slog.String("err", w.failed[keys[0]].Error()))...)
	}
	h.stats.Fails.Add(int64(len(failedMsgs)))
	if w.report != nil {
		w.report.Failed += len(failedMsgs)
	}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func (w *batch) failAll(err error) {
	for id := range w.users {
		w.fail(UserKey(id), err)
	}
}

// foldUser applies the account's events of the batch to its profile and
// returns the profile to write, or nil when nothing changed (a replay).
func (w *batch) foldUser(id string, cur *UserProfile) *UserProfile {
	c := w.h.cfg
	if cur == nil {
		cur = NewUserProfile(id)
	}
	p := cur.Clone()
	key := UserKey(id)
	changed := false
	for _, i := range w.users[id] {
		m := w.msgs[i]
		if applied(p.Marks, m.TopicPartition(), m.Offset) {
			w.h.stats.Replayed.Add(1)
			continue
		}
		changed = true
		var at int64
		switch e := m.Event.(type) {
		case *event.OrderCreated:
			f, missing := FactsOf(e)
			at = f.At
			pd := w.pend[f.OrderID]
			if pd == nil {
				pd = &pending{sources: map[string]bool{}}
				w.pend[f.OrderID] = pd
			}
			pd.facts, pd.unevaluated = &f, missing
			pd.sources[key] = true
			pd.msg = max(pd.msg, i)
			for _, fd := range []*Finding{Blocklist(c, &f), Velocity(c, p, &f), CardTestingOrder(c, p, &f),
				CardsPerAccount(c, p, &f), Amount(c, p, &f), Quantity(c, p, &f), Travel(c, p, &f), AccountChange(c, p, &f)} {
				w.add(f.OrderID, fd, key, i)
			}
			p.applyOrder(c, &f)
		default:
			pay, _ := PaymentOf(e)
			at = pay.At
			if pay.OrderID != "" {
				w.add(pay.OrderID, PaymentVelocity(c, p, &pay), key, i)
				w.add(pay.OrderID, CardTestingPayment(c, p, &pay), key, i)
			}
			p.Payments = append(p.Payments, PaymentEntry{Order: pay.OrderID, At: pay.At, Failed: pay.Failed, Amount: pay.Amount})
		}
		p.LastAt = max(p.LastAt, at)
		p.prune(c.Retention.ms())
	}
	if !changed {
		return nil
	}
	p.Version = cur.Version + 1
	return p
}

func (p *UserProfile) applyOrder(c *Config, f *Facts) {
	p.Orders = append(p.Orders, OrderEntry{ID: f.OrderID, At: f.At, Card: f.Card, Amount: f.Amount})
	if f.Amount >= 0 {
		p.Amounts = append(p.Amounts, f.Amount)
		if n := len(p.Amounts) - c.Amount.History; n > 0 {
			p.Amounts = slices.Delete(p.Amounts, 0, n)
		}
	}
	p.MaxUnits = max(p.MaxUnits, f.MaxUnits)
	p.OrderCount++
	p.Cards = see(p.Cards, f.Card, f.At)
	p.IPs = see(p.IPs, hashIP(f.IP), f.At)
	p.Devices = see(p.Devices, f.Device, f.At)
	if f.HasFix {
		p.addPlace(f.Lat, f.Lon, f.City, f.Country, c.Travel.KnownPlaceKM)
		if p.Last == nil || f.At >= p.Last.At {
			p.Last = &Fix{Lat: f.Lat, Lon: f.Lon, At: f.At, City: f.City}
		}
	}
}

// foldCard applies the card's events of the batch to its profile.
func (w *batch) foldCard(id string, cur *CardProfile) *CardProfile {
	c := w.h.cfg
	if cur == nil {
		cur = NewCardProfile(id)
	}
	p := cur.Clone()
	key := CardKey(id)
	changed := false
	for _, i := range w.cards[id] {
		m := w.msgs[i]
		if applied(p.Marks, m.TopicPartition(), m.Offset) {
			continue
		}
		changed = true
		var at int64
		switch e := m.Event.(type) {
		case *event.OrderCreated:
			u := CardUse{User: e.UserID, Order: e.OrderID, At: e.OccurredAt.UnixMilli()}
			at = u.At
			w.add(u.Order, AccountsPerCard(c, p, &u), key, i)
			w.add(u.Order, CardVelocity(c, p, &u), key, i)
			if pd := w.pend[u.Order]; pd != nil {
				pd.sources[key] = true
			}
			p.Uses = append(p.Uses, u)
		default:
			pay, _ := PaymentOf(e)
			at = pay.At
			if pay.Failed {
				w.add(pay.OrderID, CardTestingCard(c, p, &pay), key, i)
				p.Failures = append(p.Failures, PaymentEntry{Order: pay.OrderID, At: pay.At, Failed: true, Amount: pay.Amount})
			}
		}
		p.LastAt = max(p.LastAt, at)
		p.prune(c.Retention.ms())
	}
	if !changed {
		return nil
	}
	p.Version = cur.Version + 1
	return p
}

// decide merges the batch's findings into the stored decisions, raises the
// alerts of newly flagged ones and writes them.
func (w *batch) decide(ctx context.Context) {
	h, c := w.h, w.h.cfg
	if len(w.pend) == 0 {
		return
	}
	ids := slices.Sorted(maps.Keys(w.pend))
	stored, err := h.store.Decisions(ctx, ids)
	if err != nil {
		err = fmt.Errorf("load %d decisions: %w", len(ids), err)
		for _, id := range ids {
			w.failSources(w.pend[id], err)
		}
		return
	}
	var writes []*Decision
	for _, id := range ids {
		pd := w.pend[id]
		old := stored[id]
		var d *Decision
		switch {
		case old != nil:
			d = old.Clone()
		case pd.facts != nil:
			f := pd.facts
			d = &Decision{OrderID: f.OrderID, UserID: f.UserID, At: f.At, Card: event.Sensitive(f.Card),
				Unevaluated: pd.unevaluated}
		default:
			// Evidence against an order this function never decided (its
			// order_created was a dead letter, or is older than its state).
			continue
		}
		for _, r := range pd.reasons {
			d.merge(r)
		}
		d.settle(c)
		if old == nil || !d.Equal(old) {
			d.RuleVersion = c.Version
			d.Version++
			writes = append(writes, d)
		}
	}
	// Alerts before the decisions that record them: a failure between the
	// two raises the same alerts again, with the same ids.
	var alerts []*event.FraudAlert
	var flagged []*Decision
	for _, d := range writes {
		if d.needsAlert() {
			alerts = append(alerts, d.Alert())
			d.Alerted = d.Decision
			flagged = append(flagged, d)
		}
	}
	if len(alerts) > 0 {
		if err := h.alerts.Send(ctx, alerts); err != nil {
			err = fmt.Errorf("send %d alerts: %w", len(alerts), err)
			for _, d := range flagged {
				w.failSources(w.pend[d.OrderID], err)
			}
			writes = slices.DeleteFunc(writes, func(d *Decision) bool { return d.Alerted == d.Decision && slices.Contains(flagged, d) })
			alerts = nil
		}
	}
	for _, a := range alerts {
		m := w.msgs[w.pend[a.OrderID].msg]
		h.logger.LogAttrs(ctx, slog.LevelInfo, "fraud alert", w.attrs(ctx, m,
			slog.String("order_id", a.OrderID), slog.String("alert_id", a.EventID), slog.String("decision", a.Decision),
			slog.Float64("score", a.Score), slog.Any("card_fingerprint", a.CardFingerprint))...)
	}
	errs := h.store.PutDecisions(ctx, writes)
	for _, d := range writes {
		if err := errs[d.OrderID]; err != nil {
			w.failSources(w.pend[d.OrderID], fmt.Errorf("write decision %s: %w", d.OrderID, err))
			continue
		}
		h.stats.DecisionWrites.Add(1)
		if stored[d.OrderID] != nil {
			h.stats.Escalated.Add(1)
			if w.report != nil {
				w.report.Escalated++
			}
		}
		if w.pend[d.OrderID].facts != nil {
			switch d.Decision {
			case DecisionApprove:
				h.stats.Approved.Add(1)
			case DecisionReview:
				h.stats.Reviewed.Add(1)
			case DecisionDecline:
				h.stats.Declined.Add(1)
			}
			if w.report != nil {
				w.report.Decisions[d.Decision]++
			}
		}
		if d.Alerted == d.Decision && slices.Contains(flagged, d) {
			h.stats.Alerts.Add(1)
			if w.report != nil {
				w.report.Alerts++
			}
		}
	}
}

func (w *batch) failSources(pd *pending, err error) {
	for k := range pd.sources {
		w.fail(k, err)
	}
}

// attrs are the log attributes of a record.
func (w *batch) attrs(ctx context.Context, m *kafkabatch.Message, extra ...slog.Attr) []slog.Attr {
	a := make([]slog.Attr, 0, 6+len(extra))
	a = append(a, slog.String("function", Name))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		a = append(a, slog.String("aws_request_id", lc.AwsRequestID))
	}
	a = append(a, slog.String("topic", m.Topic), slog.Int("partition", int(m.Partition)), slog.Int64("offset", m.Offset),
		slog.String("event_id", m.Event.Meta().EventID))
	return append(a, extra...)
}

// BatchReport is what one batch decided, for its metrics line.
type BatchReport struct {
	Decisions map[string]int
	Escalated int
	Alerts    int
	Failed    int
}

type reportKey struct{}

// WithReport returns a context under which Handle records what it decides
// into r.
func WithReport(ctx context.Context, r *BatchReport) context.Context {
	if r.Decisions == nil {
		r.Decisions = map[string]int{}
	}
	return context.WithValue(ctx, reportKey{}, r)
}

func reportFrom(ctx context.Context) *BatchReport {
	r, _ := ctx.Value(reportKey{}).(*BatchReport)
	return r
}
