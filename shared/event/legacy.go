package event

import (
	"strings"
	"time"
)

// Shape names the wire shape an event was decoded from.
type Shape string

// The canonical shape and the producer shapes the decoder accepts as they are.
const (
	// ShapeCanonical: {"event_id","event_type","schema_version","occurred_at",...}.
	ShapeCanonical Shape = ""
	// ShapeSnakeActivity: {"user_id","event":"page_view"|"view"|...,"timestamp",...}.
	ShapeSnakeActivity Shape = "snake_activity"
	// ShapeSnakeOrder: {"order_id","user_id","status":"created"|...,"timestamp","items":[...]}.
	ShapeSnakeOrder Shape = "snake_order"
	// ShapeSnakeTransaction: {"transaction_id","user_id","amount","timestamp","location":"City"}.
	ShapeSnakeTransaction Shape = "snake_transaction"
	// ShapeSnakeInventory: {"product_id","change","timestamp","location":"warehouse_id"}.
	ShapeSnakeInventory Shape = "snake_inventory"
	// ShapeSnakeFeedback: {"user_id","feedback","timestamp","rating"}.
	ShapeSnakeFeedback Shape = "snake_feedback"
	// ShapeSnakeMetric: {"metric","value","timestamp","category"}.
	ShapeSnakeMetric Shape = "snake_metric"
	// ShapeCamel: {"eventId","eventType":"OrderCreated"|...,"timestamp",...} with camelCase fields.
	ShapeCamel Shape = "camel"
)

// Shapes lists the producer shapes, in the order the decoder tries them.
func Shapes() []Shape {
	return []Shape{ShapeCamel, ShapeSnakeActivity, ShapeSnakeOrder, ShapeSnakeTransaction,
		ShapeSnakeInventory, ShapeSnakeFeedback, ShapeSnakeMetric}
}

// activityNames maps the "event" values of the snake activity shape.
var activityNames = map[string]Type{
	"page_view": TypePageView, "pageview": TypePageView, "page": TypePageView,
	"view": TypeProductView, "product_view": TypeProductView,
	"click":       TypeClick,
	"search":      TypeSearch,
	"add_to_cart": TypeAddToCart, "cart_add": TypeAddToCart, "add": TypeAddToCart,
	"remove_from_cart": TypeRemoveFromCart, "cart_remove": TypeRemoveFromCart, "remove": TypeRemoveFromCart,
}

// orderStatuses maps the "status" values of the snake order shape.
var orderStatuses = map[string]Type{
	"created": TypeOrderCreated, "placed": TypeOrderCreated, "pending": TypeOrderCreated,
	"paid": TypePaymentAuthorized, "authorized": TypePaymentAuthorized,
	"payment_failed": TypePaymentFailed, "failed": TypePaymentFailed, "declined": TypePaymentFailed,
	"shipped":   TypeOrderShipped,
	"cancelled": TypeOrderCancelled, "canceled": TypeOrderCancelled,
	"refunded": TypeRefundIssued,
}

// camelTypes maps eventType values of the camelCase shape that are not the
// PascalCase form of a canonical type.
var camelTypes = map[string]Type{
	"InventoryUpdated": TypeStockAdjusted, "StockUpdated": TypeStockAdjusted,
	"OrderPlaced": TypeOrderCreated, "OrderPaid": TypePaymentAuthorized, "PaymentSucceeded": TypePaymentAuthorized,
	"OrderCanceled": TypeOrderCancelled, "OrderRefunded": TypeRefundIssued,
	"PageViewed": TypePageView, "ProductViewed": TypeProductView, "Clicked": TypeClick, "Searched": TypeSearch,
	"AddedToCart": TypeAddToCart, "ItemAddedToCart": TypeAddToCart,
	"RemovedFromCart": TypeRemoveFromCart, "ItemRemovedFromCart": TypeRemoveFromCart,
	"FeedbackSubmitted": TypeFeedback, "ReviewSubmitted": TypeFeedback,
}

