package inventory

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
// key and no sort key: Stock "product_id", Orders "order_id", Alerts
// "alert_id".
type Tables struct {
	Stock, Orders, Alerts string
}

// DynamoDB is the Store (and an AlertSink) on DynamoDB.
//
// A stock item is one product: "version", "marks" (a map of
// "topic-partition" to offset), "warehouses" (a map of warehouse id to
// on_hand, reserved, available, counted_at, journal, alert),
// "backorders" (a string set), "shorts" (a map of order id to the units a
// partial reservation lacks, and when the order settled), "latest",
// "floor", "threshold" (the product's low-stock threshold) and, only while
// some warehouse is at or below it, "low_stock" (a map of warehouse id to
// on_hand, reserved, available: what LowStock reads). An order item holds
// "status", "held", "created", "lines" (product_id, quantity and, when a
// partial reservation was short, short), "marks", "refunds", "restocked",
// "anomaly" and "updated_at".
type DynamoDB struct {
	client *dynamodb.Client
	tables Tables
	writes atomic.Int64
}

var (
	_ Store     = (*DynamoDB)(nil)
	_ AlertSink = (*DynamoDB)(nil)
)

// NewDynamoDB returns a store on client's tables.
func NewDynamoDB(client *dynamodb.Client, tables Tables) *DynamoDB {
	return &DynamoDB{client: client, tables: tables}
}

// Writes returns the number of write requests (UpdateItem, BatchWriteItem,
// PutItem) sent so far, retries of unprocessed items included.
func (d *DynamoDB) Writes() int64 { return d.writes.Load() }

// Specs describes the tables, for local setup and the CDK stack alike.
func (t Tables) Specs() []dynamotable.Spec {
	return []dynamotable.Spec{
		{Name: t.Stock, Env: "STOCK_TABLE", PartitionKey: "product_id", Purpose: "stock per product and warehouse, with per-partition offsets"},
		{Name: t.Orders, Env: "ORDERS_TABLE", PartitionKey: "order_id", Purpose: "order lifecycle states and reservations"},
		{Name: t.Alerts, Env: "ALERTS_TABLE", PartitionKey: "alert_id", Purpose: "low-stock, out-of-stock and backorder alerts"},
	}
}

// CreateTables creates the tables (on-demand billing) and waits until they
// are active. Tables that exist already are left alone.
func (d *DynamoDB) CreateTables(ctx context.Context) error {
	return dynamotable.Create(ctx, d.client, d.tables.Specs()...)
}

// Products implements Store.
func (d *DynamoDB) Products(ctx context.Context, ids []string) (map[string]*Product, error) {
	out := make(map[string]*Product, len(ids))
	err := d.batchGet(ctx, d.tables.Stock, "product_id", ids, func(item map[string]types.AttributeValue) error {
		p, err := decodeProduct(item)
		if err != nil {
			return err
		}
		out[p.ID] = p
		return nil
	})
	return out, err
}

// Orders implements Store.
func (d *DynamoDB) Orders(ctx context.Context, ids []string) (map[string]*Order, error) {
	out := make(map[string]*Order, len(ids))
	err := d.batchGet(ctx, d.tables.Orders, "order_id", ids, func(item map[string]types.AttributeValue) error {
		o, err := decodeOrder(item)
		if err != nil {
			return err
		}
		out[o.ID] = o
		return nil
	})
	return out, err
}

// PutProduct implements Store: one UpdateItem, conditional on the version.
func (d *DynamoDB) PutProduct(ctx context.Context, p *Product) error {
	item := encodeProduct(p)
	names := map[string]string{}
	values := map[string]types.AttributeValue{":prev": n(p.Version - 1)}
	expr := "SET "
	i := 0
	var remove []string
	for _, a := range productAttributes {
		v, ok := item[a]
		name := "#a" + strconv.Itoa(i)
		names[name] = a
		i++
		if !ok {
			remove = append(remove, name)
			continue
		}
		if len(values) > 1 {
			expr += ", "
		}
		expr += name + " = :v" + strconv.Itoa(i)
		values[":v"+strconv.Itoa(i)] = v
	}
	if len(remove) > 0 {
		expr += " REMOVE "
		for j, r := range remove {
			if j > 0 {
				expr += ", "
			}
			expr += r
		}
	}
	cond := "#ver = :prev"
	names["#ver"] = "version"
	if p.Version == 1 {
		cond = "attribute_not_exists(#ver)"
		delete(values, ":prev")
	}
	d.writes.Add(1)
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.tables.Stock),
		Key:                       map[string]types.AttributeValue{"product_id": s(p.ID)},
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("update product %s: %w", p.ID, err)
	}
	return nil
}

