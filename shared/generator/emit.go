package generator

import (
	"encoding/json"
	"time"

	"github.com/shopstream/shopstream/shared/event"
)

// stockFx is one record's effect on stock: deltas, or an absolute count.
type stockFx struct {
	p        *product
	set      bool
	onHand   int
	reserved int
}

func (g *Generator) emit(e event.Event) { g.emitWith(e, nil, nil) }

// emitWith queues a good record for e, in the canonical shape or, for a share
// of records, in a producer shape; then, at the configured rate, a bad record.
func (g *Generator) emitWith(e event.Event, fx []stockFx, label *FraudLabel) {
	m := e.Meta()
	rec := Record{Topic: m.EventType.Topic(), Key: e.Key(), Time: m.OccurredAt, Type: m.EventType,
		view: e, fx: fx, label: label}
	if g.cfg.LegacyShare > 0 && g.chance(g.cfg.LegacyShare) {
		if v, view, shape := g.legacy(e); v != nil {
			rec.Value, rec.view, rec.Shape = v, view, shape
		}
	}
	if rec.Value == nil {
		v, err := event.AppendJSON(make([]byte, 0, 640), e)
		if err != nil {
			panic("generator: encode " + err.Error()) // only valid events of our own are encoded
		}
		rec.Value = v
	}
	g.out = append(g.out, rec)
	if g.cfg.BadRate > 0 && g.chance(g.cfg.BadRate/(1-g.cfg.BadRate)) {
		g.out = append(g.out, g.badRecord())
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("generator: marshal " + err.Error()) // only our own types are marshalled
	}
	return b
}

const legacyTime = time.RFC3339

// Producer shapes, as shops that adopt shopstream already send them.
type (
	snakeActivity struct {
		UserID    string `json:"user_id"`
		Event     string `json:"event"`
		ProductID string `json:"product_id,omitempty"`
		Quantity  int    `json:"quantity,omitempty"`
		Timestamp string `json:"timestamp"`
		PageURL   string `json:"page_url,omitempty"`
	}
	snakeItem struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
	}
	snakeOrder struct {
		OrderID   string      `json:"order_id"`
		UserID    string      `json:"user_id"`
		Status    string      `json:"status"`
		Timestamp string      `json:"timestamp"`
		Items     []snakeItem `json:"items"`
	}
	snakeTransaction struct {
		TransactionID string      `json:"transaction_id"`
		UserID        string      `json:"user_id"`
		Amount        event.Money `json:"amount"`
		Timestamp     string      `json:"timestamp"`
		Location      string      `json:"location"`
	}
	snakeInventory struct {
		ProductID string `json:"product_id"`
		Change    int    `json:"change"`
		Timestamp string `json:"timestamp"`
		Location  string `json:"location"`
	}
	snakeFeedback struct {
		UserID    string `json:"user_id"`
		Feedback  string `json:"feedback"`
		Timestamp string `json:"timestamp"`
		Rating    int    `json:"rating"`
	}
	snakeMetric struct {
		Metric    string  `json:"metric"`
		Value     float64 `json:"value"`
		Timestamp string  `json:"timestamp"`
		Category  string  `json:"category"`
	}
	camelItem struct {
		ProductID string      `json:"productId"`
		Quantity  int         `json:"quantity"`
		Price     event.Money `json:"price"`
	}
	camelOrder struct {
		EventID       string      `json:"eventId"`
		EventType     string      `json:"eventType"`
		Timestamp     string      `json:"timestamp"`
		OrderID       string      `json:"orderId"`
		UserID        string      `json:"userId"`
		Items         []camelItem `json:"items"`
		TotalAmount   event.Money `json:"totalAmount"`
		PaymentStatus string      `json:"paymentStatus"`
	}
	camelInventory struct {
		EventID        string `json:"eventId"`
		EventType      string `json:"eventType"`
		Timestamp      string `json:"timestamp"`
		ProductID      string `json:"productId"`
		QuantityChange int    `json:"quantityChange"`
		NewQuantity    int    `json:"newQuantity"`
	}
)