// camelType maps a PascalCase eventType onto a canonical type.
func camelType(s string) (Type, bool) {
	if t, ok := camelTypes[s]; ok {
		return t, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	t := Type(b.String())
	switch t {
	case TypeFraudAlert, TypeInventoryAlert, TypeSupportAlert, TypeDeadLetter, TypeMetric:
		return "", false
	}
	return t, t.Known()
}

// newLegacy returns a new event of type t read from shape, with the fields
// the shape lacks listed in Origin.Missing.
func newLegacy(t Type, shape Shape, missing ...string) Event {
	e := New(t)
	m := e.Meta()
	var keep []string
	for _, f := range missing {
		if oneOf(f, relevant[t]) {
			keep = append(keep, f)
		}
	}
	m.Origin = Origin{Shape: shape, Missing: keep}
	return e
}

// relevant lists, per type, the canonical fields a producer shape may lack
// that matter to consumers of that type.
var relevant = map[Type][]string{
	TypeAddToCart:         {"quantity"},
	TypeRemoveFromCart:    {"quantity"},
	TypeOrderCreated:      {"items", "items.price", "total_amount", "currency"},
	TypePaymentAuthorized: {"items.price", "total_amount", "currency", "payment_method"},
	TypePaymentFailed:     {"items.price", "currency", "payment_method", "failure_reason"},
	TypeOrderShipped:      {"items.price"},
	TypeOrderCancelled:    {"items.price"},
	TypeRefundIssued:      {"items.price", "amount", "currency"},
	TypeStockAdjusted:     {"warehouse_id"},
	TypeRestocked:         {"warehouse_id"},
	TypeShipmentReceived:  {"warehouse_id"},
	TypeStockCounted:      {"warehouse_id"},
	TypeFeedback:          {"rating"},
}

// snake reads the snake_case producer shapes, told apart by their keys.
func (r *reader) snake() Event {
	var e Event
	switch {
	case r.has("event"):
		e = r.snakeActivity()
	case r.has("status") && r.has("order_id"):
		e = r.snakeOrder()
	case r.has("transaction_id"):
		var miss []string
		for _, f := range []string{"currency", "payment_method"} {
			if !r.has(f) {
				miss = append(miss, f)
			}
		}
		e = newLegacy(TypePaymentAuthorized, ShapeSnakeTransaction, miss...)
		o := &e.(*PaymentAuthorized).Order
		o.OrderID, o.UserID = r.str("transaction_id"), r.str("user_id")
		if amt, ok := r.money("amount"); ok {
			o.TotalAmount = &amt
		} else if r.st.err == nil {
			r.fail(missing("amount"))
		}
		o.Currency, o.PaymentMethod = r.str("currency"), r.str("payment_method")
		o.CardFingerprint, o.IP = r.sensitive("card_fingerprint"), r.sensitive("ip")
		o.Location = r.location("location")
		o.Items = r.items("items", snakeItems)
	case r.has("metric"):
		e = newLegacy(TypeMetric, ShapeSnakeMetric)
		m := e.(*Metric)
		m.Name, m.Category, m.Unit = r.str("metric"), r.str("category"), r.str("unit")
		var ok bool
		if m.Value, ok = r.float("value"); !ok && r.st.err == nil {
			r.fail(missing("value"))
		}
	case r.has("product_id") && (r.has("change") || r.has("quantity_change")):
		e = r.snakeInventory()
	case r.has("feedback") || r.has("rating"):
		var miss []string
		if !r.has("rating") {
			miss = append(miss, "rating")
		}
		e = newLegacy(TypeFeedback, ShapeSnakeFeedback, miss...)
		f := e.(*Feedback)
		f.UserID, f.Text, f.OrderID, f.ProductID = r.str("user_id"), r.str("feedback"), r.str("order_id"), r.str("product_id")
		f.Rating, _ = r.int("rating")
	default:
		r.fail(errorf(ReasonUnknownType, "", "no event_type, and not a known producer shape (keys: %s)", clip(r.keys())))
		return nil
	}
	if r.st.err != nil {
		return nil
	}
	m := e.Meta()
	m.EventID = r.str("event_id")
	m.OccurredAt = r.legacyTime()
	return e
}

func (r *reader) legacyTime() (t time.Time) {
	for _, k := range []string{"timestamp", "occurred_at", "occurredAt", "time"} {
		if r.has(k) {
			return r.time(k)
		}
	}
	r.fail(missing("timestamp"))
	return
}

func (r *reader) keys() string {
	var b strings.Builder
	for i := r.lo; i < r.end; i = r.st.skip(i) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.st.key(&r.st.tape[i]))
	}
	return b.String()
}

