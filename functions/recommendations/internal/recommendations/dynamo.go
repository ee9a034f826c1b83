package recommendations

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shopstream/shopstream/shared/dynamobatch"
	"github.com/shopstream/shopstream/shared/dynamotable"
)

// Tables names the function's DynamoDB tables. Each has a string partition
// key and no sort key: Related "product_id", Popular "category", Sessions
// "session_id".
type Tables struct {
	Related, Popular, Sessions string
}

// SessionTTL is how long after the last view that added a product a
// session's state is kept: its expires_at attribute, for DynamoDB's time to
// live.
const SessionTTL = 24 * time.Hour

// DynamoDB is the Store on DynamoDB.
//
// A related item is one product: "version", "category", "marks" (a map of
// "topic-partition" to offset), "entries" (the counts, binary: see
// encodeEntries), "related" (how many entries) and "top" (the ranking, a
// list of maps with product_id, score, views and purchases). A popular item
// is the same, keyed by category. A session item holds "marks", "products"
// (a list of maps with product_id and category), "last_at" and
// "expires_at" (epoch seconds, the table's time-to-live attribute).
type DynamoDB struct {
	now           func() time.Time
	client        *dynamodb.Client
	tables        Tables
	reads, writes atomic.Int64
}

var _ Store = (*DynamoDB)(nil)

// NewDynamoDB returns a store on client's tables.
func NewDynamoDB(client *dynamodb.Client, tables Tables) *DynamoDB {
	return &DynamoDB{client: client, tables: tables, now: time.Now}
}

// sessionExpiry is when DynamoDB may delete a session's state: SessionTTL
// after its last view in event time, but never before the end of the day
// after the (UTC) day it is written. Traffic replayed or backfilled from the
// past keeps its sessions while it is processed, and the value does not
// depend on the time of day, so equal inputs written on one day give equal
// items.
func sessionExpiry(last, now time.Time) int64 {
	floor := now.UTC().Truncate(24 * time.Hour).Add(2 * 24 * time.Hour)
	if e := last.Add(SessionTTL); e.After(floor) {
		return e.Unix()
	}
	return floor.Unix()
}

// Requests returns the read requests (GetItem, BatchGetItem, Query, Scan)
// and write requests (PutItem, BatchWriteItem) sent so far, retries of
// unprocessed keys and items included.
func (d *DynamoDB) Requests() (reads, writes int64) { return d.reads.Load(), d.writes.Load() }

func (d *DynamoDB) table(k Kind) (name, key string) {
	if k == Popular {
		return d.tables.Popular, "category"
	}
	return d.tables.Related, "product_id"
}

// Specs describes the tables, for local setup and the CDK stack alike.
func (t Tables) Specs() []dynamotable.Spec {
	return []dynamotable.Spec{
		{Name: t.Related, Env: "RELATED_TABLE", PartitionKey: "product_id", Purpose: "co-view and co-purchase counts and the top related products per product"},
		{Name: t.Popular, Env: "POPULAR_TABLE", PartitionKey: "category", Purpose: "popular products per category, the fallback for cold products"},
		{Name: t.Sessions, Env: "SESSIONS_TABLE", PartitionKey: "session_id", TTL: "expires_at", Purpose: "the products of open sessions, expiring a day after their last view"},
	}
}

// CreateTables creates the tables (on-demand billing) and waits until they
// are active. Tables that exist already are left alone.
func (d *DynamoDB) CreateTables(ctx context.Context) error {
	return dynamotable.Create(ctx, d.client, d.tables.Specs()...)
}

// Items implements Store.
func (d *DynamoDB) Items(ctx context.Context, k Kind, keys []string) (map[string]*Item, error) {
	table, key := d.table(k)
	out := make(map[string]*Item, len(keys))
	err := d.batchGet(ctx, table, key, keys, func(av map[string]types.AttributeValue) error {
		it, err := decodeItem(av, key)
		if err != nil {
			return err
		}
		out[it.Key] = it
		return nil
	})
	return out, err
}

// Item returns one item, nil when there is none; an eventually consistent
// read, for the read path.
func (d *DynamoDB) Item(ctx context.Context, k Kind, id string) (*Item, error) {
	table, key := d.table(k)
	d.reads.Add(1)
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: map[string]types.AttributeValue{key: s(id)},
		ProjectionExpression:     aws.String("#k, category_name, top"),
		ExpressionAttributeNames: map[string]string{"#k": key},
	})
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", k, id, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	return decodeItem(out.Item, key)
}

// PutItem implements Store: one PutItem, conditional on the version.
func (d *DynamoDB) PutItem(ctx context.Context, k Kind, it *Item) error {
	table, key := d.table(k)
	in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: encodeItem(it, key),
		ExpressionAttributeNames: map[string]string{"#v": "version"}}
	if it.Version == 1 {
		in.ConditionExpression = aws.String("attribute_not_exists(#v)")
	} else {
		in.ConditionExpression = aws.String("#v = :prev")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": n(it.Version - 1)}
	}
	d.writes.Add(1)
	_, err := d.client.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("put %s item %s: %w", k, it.Key, err)
	}
	return nil
}

// Sessions implements Store.
func (d *DynamoDB) Sessions(ctx context.Context, ids []string) (map[string]*Session, error) {
	out := make(map[string]*Session, len(ids))
	err := d.batchGet(ctx, d.tables.Sessions, "session_id", ids, func(av map[string]types.AttributeValue) error {
		s, err := decodeSession(av)
		if err != nil {
			return err
		}
		out[s.ID] = s
		return nil
	})
	return out, err
}

// PutSessions implements Store, 25 sessions per BatchWriteItem.
func (d *DynamoDB) PutSessions(ctx context.Context, ss []*Session) error {
	reqs := make([]types.WriteRequest, len(ss))
	for i, s := range ss {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: encodeSession(s, d.now())}}
	}
	return d.batchWrite(ctx, d.tables.Sessions, reqs)
}

