package support

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/shared/dynamotable"
)

// Tables names the function's DynamoDB tables: Subjects (key "subject"),
// Ratings (partition key "rating_key": "all", "product#<id>" or
// "category#<name>"; sort key "hour", RFC 3339) and Cases (key "case_id").
type Tables struct {
	Subjects, Ratings, Cases string
}

// DynamoDB is the Store on DynamoDB.
//
// A subject item holds "version", "order_id" (for an order's subject) and
// "state", the subject as JSON: it is the function's own working state,
// read and written whole. A rating item holds "scope", "key", "count",
// "sum" and "r1" to "r5"; the mean is sum/count. A case item holds the
// Case's fields as typed attributes: what support tools read.
type DynamoDB struct {
	client   *dynamodb.Client
	tables   Tables
	requests atomic.Int64
}

var _ Store = (*DynamoDB)(nil)

// NewDynamoDB returns a store on client's tables.
func NewDynamoDB(client *dynamodb.Client, tables Tables) *DynamoDB {
	return &DynamoDB{client: client, tables: tables}
}

// Requests returns the number of DynamoDB requests the store has sent
// (reads and writes, retries included).
func (d *DynamoDB) Requests() int64 { return d.requests.Load() }

// Specs describes the tables, for local setup and the CDK stack alike.
func (t Tables) Specs() []dynamotable.Spec {
	return []dynamotable.Spec{
		{Name: t.Subjects, Env: "SUBJECTS_TABLE", PartitionKey: "subject", Purpose: "per order (or order-less feedback): order context and every feedback about it"},
		{Name: t.Ratings, Env: "RATINGS_TABLE", PartitionKey: "rating_key", SortKey: "hour", Purpose: "hourly rating aggregates per product, category and overall"},
		{Name: t.Cases, Env: "CASES_TABLE", PartitionKey: "case_id", Purpose: "support cases, one per order"},
	}
}

// CreateTables creates the tables (on-demand billing) and waits until they
// are active. Tables that exist already are left alone.
func (d *DynamoDB) CreateTables(ctx context.Context) error {
	return dynamotable.Create(ctx, d.client, d.tables.Specs()...)
}

// parallel is how many requests of one batch run at once.
const parallel = 8