// productAttributes are the attributes PutProduct sets, or removes when
// encodeProduct leaves them out.
var productAttributes = []string{"version", "marks", "warehouses", "backorders", "shorts", "latest", "floor", "threshold", "low_stock"}

// PutOrders implements Store, 25 orders per BatchWriteItem.
func (d *DynamoDB) PutOrders(ctx context.Context, orders []*Order) error {
	reqs := make([]types.WriteRequest, len(orders))
	for i, o := range orders {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: encodeOrder(o)}}
	}
	return d.batchWrite(ctx, d.tables.Orders, reqs)
}

// Unbackorder implements Store.
func (d *DynamoDB) Unbackorder(ctx context.Context, orderID string) error {
	d.writes.Add(1)
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.tables.Orders),
		Key:                       map[string]types.AttributeValue{"order_id": s(orderID)},
		UpdateExpression:          aws.String("SET #s = :r"),
		ConditionExpression:       aws.String("#s = :b"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": s(StatusReserved), ":b": s(StatusBackordered)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("unbackorder %s: %w", orderID, err)
	}
	return nil
}

// Send implements AlertSink: alerts are keyed by their event id, so a
// replayed alert overwrites itself.
func (d *DynamoDB) Send(ctx context.Context, alerts []*event.InventoryAlert) error {
	reqs := make([]types.WriteRequest, len(alerts))
	for i, a := range alerts {
		item := map[string]types.AttributeValue{
			"alert_id": s(a.EventID), "product_id": s(a.ProductID), "kind": s(a.Kind),
			"available": n(int64(a.Available)), "occurred_at": s(a.OccurredAt.Format(time.RFC3339Nano)),
		}
		if a.WarehouseID != "" {
			item["warehouse_id"] = s(a.WarehouseID)
		}
		if a.OrderID != "" {
			item["order_id"] = s(a.OrderID)
		}
		if a.Threshold != nil {
			item["threshold"] = n(int64(*a.Threshold))
		}
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
	}
	return d.batchWrite(ctx, d.tables.Alerts, reqs)
}

// Alerts returns every stored alert (a scan: for tests and verification).
func (d *DynamoDB) Alerts(ctx context.Context) ([]map[string]types.AttributeValue, error) {
	return d.scan(ctx, d.tables.Alerts, false)
}

// AllProducts returns every stored product (a scan: for verification).
func (d *DynamoDB) AllProducts(ctx context.Context) ([]*Product, error) {
	return scanDecoded(ctx, d, d.tables.Stock, decodeProduct)
}

// AllOrders returns every stored order (a scan: for verification).
func (d *DynamoDB) AllOrders(ctx context.Context) ([]*Order, error) {
	return scanDecoded(ctx, d, d.tables.Orders, decodeOrder)
}