func (r *reader) snakeActivity() Event {
	name := r.str("event")
	if r.st.err != nil {
		return nil
	}
	t, ok := activityNames[strings.ToLower(name)]
	if !ok {
		r.fail(errorf(ReasonUnknownType, "event", "%q is not a known activity", clip(name)))
		return nil
	}
	if t == TypeProductView && !r.has("product_id") && r.has("page_url") {
		t = TypePageView
	}
	var e Event
	if (t == TypeAddToCart || t == TypeRemoveFromCart) && !r.has("quantity") {
		e = newLegacy(t, ShapeSnakeActivity, "quantity")
	} else {
		e = newLegacy(t, ShapeSnakeActivity)
	}
	r.fields(e)
	if e.Meta().Origin.Lacks("quantity") && r.st.err != nil && r.st.err.Reason == ReasonMissingField && r.st.err.Field == "quantity" {
		// The shape has no quantity: one unit is what a cart action means.
		r.st.err = nil
		switch e := e.(type) {
		case *AddToCart:
			e.Quantity = 1
			e.Category, e.Price = r.str("category"), r.moneyPtr("price")
		case *RemoveFromCart:
			e.Quantity = 1
			e.Category = r.str("category")
		}
	}
	return e
}

func (r *reader) snakeOrder() Event {
	status := r.str("status")
	if r.st.err != nil {
		return nil
	}
	t, ok := orderStatuses[strings.ToLower(status)]
	if !ok {
		r.fail(errorf(ReasonUnknownType, "status", "%q is not a known order status", clip(status)))
		return nil
	}
	var miss []string
	for _, f := range []string{"total_amount", "currency", "payment_method", "failure_reason", "amount"} {
		if !r.has(f) {
			miss = append(miss, f)
		}
	}
	if !r.has("items") {
		miss = append(miss, "items")
	} else if a := r.array("items"); a != nil {
		if v := &r.st.tape[a.off].v; v.kind == kindObject && !r.st.hasKey(v, "price") {
			miss = append(miss, "items.price")
		}
	}
	e := newLegacy(t, ShapeSnakeOrder, miss...)
	r.fields(e)
	if rf, ok := e.(*RefundIssued); ok && r.st.err != nil && r.st.err.Field == "amount" && r.st.err.Reason == ReasonMissingField {
		r.st.err = nil
		rf.Restock, rf.Reason = r.boolean("restock"), r.str("reason")
	}
	return e
}

func (r *reader) snakeInventory() Event {
	var miss []string
	wh := r.str("warehouse_id")
	if wh == "" {
		wh = r.str("location")
	}
	if wh == "" {
		miss = append(miss, "warehouse_id")
	}
	e := newLegacy(TypeStockAdjusted, ShapeSnakeInventory, miss...)
	s := e.(*StockAdjusted)
	s.ProductID, s.WarehouseID = r.str("product_id"), wh
	key := "change"
	if !r.has(key) {
		key = "quantity_change"
	}
	s.Change, s.Reason, s.NewQuantity = r.reqInt(key), r.str("reason"), r.intPtr("new_quantity")
	return e
}

// camel reads the camelCase producer shape.
func (r *reader) camel() Event {
	if !r.has("eventType") {
		r.fail(missing("eventType"))
		return nil
	}
	name := r.str("eventType")
	if r.st.err != nil {
		return nil
	}
	t, ok := camelType(name)
	if !ok {
		r.fail(errorf(ReasonUnknownType, "eventType", "%q is not a known event type", clip(name)))
		return nil
	}
	var e Event
	switch t {
	case TypePageView, TypeProductView, TypeClick, TypeSearch, TypeAddToCart, TypeRemoveFromCart:
		e = newLegacy(t, ShapeCamel)
		r.camelActivity(e)
	case TypeOrderCreated, TypePaymentAuthorized, TypePaymentFailed, TypeOrderShipped, TypeOrderCancelled, TypeRefundIssued:
		e = r.camelOrder(t)
	case TypeStockAdjusted, TypeRestocked, TypeShipmentReceived, TypeStockCounted:
		e = r.camelStock(t)
	case TypeFeedback:
		e = newLegacy(t, ShapeCamel)
		f := e.(*Feedback)
		f.UserID, f.OrderID, f.ProductID = r.str("userId"), r.str("orderId"), r.str("productId")
		f.Text = r.str("feedback")
		if f.Text == "" {
			f.Text = r.str("comment")
		}
		f.Rating = r.reqInt("rating")
	default:
		r.fail(errorf(ReasonUnknownType, "eventType", "%q is not a producer event type", clip(name)))
		return nil
	}
	if r.st.err != nil {
		return nil
	}
	m := e.Meta()
	m.EventID = r.str("eventId")
	m.OccurredAt = r.legacyTime()
	return e
}

