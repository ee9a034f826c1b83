package fraud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/shared/dynamobatch"
	"github.com/shopstream/shopstream/shared/dynamotable"

	"github.com/shopstream/shopstream/shared/event"
)

// Tables names the function's DynamoDB tables. Each has a string partition
// key and no sort key: Profiles "pk" ("user#<id>" or "card#<fingerprint>",
// with TTL on "expires_at"), Decisions "order_id", Alerts "alert_id".
type Tables struct {
	Profiles, Decisions, Alerts string
}

// DynamoDB is the Store, and an AlertSink (the alerts table), on DynamoDB.
//
// A profile item holds "kind", "id", "version", "state" (the profile as
// JSON: recent activity, amount history, marks) and "expires_at" (epoch
// seconds: ProfileTTL after the later of its last event and the write).
// A decision item holds "user_id", "at", "score", "decision", "reasons",
// "rule_version", "unevaluated", "alerted", "version" and, when the order
// named one, "card_fingerprint". Conditional writes go in
// TransactWriteItems of up to 100 items, reads in BatchGetItem of 100 keys.
type DynamoDB struct {
	client *dynamodb.Client
	tables Tables
	ttl    time.Duration
	now    func() time.Time
	reqs   atomic.Int64
}

var (
	_ Store     = (*DynamoDB)(nil)
	_ AlertSink = (*DynamoDB)(nil)
)

// ProfileTTL is how long a profile outlives its last event by default.
const ProfileTTL = 30 * 24 * time.Hour

// NewDynamoDB returns a store on client's tables. Profiles expire ttl after
// their last activity (0 means ProfileTTL); now is the clock of that
// (nil means time.Now).
func NewDynamoDB(client *dynamodb.Client, tables Tables, ttl time.Duration, now func() time.Time) *DynamoDB {
	if ttl <= 0 {
		ttl = ProfileTTL
	}
	if now == nil {
		now = time.Now
	}
	return &DynamoDB{client: client, tables: tables, ttl: ttl, now: now}
}

// Requests returns the number of DynamoDB requests sent so far (reads and
// writes, retries of unprocessed items included).
func (d *DynamoDB) Requests() int64 { return d.reqs.Load() }

// Specs describes the tables, for local setup and the CDK stack alike.
func (t Tables) Specs() []dynamotable.Spec {
	return []dynamotable.Spec{
		{Name: t.Profiles, Env: "PROFILES_TABLE", PartitionKey: "pk", TTL: "expires_at", Purpose: "per-user and per-card profiles: recent activity, amount history, last location, per-partition offsets"},
		{Name: t.Decisions, Env: "DECISIONS_TABLE", PartitionKey: "order_id", Purpose: "one decision per order: score, decision, reasons, rule version"},
		{Name: t.Alerts, Env: "ALERTS_TABLE", PartitionKey: "alert_id", Purpose: "review and decline alerts"},
	}
}

// CreateTables creates the tables (on-demand billing) with TTL on the
// profiles, and waits until they are active. Existing tables are kept.
func (d *DynamoDB) CreateTables(ctx context.Context) error {
	return dynamotable.Create(ctx, d.client, d.tables.Specs()...)
}

// Users implements Store.
func (d *DynamoDB) Users(ctx context.Context, ids []string) (map[string]*UserProfile, error) {
	out := make(map[string]*UserProfile, len(ids))
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = UserKey(id)
	}
	err := d.batchGet(ctx, d.tables.Profiles, "pk", keys, func(item map[string]types.AttributeValue) error {
		p := &UserProfile{ID: str(item["id"])}
		v, err := decodeState(item, p)
		if err != nil {
			return fmt.Errorf("user %s: %w", p.ID, err)
		}
		p.Version = v
		if p.Marks == nil {
			p.Marks = map[string]int64{}
		}
		out[p.ID] = p
		return nil
	})
	return out, err
}