// AllItems returns every stored item of kind k (a consistent scan: for
// verification and tests).
func (d *DynamoDB) AllItems(ctx context.Context, k Kind) ([]*Item, error) {
	table, key := d.table(k)
	raw, err := d.Scan(ctx, table)
	if err != nil {
		return nil, err
	}
	out := make([]*Item, 0, len(raw))
	for _, av := range raw {
		it, err := decodeItem(av, key)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// Scan returns every item of table as stored (a consistent scan).
func (d *DynamoDB) Scan(ctx context.Context, table string) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(d.client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		d.reads.Add(1)
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func f(v float64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatFloat(v, 'g', -1, 64)}
}

func encodeItem(it *Item, key string) map[string]types.AttributeValue {
	marks := make(map[string]types.AttributeValue, len(it.Marks))
	for k, v := range it.Marks {
		marks[k] = n(v)
	}
	top := make([]types.AttributeValue, len(it.Top))
	for i, t := range it.Top {
		top[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"product_id": s(t.ID), "score": f(t.Score), "views": n(t.Views), "purchases": n(t.Buys)}}
	}
	av := map[string]types.AttributeValue{
		key: s(it.Key), "version": n(it.Version), "marks": &types.AttributeValueMemberM{Value: marks},
		"entries": &types.AttributeValueMemberB{Value: encodeEntries(it.Entries)},
		"related": n(int64(len(it.Entries))), "top": &types.AttributeValueMemberL{Value: top},
	}
	if it.Category != "" {
		av["category_name"] = s(it.Category)
	}
	if key == "category" {
		delete(av, "category_name")
	}
	return av
}

func decodeItem(av map[string]types.AttributeValue, key string) (*Item, error) {
	it := NewItem(str(av[key]))
	var err error
	num := func(v types.AttributeValue) int64 {
		x, e := getN(v)
		if e != nil && err == nil {
			err = e
		}
		return x
	}
	it.Version = num(av["version"])
	if key == "product_id" {
		it.Category = str(av["category_name"])
	}
	if m, ok := av["marks"].(*types.AttributeValueMemberM); ok {
		for k, v := range m.Value {
			it.Marks[k] = num(v)
		}
	}
	if b, ok := av["entries"].(*types.AttributeValueMemberB); ok {
		es, e := decodeEntries(b.Value)
		if e != nil {
			return nil, fmt.Errorf("item %s: %w", it.Key, e)
		}
		it.Entries = es
	}
	if l, ok := av["top"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, fmt.Errorf("item %s: a ranked entry is not a map", it.Key)
			}
			sc, e := getF(m.Value["score"])
			if e != nil && err == nil {
				err = e
			}
			it.Top = append(it.Top, Scored{ID: str(m.Value["product_id"]), Score: sc,
				Views: num(m.Value["views"]), Buys: num(m.Value["purchases"])})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("item %s: %w", it.Key, err)
	}
	return it, nil
}

func encodeSession(ss *Session, now time.Time) map[string]types.AttributeValue {
	marks := make(map[string]types.AttributeValue, len(ss.Marks))
	for k, v := range ss.Marks {
		marks[k] = n(v)
	}
	products := make([]types.AttributeValue, len(ss.Products))
	for i, p := range ss.Products {
		m := map[string]types.AttributeValue{"product_id": s(p.ID)}
		if p.Category != "" {
			m["category"] = s(p.Category)
		}
		products[i] = &types.AttributeValueMemberM{Value: m}
	}
	return map[string]types.AttributeValue{
		"session_id": s(ss.ID), "marks": &types.AttributeValueMemberM{Value: marks},
		"products": &types.AttributeValueMemberL{Value: products},
		"last_at":  s(ss.LastAt.UTC().Format(time.RFC3339Nano)), "expires_at": n(sessionExpiry(ss.LastAt, now)),
	}
}

func decodeSession(av map[string]types.AttributeValue) (*Session, error) {
	ss := &Session{ID: str(av["session_id"]), Marks: map[string]int64{}}
	if m, ok := av["marks"].(*types.AttributeValueMemberM); ok {
		for k, v := range m.Value {
			x, err := getN(v)
			if err != nil {
				return nil, fmt.Errorf("session %s: %w", ss.ID, err)
			}
			ss.Marks[k] = x
		}
	}
	if l, ok := av["products"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, fmt.Errorf("session %s: a product is not a map", ss.ID)
			}
			ss.Products = append(ss.Products, Viewed{ID: str(m.Value["product_id"]), Category: str(m.Value["category"])})
		}
	}
	if v := str(av["last_at"]); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, fmt.Errorf("session %s: last_at: %w", ss.ID, err)
		}
		ss.LastAt = t
	}
	return ss, nil
}

func str(av types.AttributeValue) string {
	if v, ok := av.(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(av types.AttributeValue) (int64, error) {
	if av == nil {
		return 0, nil
	}
	v, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute is %T, not a number", av)
	}
	return strconv.ParseInt(v.Value, 10, 64)
}

func getF(av types.AttributeValue) (float64, error) {
	v, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute is %T, not a number", av)
	}
	return strconv.ParseFloat(v.Value, 64)
}

func (d *DynamoDB) batchGet(ctx context.Context, table, key string, ids []string, each func(map[string]types.AttributeValue) error) error {
	return dynamobatch.Get(ctx, d.client, table, key, ids, &d.reads, each)
}

func (d *DynamoDB) batchWrite(ctx context.Context, table string, reqs []types.WriteRequest) error {
	return dynamobatch.Write(ctx, d.client, table, reqs, &d.writes)
}