// Subjects implements Store: consistent BatchGetItem reads, 100 keys each.
func (d *DynamoDB) Subjects(ctx context.Context, ids []string) (map[string]*Subject, error) {
	out := make(map[string]*Subject, len(ids))
	var mu sync.Mutex
	err := inParallel(slices.Collect(slices.Chunk(ids, 100)), func(chunk []string) error {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = map[string]types.AttributeValue{"subject": s(id)}
		}
		req := map[string]types.KeysAndAttributes{d.tables.Subjects: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for backoff := 10 * time.Millisecond; len(req) > 0; backoff = min(2*backoff, time.Second) {
			d.requests.Add(1)
			res, err := d.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("read subjects: %w", err)
			}
			for _, item := range res.Responses[d.tables.Subjects] {
				sub, err := decodeSubject(item)
				if err != nil {
					return err
				}
				mu.Lock()
				out[sub.ID] = sub
				mu.Unlock()
			}
			req = res.UnprocessedKeys
			if len(req) > 0 {
				if err := sleep(ctx, backoff); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// maxTransactItems is the most actions one TransactWriteItems may hold.
const maxTransactItems = 100

// Commit implements Store. Changes are packed into TransactWriteItems
// requests of up to 100 actions: each subject's conditional put, its case
// and the rating changes of the pack, summed per rating item (a
// transaction may touch an item once). A cancelled transaction is split:
// the subjects whose condition failed are returned as conflicts, the rest
// are written again; a transaction conflict with another writer is
// retried after a pause.
func (d *DynamoDB) Commit(ctx context.Context, changes []*Change) ([]string, error) {
	var (
		mu        sync.Mutex
		conflicts []string
	)
	err := inParallel(pack(changes), func(group []*Change) error {
		for try, backoff := 1, 20*time.Millisecond; len(group) > 0; try, backoff = try+1, min(2*backoff, 2*time.Second) {
			failed, retry, err := d.transact(ctx, group)
			if err != nil {
				return err
			}
			if len(failed) > 0 {
				mu.Lock()
				conflicts = append(conflicts, failed...)
				mu.Unlock()
				group = slices.DeleteFunc(group, func(c *Change) bool { return slices.Contains(failed, c.Next.ID) })
				continue
			}
			if !retry {
				return nil
			}
			if try >= 12 {
				return fmt.Errorf("write %d subjects: transactions kept conflicting", len(group))
			}
			if err := sleep(ctx, backoff); err != nil {
				return err
			}
		}
		return nil
	})
	return conflicts, err
}

// pack groups changes so that each group's actions fit one transaction.
func pack(changes []*Change) [][]*Change {
	var groups [][]*Change
	var cur []*Change
	keys := map[RatingKey]bool{}
	items := 0
	for _, c := range changes {
		n := 1
		if c.Case != nil {
			n++
		}
		var fresh []RatingKey
		for k := range c.Ratings {
			if !keys[k] {
				fresh = append(fresh, k)
			}
		}
		n += len(fresh)
		if items+n > maxTransactItems && len(cur) > 0 {
			groups = append(groups, cur)
			cur, items, keys = nil, 0, map[RatingKey]bool{}
			fresh = fresh[:0]
			for k := range c.Ratings {
				fresh = append(fresh, k)
			}
			n = 1 + len(fresh)
			if c.Case != nil {
				n++
			}
		}
		for _, k := range fresh {
			keys[k] = true
		}
		cur = append(cur, c)
		items += n
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// transact writes one group in one transaction. It returns the subjects
// whose version condition failed, or retry when the transaction lost to a
// concurrent one.
func (d *DynamoDB) transact(ctx context.Context, group []*Change) (failed []string, retry bool, err error) {
	var acts []types.TransactWriteItem
	sums := map[RatingKey]*Ratings{}
	var order []RatingKey
	for _, c := range group {
		put, err := d.putSubject(c)
		if err != nil {
			return nil, false, err
		}
		acts = append(acts, types.TransactWriteItem{Put: put})
		for k, r := range c.Ratings {
			a := sums[k]
			if a == nil {
				a = &Ratings{}
				sums[k] = a
				order = append(order, k)
			}
			a.Count += r.Count
			a.Sum += r.Sum
			for i := range a.Dist {
				a.Dist[i] += r.Dist[i]
			}
		}
	}
	nSubjects := len(acts)
	for _, c := range group {
		if c.Case != nil {
			acts = append(acts, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(d.tables.Cases), Item: encodeCase(c.Case)}})
		}
	}
	for _, k := range order {
		if sums[k].Zero() {
			continue
		}
		acts = append(acts, types.TransactWriteItem{Update: d.addRatings(k, *sums[k])})
	}
	d.requests.Add(1)
	_, err = d.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: acts})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				if i < nSubjects {
					failed = append(failed, group[i].Next.ID)
				}
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
				retry = true
			}
		}
		if len(failed) == 0 && !retry {
			return nil, false, fmt.Errorf("write %d subjects: %w", len(group), err)
		}
		return failed, retry, nil
	}
	var tip *types.TransactionInProgressException
	if errors.As(err, &tip) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("write %d subjects: %w", len(group), err)
	}
	return nil, false, nil
}