// Cards implements Store.
func (d *DynamoDB) Cards(ctx context.Context, ids []string) (map[string]*CardProfile, error) {
	out := make(map[string]*CardProfile, len(ids))
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = CardKey(id)
	}
	err := d.batchGet(ctx, d.tables.Profiles, "pk", keys, func(item map[string]types.AttributeValue) error {
		p := &CardProfile{ID: str(item["id"])}
		v, err := decodeState(item, p)
		if err != nil {
			return fmt.Errorf("card profile: %w", err)
		}
		p.Version = v
		if p.Marks == nil {
			p.Marks = map[string]int64{}
		}
		out[p.ID] = p
		return nil
	})
	return out, err
}

func decodeState(item map[string]types.AttributeValue, into any) (int64, error) {
	v, err := num(item["version"])
	if err != nil {
		return 0, err
	}
	b, ok := item["state"].(*types.AttributeValueMemberB)
	if !ok {
		return 0, errors.New("no state")
	}
	if err := json.Unmarshal(b.Value, into); err != nil {
		return 0, fmt.Errorf("state: %w", err)
	}
	return v, nil
}

// PutProfiles implements Store.
func (d *DynamoDB) PutProfiles(ctx context.Context, users []*UserProfile, cards []*CardProfile) map[string]error {
	var puts []condPut
	errs := map[string]error{}
	add := func(kind, id string, version, last int64, state any) {
		key := kind + "#" + id
		b, err := json.Marshal(state)
		if err != nil {
			errs[key] = err
			return
		}
		exp := (max(last, d.now().UnixMilli()) + d.ttl.Milliseconds()) / 1000
		puts = append(puts, condPut{key: key, keyAttr: "pk", version: version, item: map[string]types.AttributeValue{
			"pk": s(key), "kind": s(kind), "id": s(id), "version": n(version),
			"state": &types.AttributeValueMemberB{Value: b}, "expires_at": n(exp),
		}})
	}
	for _, p := range users {
		add("user", p.ID, p.Version, p.LastAt, p)
	}
	for _, p := range cards {
		add("card", p.ID, p.Version, p.LastAt, p)
	}
	for k, err := range d.transactPuts(ctx, d.tables.Profiles, puts) {
		errs[k] = err
	}
	return errs
}

// Decisions implements Store.
func (d *DynamoDB) Decisions(ctx context.Context, ids []string) (map[string]*Decision, error) {
	out := make(map[string]*Decision, len(ids))
	err := d.batchGet(ctx, d.tables.Decisions, "order_id", ids, func(item map[string]types.AttributeValue) error {
		dec, err := decodeDecision(item)
		if err != nil {
			return err
		}
		out[dec.OrderID] = dec
		return nil
	})
	return out, err
}

// PutDecisions implements Store.
func (d *DynamoDB) PutDecisions(ctx context.Context, ds []*Decision) map[string]error {
	puts := make([]condPut, len(ds))
	for i, dec := range ds {
		puts[i] = condPut{key: dec.OrderID, keyAttr: "order_id", version: dec.Version, item: encodeDecision(dec)}
	}
	return d.transactPuts(ctx, d.tables.Decisions, puts)
}

// AllDecisions returns every decision (a scan: for verification).
func (d *DynamoDB) AllDecisions(ctx context.Context) ([]*Decision, error) {
	items, err := d.scan(ctx, d.tables.Decisions)
	if err != nil {
		return nil, err
	}
	out := make([]*Decision, 0, len(items))
	for _, it := range items {
		dec, err := decodeDecision(it)
		if err != nil {
			return nil, err
		}
		out = append(out, dec)
	}
	return out, nil
}

// AllProfiles returns every profile item's key and state (a scan: for
// tests).
func (d *DynamoDB) AllProfiles(ctx context.Context) (map[string]string, error) {
	items, err := d.scan(ctx, d.tables.Profiles)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, it := range items {
		b, _ := it["state"].(*types.AttributeValueMemberB)
		if b == nil {
			return nil, fmt.Errorf("profile %s has no state", str(it["pk"]))
		}
		out[str(it["pk"])] = str(it["version"]) + " " + string(b.Value)
	}
	return out, nil
}