// legacy writes e in a producer shape when one fits its type. It returns the
// bytes, the event a reader can recover from them (fields the shape lacks are
// zero), and the shape; or nil when no shape fits.
func (g *Generator) legacy(e event.Event) ([]byte, event.Event, event.Shape) {
	m := e.Meta()
	ts := m.OccurredAt.Format(legacyTime)
	// Producer shapes carry second precision: the recovered event time too.
	env := event.Envelope{EventType: m.EventType, SchemaVersion: event.SchemaVersion, OccurredAt: m.OccurredAt.Truncate(time.Second)}
	switch e := e.(type) {
	case *event.PageView:
		v := &event.PageView{Envelope: env, Activity: event.Activity{UserID: e.UserID}, PageURL: e.PageURL}
		return mustJSON(snakeActivity{UserID: e.UserID, Event: "page_view", Timestamp: ts, PageURL: e.PageURL}), v, event.ShapeSnakeActivity
	case *event.ProductView:
		v := &event.ProductView{Envelope: env, Activity: event.Activity{UserID: e.UserID}, ProductID: e.ProductID}
		return mustJSON(snakeActivity{UserID: e.UserID, Event: "view", Timestamp: ts, ProductID: e.ProductID}), v, event.ShapeSnakeActivity
	case *event.AddToCart:
		v := &event.AddToCart{Envelope: env, Activity: event.Activity{UserID: e.UserID}, ProductID: e.ProductID, Quantity: e.Quantity}
		return mustJSON(snakeActivity{UserID: e.UserID, Event: "add_to_cart", Timestamp: ts, ProductID: e.ProductID, Quantity: e.Quantity}), v, event.ShapeSnakeActivity
	case *event.OrderCreated:
		if g.chance(0.5) {
			v := &event.OrderCreated{Envelope: env, Order: snakeView(&e.Order)}
			return mustJSON(snakeOrderOf(&e.Order, "created", ts)), v, event.ShapeSnakeOrder
		}
		env.EventID = m.EventID
		v := &event.OrderCreated{Envelope: env, Order: event.Order{OrderID: e.OrderID, UserID: e.UserID, TotalAmount: e.TotalAmount}}
		co := camelOrder{EventID: m.EventID, EventType: "OrderCreated", Timestamp: ts, OrderID: e.OrderID, UserID: e.UserID,
			TotalAmount: *e.TotalAmount, PaymentStatus: "Pending"}
		for _, it := range e.Items {
			co.Items = append(co.Items, camelItem{ProductID: it.ProductID, Quantity: it.Quantity, Price: it.Price})
			v.Items = append(v.Items, event.Item{ProductID: it.ProductID, Quantity: it.Quantity, Price: it.Price})
		}
		return mustJSON(co), v, event.ShapeCamel
	case *event.OrderShipped:
		v := &event.OrderShipped{Envelope: env, Order: snakeView(&e.Order)}
		return mustJSON(snakeOrderOf(&e.Order, "shipped", ts)), v, event.ShapeSnakeOrder
	case *event.OrderCancelled:
		v := &event.OrderCancelled{Envelope: env, Order: snakeView(&e.Order)}
		return mustJSON(snakeOrderOf(&e.Order, "cancelled", ts)), v, event.ShapeSnakeOrder
	case *event.PaymentAuthorized:
		v := &event.PaymentAuthorized{Envelope: env, Order: event.Order{OrderID: e.OrderID, UserID: e.UserID,
			TotalAmount: e.TotalAmount, Location: &event.Location{City: e.Location.City}}}
		return mustJSON(snakeTransaction{TransactionID: e.OrderID, UserID: e.UserID, Amount: *e.TotalAmount,
			Timestamp: ts, Location: e.Location.City}), v, event.ShapeSnakeTransaction
	case *event.StockAdjusted:
		if g.chance(0.5) {
			v := &event.StockAdjusted{Envelope: env, Stock: e.Stock, Change: e.Change}
			return mustJSON(snakeInventory{ProductID: e.ProductID, Change: e.Change, Timestamp: ts, Location: e.WarehouseID}), v, event.ShapeSnakeInventory
		}
		env.EventID = m.EventID
		v := &event.StockAdjusted{Envelope: env, Stock: event.Stock{ProductID: e.ProductID}, Change: e.Change, NewQuantity: e.NewQuantity}
		return mustJSON(camelInventory{EventID: m.EventID, EventType: "InventoryUpdated", Timestamp: ts, ProductID: e.ProductID,
			QuantityChange: e.Change, NewQuantity: *e.NewQuantity}), v, event.ShapeCamel
	case *event.Feedback:
		v := &event.Feedback{Envelope: env, UserID: e.UserID, Rating: e.Rating, Text: e.Text}
		return mustJSON(snakeFeedback{UserID: e.UserID, Feedback: e.Text, Timestamp: ts, Rating: e.Rating}), v, event.ShapeSnakeFeedback
	}
	return nil, nil, ""
}

func snakeOrderOf(o *event.Order, status, ts string) snakeOrder {
	so := snakeOrder{OrderID: o.OrderID, UserID: o.UserID, Status: status, Timestamp: ts}
	for _, it := range o.Items {
		so.Items = append(so.Items, snakeItem{ProductID: it.ProductID, Quantity: it.Quantity})
	}
	return so
}

func snakeView(o *event.Order) event.Order {
	v := event.Order{OrderID: o.OrderID, UserID: o.UserID}
	for _, it := range o.Items {
		v.Items = append(v.Items, event.Item{ProductID: it.ProductID, Quantity: it.Quantity})
	}
	return v
}

func (g *Generator) emitLegacyMetric(category string, value float64) {
	t := g.eventTime()
	env := event.Envelope{EventType: event.TypeMetric, SchemaVersion: event.SchemaVersion, OccurredAt: t.Truncate(time.Second)}
	v := &event.Metric{Envelope: env, Name: "sales", Value: value, Category: category}
	g.out = append(g.out, Record{Topic: event.TopicTransactions, Key: "metric:sales", Time: t, Type: event.TypeMetric,
		Shape: event.ShapeSnakeMetric, view: v,
		Value: mustJSON(snakeMetric{Metric: "sales", Value: value, Timestamp: t.Format(legacyTime), Category: category})})
}