func (d *DynamoDB) putSubject(c *Change) (*types.Put, error) {
	state, err := json.Marshal(c.Next)
	if err != nil {
		return nil, fmt.Errorf("encode subject %s: %w", c.Next.ID, err)
	}
	item := map[string]types.AttributeValue{"subject": s(c.Next.ID), "version": n(c.Next.Version), "state": s(string(state))}
	if id, ok := strings.CutPrefix(c.Next.ID, "o#"); ok {
		item["order_id"] = s(id)
	}
	p := &types.Put{TableName: aws.String(d.tables.Subjects), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#v)"),
		ExpressionAttributeNames: map[string]string{"#v": "version"}}
	if c.Prev > 0 {
		p.ConditionExpression = aws.String("#v = :prev")
		p.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": n(c.Prev)}
	}
	return p, nil
}

func (d *DynamoDB) addRatings(k RatingKey, r Ratings) *types.Update {
	names := map[string]string{"#c": "count", "#s": "sum", "#scope": "scope", "#k": "key"}
	values := map[string]types.AttributeValue{":c": n(r.Count), ":s": n(r.Sum), ":scope": s(k.Scope), ":k": s(k.Key)}
	add := "#c :c, #s :s"
	for i, v := range r.Dist {
		if v == 0 {
			continue
		}
		name := "r" + strconv.Itoa(i+1)
		names["#"+name] = name
		values[":"+name] = n(v)
		add += ", #" + name + " :" + name
	}
	return &types.Update{
		TableName:                 aws.String(d.tables.Ratings),
		Key:                       ratingItemKey(k),
		UpdateExpression:          aws.String("ADD " + add + " SET #scope = :scope, #k = :k"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

func ratingItemKey(k RatingKey) map[string]types.AttributeValue {
	pk := k.Scope
	if k.Key != "" {
		pk += "#" + k.Key
	}
	return map[string]types.AttributeValue{"rating_key": s(pk), "hour": s(time.Unix(k.Hour, 0).UTC().Format(time.RFC3339))}
}

// AllRatings returns every rating aggregate with at least one rating (a
// scan: for verification and tools).
func (d *DynamoDB) AllRatings(ctx context.Context) (map[RatingKey]Ratings, error) {
	items, err := d.scan(ctx, d.tables.Ratings)
	if err != nil {
		return nil, err
	}
	out := make(map[RatingKey]Ratings, len(items))
	for _, item := range items {
		k, r, err := decodeRating(item)
		if err != nil {
			return nil, err
		}
		if r.Zero() {
			continue // every rating it held moved to another category
		}
		out[k] = r
	}
	return out, nil
}

// AllCases returns every case (a scan: for verification and tools).
func (d *DynamoDB) AllCases(ctx context.Context) ([]*Case, error) {
	items, err := d.scan(ctx, d.tables.Cases)
	if err != nil {
		return nil, err
	}
	out := make([]*Case, 0, len(items))
	for _, item := range items {
		c, err := decodeCase(item)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// AllSubjects returns every subject (a scan: for tests).
func (d *DynamoDB) AllSubjects(ctx context.Context) ([]*Subject, error) {
	items, err := d.scan(ctx, d.tables.Subjects)
	if err != nil {
		return nil, err
	}
	out := make([]*Subject, 0, len(items))
	for _, item := range items {
		sub, err := decodeSubject(item)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, nil
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

func decodeSubject(item map[string]types.AttributeValue) (*Subject, error) {
	sub := &Subject{}
	id := str(item["subject"])
	if err := json.Unmarshal([]byte(str(item["state"])), sub); err != nil {
		return nil, fmt.Errorf("subject %s: %w", id, err)
	}
	sub.ID, sub.Version = id, num(item["version"])
	return sub, nil
}

func encodeCase(c *Case) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		"case_id": s(c.ID), "user_id": s(c.UserID), "status": s(c.Status), "priority": s(c.Priority),
		"reasons": &types.AttributeValueMemberSS{Value: c.Reasons}, "opened_at": s(c.OpenedAt.Format(time.RFC3339Nano)),
		"updated_at": s(c.UpdatedAt.Format(time.RFC3339Nano)), "feedback_count": n(int64(len(c.Feedback))),
	}
	opt := func(k, v string) {
		if v != "" {
			item[k] = s(v)
		}
	}
	opt("order_id", c.OrderID)
	opt("context_missing", c.ContextMissing)
	opt("alert_id", c.AlertID)
	if c.LowestRating > 0 {
		item["lowest_rating"] = n(int64(c.LowestRating))
	}
	fb := make([]types.AttributeValue, len(c.Feedback))
	for i, e := range c.Feedback {
		m := map[string]types.AttributeValue{"event_id": s(e.EventID), "user_id": s(e.UserID),
			"at": s(e.At.Format(time.RFC3339Nano)), "text": s(e.Text), "text_bytes": n(int64(e.TextBytes))}
		if e.Rating > 0 {
			m["rating"] = n(int64(e.Rating))
		}
		for k, v := range map[string]string{"product_id": e.ProductID, "channel": e.Channel, "shape": e.Shape} {
			if v != "" {
				m[k] = s(v)
			}
		}
		if len(e.Reasons) > 0 {
			m["reasons"] = &types.AttributeValueMemberSS{Value: e.Reasons}
		}
		fb[i] = &types.AttributeValueMemberM{Value: m}
	}
	item["feedback"] = &types.AttributeValueMemberL{Value: fb}
	if o := c.Order; o != nil {
		m := map[string]types.AttributeValue{}
		for k, v := range map[string]string{"user_id": o.UserID, "currency": o.Currency, "payment_method": o.PaymentMethod} {
			if v != "" {
				m[k] = s(v)
			}
		}
		if o.TotalCents != nil {
			m["total_cents"] = n(*o.TotalCents)
		}
		if len(o.Lifecycle) > 0 {
			m["lifecycle"] = &types.AttributeValueMemberSS{Value: o.Lifecycle}
		}
		lines := make([]types.AttributeValue, 0, len(o.Items))
		for _, p := range slices.Sorted(maps.Keys(o.Items)) {
			l := o.Items[p]
			lm := map[string]types.AttributeValue{"product_id": s(p), "quantity": n(int64(l.Quantity))}
			if l.Category != "" {
				lm["category"] = s(l.Category)
			}
			lines = append(lines, &types.AttributeValueMemberM{Value: lm})
		}
		m["items"] = &types.AttributeValueMemberL{Value: lines}
		item["order"] = &types.AttributeValueMemberM{Value: m}
	}
	return item
}

func decodeCase(item map[string]types.AttributeValue) (*Case, error) {
	c := &Case{ID: str(item["case_id"]), OrderID: str(item["order_id"]), UserID: str(item["user_id"]), Status: str(item["status"]),
		Priority: str(item["priority"]), ContextMissing: str(item["context_missing"]), AlertID: str(item["alert_id"]),
		LowestRating: int(num(item["lowest_rating"])), Reasons: strs(item["reasons"])}
	var err error
	if c.OpenedAt, err = time.Parse(time.RFC3339Nano, str(item["opened_at"])); err != nil {
		return nil, fmt.Errorf("case %s: opened_at: %w", c.ID, err)
	}
	if c.UpdatedAt, err = time.Parse(time.RFC3339Nano, str(item["updated_at"])); err != nil {
		return nil, fmt.Errorf("case %s: updated_at: %w", c.ID, err)
	}
	if l, ok := item["feedback"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, fmt.Errorf("case %s: a feedback is not a map", c.ID)
			}
			e := &Entry{EventID: str(m.Value["event_id"]), UserID: str(m.Value["user_id"]), ProductID: str(m.Value["product_id"]),
				Channel: str(m.Value["channel"]), Shape: str(m.Value["shape"]), Text: str(m.Value["text"]),
				TextBytes: int(num(m.Value["text_bytes"])), Rating: int(num(m.Value["rating"])), Reasons: strs(m.Value["reasons"]),
				OrderID: c.OrderID}
			if e.At, err = time.Parse(time.RFC3339Nano, str(m.Value["at"])); err != nil {
				return nil, fmt.Errorf("case %s: feedback time: %w", c.ID, err)
			}
			c.Feedback = append(c.Feedback, e)
		}
	}
	if m, ok := item["order"].(*types.AttributeValueMemberM); ok {
		o := &OrderContext{UserID: str(m.Value["user_id"]), Currency: str(m.Value["currency"]),
			PaymentMethod: str(m.Value["payment_method"]), Lifecycle: strs(m.Value["lifecycle"])}
		if v, ok := m.Value["total_cents"]; ok {
			t := num(v)
			o.TotalCents = &t
		}
		if l, ok := m.Value["items"].(*types.AttributeValueMemberL); ok {
			o.Items = map[string]*Line{}
			for _, v := range l.Value {
				lm, ok := v.(*types.AttributeValueMemberM)
				if !ok {
					return nil, fmt.Errorf("case %s: an item is not a map", c.ID)
				}
				o.Items[str(lm.Value["product_id"])] = &Line{Quantity: int(num(lm.Value["quantity"])), Category: str(lm.Value["category"])}
			}
		}
		c.Order = o
	}
	return c, nil
}

// inParallel runs f on every element of items, parallel at a time, and
// returns the first error.
func inParallel[T any](items []T, f func(T) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, parallel)
	)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(it); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func str(av types.AttributeValue) string {
	if v, ok := av.(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func strs(av types.AttributeValue) []string {
	if v, ok := av.(*types.AttributeValueMemberSS); ok {
		return slices.Sorted(slices.Values(v.Value))
	}
	return nil
}

func num(av types.AttributeValue) int64 {
	if v, ok := av.(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

// Rating is one rating aggregate as read: its key, the ratings, and their
// mean.
type Rating struct {
	RatingKey
	Ratings
	Mean float64
}

// RatingsOf returns the aggregates of one scope and key ("" for ScopeAll)
// for the hours in [from, to), oldest first: one Query on the item's
// partition.
func (d *DynamoDB) RatingsOf(ctx context.Context, scope, key string, from, to time.Time) ([]Rating, error) {
	pk := ratingItemKey(RatingKey{Scope: scope, Key: key})["rating_key"]
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(d.tables.Ratings),
		KeyConditionExpression:    aws.String("#pk = :pk AND #h BETWEEN :from AND :to"),
		ExpressionAttributeNames:  map[string]string{"#pk": "rating_key", "#h": "hour"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": pk, ":from": s(from.UTC().Truncate(time.Hour).Format(time.RFC3339)), ":to": s(to.UTC().Add(-time.Second).Format(time.RFC3339))},
		ConsistentRead:            aws.Bool(true),
	}
	var out []Rating
	p := dynamodb.NewQueryPaginator(d.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query ratings of %s %s: %w", scope, key, err)
		}
		for _, item := range page.Items {
			k, r, err := decodeRating(item)
			if err != nil {
				return nil, err
			}
			if !r.Zero() {
				out = append(out, Rating{RatingKey: k, Ratings: r, Mean: r.Mean()})
			}
		}
	}
	return out, nil
}

func decodeRating(item map[string]types.AttributeValue) (RatingKey, Ratings, error) {
	hour, err := time.Parse(time.RFC3339, str(item["hour"]))
	if err != nil {
		return RatingKey{}, Ratings{}, fmt.Errorf("rating item %s: hour: %w", str(item["rating_key"]), err)
	}
	k := RatingKey{Scope: str(item["scope"]), Key: str(item["key"]), Hour: hour.Unix()}
	var r Ratings
	r.Count, r.Sum = num(item["count"]), num(item["sum"])
	for i := range r.Dist {
		r.Dist[i] = num(item["r"+strconv.Itoa(i+1)])
	}
	return k, r, nil
}