// scan returns every item of table.
func (d *DynamoDB) scan(ctx context.Context, table string, consistent bool) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(d.client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(consistent)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

// scanDecoded returns every item of table, decoded, read consistently.
func scanDecoded[T any](ctx context.Context, d *DynamoDB, table string, decode func(map[string]types.AttributeValue) (T, error)) ([]T, error) {
	items, err := d.scan(ctx, table, true)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(items))
	for _, item := range items {
		v, err := decode(item)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func bl(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }

func encodeProduct(p *Product) map[string]types.AttributeValue {
	marks := make(map[string]types.AttributeValue, len(p.Marks))
	for k, v := range p.Marks {
		marks[k] = n(v)
	}
	whs := make(map[string]types.AttributeValue, len(p.Warehouses))
	for w, l := range p.Warehouses {
		m := map[string]types.AttributeValue{
			"on_hand": n(l.OnHand), "reserved": n(l.Reserved), "available": n(l.Available()),
			"journal": &types.AttributeValueMemberB{Value: encodeJournal(l.Journal)},
		}
		if l.Counted {
			m["counted_at"] = n(l.CountedAt)
			m["counted_part"] = s(l.CountPart)
			m["counted_offset"] = n(l.CountOffset)
		}
		if l.Alert != "" {
			m["alert"] = s(l.Alert)
		}
		if w == Pending {
			w = "_pending" // a map key may not be empty
		}
		whs[w] = &types.AttributeValueMemberM{Value: m}
	}
	item := map[string]types.AttributeValue{
		"product_id": s(p.ID), "version": n(p.Version), "marks": &types.AttributeValueMemberM{Value: marks},
		"warehouses": &types.AttributeValueMemberM{Value: whs}, "latest": n(p.Latest), "floor": n(p.Floor),
		"threshold": n(p.Threshold),
	}
	if len(p.Backorders) > 0 {
		item["backorders"] = &types.AttributeValueMemberSS{Value: p.Backorders}
	}
	if len(p.Shorts) > 0 {
		shorts := make(map[string]types.AttributeValue, len(p.Shorts))
		for id, sh := range p.Shorts {
			m := map[string]types.AttributeValue{"qty": n(sh.Qty)}
			if sh.Settled {
				m["settled_at"] = n(sh.SettledAt)
			}
			shorts[id] = &types.AttributeValueMemberM{Value: m}
		}
		item["shorts"] = &types.AttributeValueMemberM{Value: shorts}
	}
	if low := p.Low(); len(low) > 0 {
		m := make(map[string]types.AttributeValue, len(low))
		for w, l := range low {
			m[w] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"on_hand": n(l.OnHand), "reserved": n(l.Reserved), "available": n(l.Available()),
			}}
		}
		item["low_stock"] = &types.AttributeValueMemberM{Value: m}
	}
	return item
}

func decodeProduct(item map[string]types.AttributeValue) (*Product, error) {
	p := NewProduct(str(item["product_id"]))
	var err error
	num := func(av types.AttributeValue) int64 {
		v, e := getN(av)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	p.Version, p.Latest, p.Floor = num(item["version"]), num(item["latest"]), num(item["floor"])
	p.Threshold = num(item["threshold"])
	if m, ok := item["marks"].(*types.AttributeValueMemberM); ok {
		for k, v := range m.Value {
			p.Marks[k] = num(v)
		}
	}
	if m, ok := item["warehouses"].(*types.AttributeValueMemberM); ok {
		for w, v := range m.Value {
			lm, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, fmt.Errorf("product %s: warehouse %s is not a map", p.ID, w)
			}
			l := &Level{OnHand: num(lm.Value["on_hand"]), Reserved: num(lm.Value["reserved"]), Alert: str(lm.Value["alert"])}
			if c, ok := lm.Value["counted_at"]; ok {
				l.Counted, l.CountedAt = true, num(c)
				l.CountPart, l.CountOffset = str(lm.Value["counted_part"]), num(lm.Value["counted_offset"])
			}
			if b, ok := lm.Value["journal"].(*types.AttributeValueMemberB); ok {
				j, jerr := decodeJournal(b.Value)
				if jerr != nil {
					return nil, fmt.Errorf("product %s: %w", p.ID, jerr)
				}
				l.Journal = j
			}
			if w == "_pending" {
				w = Pending
			}
			p.Warehouses[w] = l
		}
	}
	if ss, ok := item["backorders"].(*types.AttributeValueMemberSS); ok {
		p.Backorders = slices.Sorted(slices.Values(ss.Value))
	}
	if m, ok := item["shorts"].(*types.AttributeValueMemberM); ok {
		for id, v := range m.Value {
			sm, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, fmt.Errorf("product %s: short of order %s is not a map", p.ID, id)
			}
			sh := Short{Qty: num(sm.Value["qty"])}
			if at, ok := sm.Value["settled_at"]; ok {
				sh.Settled, sh.SettledAt = true, num(at)
			}
			p.Shorts[id] = sh
		}
	}
	if err != nil {
		return nil, fmt.Errorf("product %s: %w", p.ID, err)
	}
	return p, nil
}

func encodeOrder(o *Order) map[string]types.AttributeValue {
	lines := make([]types.AttributeValue, len(o.Lines))
	for i, l := range o.Lines {
		m := map[string]types.AttributeValue{"product_id": s(l.ProductID), "quantity": n(l.Quantity)}
		if l.Short != 0 {
			m["short"] = n(l.Short)
		}
		lines[i] = &types.AttributeValueMemberM{Value: m}
	}
	marks := make(map[string]types.AttributeValue, len(o.Marks))
	for k, v := range o.Marks {
		marks[k] = n(v)
	}
	item := map[string]types.AttributeValue{
		"order_id": s(o.ID), "held": bl(o.Held), "created": bl(o.Created),
		"lines": &types.AttributeValueMemberL{Value: lines}, "marks": &types.AttributeValueMemberM{Value: marks},
		"refunds": n(o.Refunds), "restocked": n(o.Restocked), "updated_at": n(o.UpdatedAt),
	}
	if o.Status != "" {
		item["status"] = s(o.Status)
	}
	if o.Anomaly != "" {
		item["anomaly"] = s(o.Anomaly)
	}
	return item
}