// AllAlerts returns every stored alert (a scan: for verification).
func (d *DynamoDB) AllAlerts(ctx context.Context) ([]*event.FraudAlert, error) {
	items, err := d.scan(ctx, d.tables.Alerts)
	if err != nil {
		return nil, err
	}
	out := make([]*event.FraudAlert, 0, len(items))
	for _, it := range items {
		b, ok := it["event"].(*types.AttributeValueMemberS)
		if !ok {
			return nil, fmt.Errorf("alert %s has no event", str(it["alert_id"]))
		}
		var a event.FraudAlert
		if err := json.Unmarshal([]byte(b.Value), &a); err != nil {
			return nil, fmt.Errorf("alert %s: %w", str(it["alert_id"]), err)
		}
		out = append(out, &a)
	}
	return out, nil
}

// Send implements AlertSink: one item per alert, keyed by its event id, so
// a replayed alert overwrites itself.
func (d *DynamoDB) Send(ctx context.Context, alerts []*event.FraudAlert) error {
	reqs := make([]types.WriteRequest, 0, len(alerts))
	for _, a := range alerts {
		v, err := event.AppendJSON(nil, a)
		if err != nil {
			return fmt.Errorf("encode alert %s: %w", a.EventID, err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"alert_id": s(a.EventID), "order_id": s(a.OrderID), "user_id": s(a.UserID), "decision": s(a.Decision),
			"score": fnum(a.Score), "rule_version": s(a.RuleVersion), "occurred_at": s(a.OccurredAt.Format(time.RFC3339Nano)),
			"event": s(string(v)),
		}}})
	}
	return dynamobatch.Chunks(reqs, 25, func(chunk []types.WriteRequest) error {
		pending := map[string][]types.WriteRequest{d.tables.Alerts: chunk}
		for backoff := 10 * time.Millisecond; len(pending) > 0; backoff = min(2*backoff, time.Second) {
			d.reqs.Add(1)
			out, err := d.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("write %d alerts: %w", len(pending[d.tables.Alerts]), err)
			}
			pending = out.UnprocessedItems
			if len(pending) > 0 {
				if err := dynamobatch.Sleep(ctx, backoff); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// condPut is one conditional put: over version-1, or where no item is when
// version is 1.
type condPut struct {
	key, keyAttr string
	version      int64
	item         map[string]types.AttributeValue
}

// maxTransact is the most items of one TransactWriteItems.
const maxTransact = 100

// transactPuts writes puts in transactions of up to 100 and returns the
// error of every put not written: ErrConflict for a failed condition, or
// the request's error once the SDK's retries, and ours of cancelled
// transactions, are spent.
func (d *DynamoDB) transactPuts(ctx context.Context, table string, puts []condPut) map[string]error {
	var mu sync.Mutex
	errs := map[string]error{}
	_ = dynamobatch.Chunks(puts, maxTransact, func(chunk []condPut) error {
		rest := chunk
		backoff := 20 * time.Millisecond
		for attempt := 1; len(rest) > 0; attempt++ {
			items := make([]types.TransactWriteItem, len(rest))
			for i, p := range rest {
				put := &types.Put{TableName: aws.String(table), Item: p.item,
					ExpressionAttributeNames: map[string]string{"#k": p.keyAttr}}
				if p.version <= 1 {
					put.ConditionExpression = aws.String("attribute_not_exists(#k)")
				} else {
					put.ConditionExpression = aws.String("#v = :prev")
					put.ExpressionAttributeNames["#v"] = "version"
					put.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": n(p.version - 1)}
					delete(put.ExpressionAttributeNames, "#k")
				}
				items[i] = types.TransactWriteItem{Put: put}
			}
			d.reqs.Add(1)
			_, err := d.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
			if err == nil {
				return nil
			}
			var tce *types.TransactionCanceledException
			if !errors.As(err, &tce) || len(tce.CancellationReasons) != len(rest) || attempt >= 6 {
				mu.Lock()
				for _, p := range rest {
					errs[p.key] = fmt.Errorf("write %s: %w", table, err)
				}
				mu.Unlock()
				return nil
			}
			var again []condPut
			for i, r := range tce.CancellationReasons {
				switch aws.ToString(r.Code) {
				case "ConditionalCheckFailed":
					// Our own earlier attempt may have landed (a retried
					// request whose first answer was lost): not a conflict.
					if d.landed(ctx, table, rest[i]) {
						continue
					}
					mu.Lock()
					errs[rest[i].key] = ErrConflict
					mu.Unlock()
				default: // None (cancelled with the others), TransactionConflict, throttling
					again = append(again, rest[i])
				}
			}
			rest = again
			if err := dynamobatch.Sleep(ctx, backoff); err != nil {
				mu.Lock()
				for _, p := range rest {
					errs[p.key] = err
				}
				mu.Unlock()
				return nil
			}
			backoff = min(2*backoff, time.Second)
		}
		return nil
	})
	return errs
}

// landed reports whether the stored item is exactly p's.
func (d *DynamoDB) landed(ctx context.Context, table string, p condPut) bool {
	d.reqs.Add(1)
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{p.keyAttr: p.item[p.keyAttr]}})
	return err == nil && out.Item != nil && reflect.DeepEqual(out.Item, p.item)
}

func (d *DynamoDB) scan(ctx context.Context, table string) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(d.client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

func encodeDecision(d *Decision) map[string]types.AttributeValue {
	reasons := make([]types.AttributeValue, len(d.Reasons))
	for i, r := range d.Reasons {
		reasons[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"rule": s(r.Rule), "score": fnum(r.Score), "detail": s(r.Detail)}}
	}
	unev := make([]types.AttributeValue, len(d.Unevaluated))
	for i, u := range d.Unevaluated {
		unev[i] = s(u)
	}
	item := map[string]types.AttributeValue{
		"order_id": s(d.OrderID), "user_id": s(d.UserID), "at": n(d.At), "score": fnum(d.Score), "decision": s(d.Decision),
		"reasons": &types.AttributeValueMemberL{Value: reasons}, "rule_version": s(d.RuleVersion),
		"unevaluated": &types.AttributeValueMemberL{Value: unev}, "alerted": s(d.Alerted), "version": n(d.Version),
	}
	if d.Card != "" {
		item["card_fingerprint"] = s(string(d.Card))
	}
	return item
}

func decodeDecision(item map[string]types.AttributeValue) (*Decision, error) {
	d := &Decision{OrderID: str(item["order_id"]), UserID: str(item["user_id"]), Decision: str(item["decision"]),
		RuleVersion: str(item["rule_version"]), Alerted: str(item["alerted"]), Card: event.Sensitive(str(item["card_fingerprint"]))}
	var err error
	get := func(av types.AttributeValue) int64 {
		v, e := num(av)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	d.At, d.Version = get(item["at"]), get(item["version"])
	d.Score, err = flt(item["score"])
	if l, ok := item["reasons"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, fmt.Errorf("decision %s: a reason is not a map", d.OrderID)
			}
			sc, e := flt(m.Value["score"])
			if e != nil {
				return nil, fmt.Errorf("decision %s: %w", d.OrderID, e)
			}
			d.Reasons = append(d.Reasons, event.FraudReason{Rule: str(m.Value["rule"]), Score: sc, Detail: str(m.Value["detail"])})
		}
	}
	if l, ok := item["unevaluated"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			d.Unevaluated = append(d.Unevaluated, str(v))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decision %s: %w", d.OrderID, err)
	}
	return d, nil
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func fnum(v float64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatFloat(v, 'f', -1, 64)}
}

func str(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

func num(av types.AttributeValue) (int64, error) {
	if av == nil {
		return 0, nil
	}
	v, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute is %T, not a number", av)
	}
	return strconv.ParseInt(v.Value, 10, 64)
}

func flt(av types.AttributeValue) (float64, error) {
	v, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute is %T, not a number", av)
	}
	return strconv.ParseFloat(v.Value, 64)
}

func (d *DynamoDB) batchGet(ctx context.Context, table, key string, ids []string, each func(map[string]types.AttributeValue) error) error {
	return dynamobatch.Get(ctx, d.client, table, key, ids, &d.reqs, each)
}