func (r *reader) camelActivity(e Event) {
	var a *Activity
	var productID, category, pageURL *string
	switch e := e.(type) {
	case *PageView:
		a, productID, category, pageURL = &e.Activity, &e.ProductID, &e.Category, &e.PageURL
		e.Referrer = r.str("referrer")
	case *ProductView:
		a, productID, category = &e.Activity, &e.ProductID, &e.Category
		e.Price = r.moneyPtr("price")
	case *Click:
		a, productID, category, pageURL = &e.Activity, &e.ProductID, &e.Category, &e.PageURL
		e.Element = r.str("element")
	case *Search:
		a, category = &e.Activity, &e.Category
		e.Query, e.ResultsCount = r.str("query"), r.intPtr("resultsCount")
	case *AddToCart:
		a, productID, category = &e.Activity, &e.ProductID, &e.Category
		e.Quantity, e.Price = r.reqInt("quantity"), r.moneyPtr("price")
	case *RemoveFromCart:
		a, productID, category = &e.Activity, &e.ProductID, &e.Category
		e.Quantity = r.reqInt("quantity")
	}
	a.UserID, a.SessionID, a.Device = r.str("userId"), r.str("sessionId"), r.str("device")
	a.Location = r.location("location")
	if productID != nil {
		*productID = r.str("productId")
	}
	*category = r.str("category")
	if pageURL != nil {
		*pageURL = r.str("pageUrl")
	}
}

func (r *reader) camelOrder(t Type) Event {
	var miss []string
	for _, f := range [][2]string{{"totalAmount", "total_amount"}, {"currency", "currency"},
		{"paymentMethod", "payment_method"}, {"failureReason", "failure_reason"}, {"amount", "amount"}} {
		if !r.has(f[0]) {
			miss = append(miss, f[1])
		}
	}
	if !r.has("items") {
		miss = append(miss, "items")
	}
	e := newLegacy(t, ShapeCamel, miss...)
	var o *Order
	switch e := e.(type) {
	case *OrderCreated:
		o = &e.Order
	case *PaymentAuthorized:
		o = &e.Order
	case *PaymentFailed:
		o = &e.Order
		e.FailureReason = r.str("failureReason")
	case *OrderShipped:
		o = &e.Order
		e.WarehouseID, e.Carrier, e.TrackingID = r.str("warehouseId"), r.str("carrier"), r.str("trackingId")
	case *OrderCancelled:
		o = &e.Order
		e.Reason = r.str("reason")
	case *RefundIssued:
		o = &e.Order
		e.Amount, _ = r.money("amount")
		e.Restock, e.Reason = r.boolean("restock"), r.str("reason")
	}
	o.OrderID, o.UserID = r.str("orderId"), r.str("userId")
	o.Items = r.items("items", camelItems)
	o.TotalAmount, o.Currency = r.moneyPtr("totalAmount"), r.str("currency")
	o.PaymentMethod, o.CardFingerprint = r.str("paymentMethod"), r.sensitive("cardFingerprint")
	o.Location, o.IP = r.location("location"), r.sensitive("ip")
	return e
}

func (r *reader) camelStock(t Type) Event {
	var miss []string
	if !r.has("warehouseId") {
		miss = append(miss, "warehouse_id")
	}
	e := newLegacy(t, ShapeCamel, miss...)
	var s *Stock
	switch e := e.(type) {
	case *StockAdjusted:
		s = &e.Stock
		key := "quantityChange"
		if !r.has(key) {
			key = "change"
		}
		e.Change, e.NewQuantity, e.Reason = r.reqInt(key), r.intPtr("newQuantity"), r.str("reason")
	case *Restocked:
		s = &e.Stock
		e.Quantity = r.reqInt("quantity")
	case *ShipmentReceived:
		s = &e.Stock
		e.Quantity = r.reqInt("quantity")
	case *StockCounted:
		s = &e.Stock
		e.Quantity = r.reqInt("quantity")
	}
	s.ProductID, s.WarehouseID = r.str("productId"), r.str("warehouseId")
	return e
}