func decodeOrder(item map[string]types.AttributeValue) (*Order, error) {
	o := &Order{ID: str(item["order_id"]), Status: str(item["status"]), Anomaly: str(item["anomaly"]), Marks: map[string]int64{}}
	var err error
	num := func(av types.AttributeValue) int64 {
		v, e := getN(av)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	o.Held, o.Created = boolOf(item["held"]), boolOf(item["created"])
	o.Refunds, o.Restocked, o.UpdatedAt = num(item["refunds"]), num(item["restocked"]), num(item["updated_at"])
	if m, ok := item["marks"].(*types.AttributeValueMemberM); ok {
		for k, v := range m.Value {
			o.Marks[k] = num(v)
		}
	}
	if l, ok := item["lines"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, fmt.Errorf("order %s: a line is not a map", o.ID)
			}
			o.Lines = append(o.Lines, Line{ProductID: str(m.Value["product_id"]), Quantity: num(m.Value["quantity"]), Short: num(m.Value["short"])})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", o.ID, err)
	}
	return o, nil
}

func str(av types.AttributeValue) string {
	if v, ok := av.(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func boolOf(av types.AttributeValue) bool {
	v, ok := av.(*types.AttributeValueMemberBOOL)
	return ok && v.Value
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

// encodeJournal writes a format version, the table of partitions the
// entries name, then each entry as varints: its time (the first absolute,
// the next as differences), delta, partition index and offset.
func encodeJournal(j []Entry) []byte {
	var parts []string
	index := map[string]int{}
	for _, e := range j {
		if _, ok := index[e.Part]; !ok {
			index[e.Part] = len(parts)
			parts = append(parts, e.Part)
		}
	}
	b := make([]byte, 0, 8+len(j)*8)
	b = binary.AppendUvarint(b, 2) // format version
	b = binary.AppendUvarint(b, uint64(len(parts)))
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	var prev int64
	for _, e := range j {
		b = binary.AppendVarint(b, e.At-prev)
		b = binary.AppendVarint(b, e.Delta)
		b = binary.AppendUvarint(b, uint64(index[e.Part]))
		b = binary.AppendVarint(b, e.Offset)
		prev = e.At
	}
	return b
}

var errJournal = errors.New("journal: malformed")

func decodeJournal(b []byte) ([]Entry, error) {
	if len(b) == 0 {
		return nil, nil
	}
	uv := func() uint64 {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			b = nil
			return 0
		}
		b = b[k:]
		return v
	}
	sv := func() (int64, bool) {
		v, k := binary.Varint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	if uv() != 2 || b == nil {
		return nil, errors.New("journal: unknown format")
	}
	np := uv()
	if b == nil || np > uint64(len(b)) {
		return nil, errJournal
	}
	parts := make([]string, np)
	for i := range parts {
		l := uv()
		if b == nil || l > uint64(len(b)) {
			return nil, errJournal
		}
		parts[i], b = string(b[:l]), b[l:]
	}
	var out []Entry
	var prev int64
	for len(b) > 0 {
		dt, ok1 := sv()
		d, ok2 := sv()
		if !ok1 || !ok2 {
			return nil, errJournal
		}
		pi := uv()
		if b == nil && pi == 0 {
			return nil, errJournal
		}
		off, ok3 := sv()
		if !ok3 || pi >= uint64(len(parts)) {
			return nil, errJournal
		}
		prev += dt
		out = append(out, Entry{At: prev, Delta: d, Part: parts[pi], Offset: off})
	}
	return out, nil
}

func (d *DynamoDB) batchGet(ctx context.Context, table, key string, ids []string, each func(map[string]types.AttributeValue) error) error {
	return dynamobatch.Get(ctx, d.client, table, key, ids, nil, each)
}

func (d *DynamoDB) batchWrite(ctx context.Context, table string, reqs []types.WriteRequest) error {
	return dynamobatch.Write(ctx, d.client, table, reqs, &d.writes)
}
