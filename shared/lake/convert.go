package lake

import (
	"encoding/base64"
	"time"
	"unsafe"

	"github.com/shopstream/shopstream/shared/event"
)

// Record is one decoded event and where it was read from in Kafka.
type Record struct {
	Event     event.Event
	Topic     string
	Partition int32
	Offset    int64
	// Timestamp is the record's Kafka timestamp; zero when it has none.
	Timestamp time.Time
}

// ShapeCanonical is the shape column's value for events in the canonical shape.
const ShapeCanonical = "canonical"

func micros(t time.Time) int64 { return t.UnixMicro() }

// arena holds the text a conversion makes (the base64 of dead letters'
// records) for the rows of one object: one buffer, reused from object to
// object, instead of a string per value. Its strings are valid until reset.
type arena struct{ buf []byte }

// base64 returns the standard base64 of b, in the arena.
func (a *arena) base64(b []byte) string {
	n := base64.StdEncoding.EncodedLen(len(b))
	if n == 0 {
		return ""
	}
	if cap(a.buf)-len(a.buf) < n {
		// A new buffer: the strings already made keep the old one.
		a.buf = make([]byte, 0, max(n, 2*cap(a.buf), 64<<10))
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	base64.StdEncoding.Encode(a.buf[start:], b)
	return unsafe.String(&a.buf[start], n)
}

// reset makes the arena's space free again: no string it returned may be
// used after.
func (a *arena) reset() { a.buf = a.buf[:0] }

func common(r *Record, ingested int64) Common {
	m := r.Event.Meta()
	c := Common{
		EventID:        m.EventID,
		EventType:      string(m.EventType),
		SchemaVersion:  int32(m.SchemaVersion),
		OccurredAt:     micros(m.OccurredAt),
		Shape:          string(m.Origin.Shape),
		DerivedID:      m.Origin.DerivedID,
		MissingFields:  m.Origin.Missing,
		KafkaTopic:     r.Topic,
		KafkaPartition: r.Partition,
		KafkaOffset:    r.Offset,
		IngestedAt:     ingested,
	}
	if c.Shape == "" {
		c.Shape = ShapeCanonical
	}
	if !r.Timestamp.IsZero() {
		ms := r.Timestamp.UnixMilli()
		c.KafkaTimestamp = &ms
	}
	return c
}

func i32(n int) *int32 { v := int32(n); return &v }

func i32p(p *int) *int32 {
	if p == nil {
		return nil
	}
	return i32(*p)
}

func money(m event.Money) *int64 { v := int64(m); return &v }

func moneyp(p *event.Money) *int64 {
	if p == nil {
		return nil
	}
	return money(*p)
}

// unless returns v, or nil when the source shape lacks field.
func unless[T any](o *event.Origin, field string, v *T) *T {
	if len(o.Missing) > 0 && o.Lacks(field) {
		return nil
	}
	return v
}

func userEvent(r *Record, ingested int64, _ *arena) UserEvent {
	row := UserEvent{Common: common(r, ingested)}
	var a *event.Activity
	switch e := r.Event.(type) {
	case *event.PageView:
		a = &e.Activity
		row.PageURL, row.Referrer, row.ProductID, row.Category = e.PageURL, e.Referrer, e.ProductID, e.Category
	case *event.ProductView:
		a = &e.Activity
		row.ProductID, row.Category, row.Price = e.ProductID, e.Category, moneyp(e.Price)
	case *event.Click:
		a = &e.Activity
		row.PageURL, row.Element, row.ProductID, row.Category = e.PageURL, e.Element, e.ProductID, e.Category
	case *event.Search:
		a = &e.Activity
		row.Query, row.Category, row.ResultsCount = e.Query, e.Category, i32p(e.ResultsCount)
	case *event.AddToCart:
		a = &e.Activity
		row.ProductID, row.Category, row.Price = e.ProductID, e.Category, moneyp(e.Price)
		row.Quantity = unless(&e.Origin, "quantity", i32(e.Quantity))
	case *event.RemoveFromCart:
		a = &e.Activity
		row.ProductID, row.Category = e.ProductID, e.Category
		row.Quantity = unless(&e.Origin, "quantity", i32(e.Quantity))
	}
	if a != nil {
		row.UserID, row.SessionID, row.Device = a.UserID, a.SessionID, a.Device
		if l := a.Location; l != nil {
			row.Country, row.City, row.Lat, row.Lon = l.Country, l.City, l.Lat, l.Lon
		}
	}
	return row
}

func transaction(r *Record, ingested int64, _ *arena) Transaction {
	row := Transaction{Common: common(r, ingested)}
	var o *event.Order
	var origin *event.Origin
	switch e := r.Event.(type) {
	case *event.OrderCreated:
		o, origin = &e.Order, &e.Origin
	case *event.PaymentAuthorized:
		o, origin = &e.Order, &e.Origin
	case *event.PaymentFailed:
		o, origin = &e.Order, &e.Origin
		row.FailureReason = e.FailureReason
	case *event.OrderShipped:
		o, origin = &e.Order, &e.Origin
		row.WarehouseID, row.Carrier, row.TrackingID = e.WarehouseID, e.Carrier, e.TrackingID
	case *event.OrderCancelled:
		o, origin = &e.Order, &e.Origin
		row.Reason = e.Reason
	case *event.RefundIssued:
		o, origin = &e.Order, &e.Origin
		row.Reason = e.Reason
		row.RefundAmount = unless(&e.Origin, "amount", money(e.Amount))
		restock := e.Restock
		row.Restock = &restock
	case *event.Metric:
		row.MetricName, row.MetricUnit, row.MetricCategory = e.Name, e.Unit, e.Category
		v := e.Value
		row.MetricValue = &v
	}
	if o != nil {
		row.OrderID, row.UserID = o.OrderID, o.UserID
		row.TotalAmount = moneyp(o.TotalAmount)
		row.Currency, row.PaymentMethod, row.Device = o.Currency, o.PaymentMethod, o.Device
		row.CardFingerprint, row.IP = string(o.CardFingerprint), string(o.IP)
		if l := o.Location; l != nil {
			row.Country, row.City, row.Lat, row.Lon = l.Country, l.City, l.Lat, l.Lon
		}
		if len(o.Items) > 0 {
			noPrice := origin.Lacks("items.price")
			row.Items = make([]Item, len(o.Items))
			row.ItemCategories = make([]*string, len(o.Items))
			for i := range o.Items {
				it := &o.Items[i]
				row.Items[i] = Item{ProductID: it.ProductID, Quantity: int32(it.Quantity), Category: it.Category}
				if !noPrice {
					row.Items[i].Price = money(it.Price)
				}
				if it.Category != "" {
					row.ItemCategories[i] = &it.Category
				}
			}
		}
	}
	return row
}

func inventoryUpdate(r *Record, ingested int64, _ *arena) InventoryUpdate {
	row := InventoryUpdate{Common: common(r, ingested)}
	var s *event.Stock
	switch e := r.Event.(type) {
	case *event.StockAdjusted:
		s = &e.Stock
		row.Change, row.NewQuantity, row.Reason = i32(e.Change), i32p(e.NewQuantity), e.Reason
	case *event.Restocked:
		s = &e.Stock
		row.Quantity, row.SupplierID = i32(e.Quantity), e.SupplierID
	case *event.ShipmentReceived:
		s = &e.Stock
		row.Quantity, row.ShipmentID = i32(e.Quantity), e.ShipmentID
	case *event.StockCounted:
		s = &e.Stock
		row.Quantity = i32(e.Quantity)
	}
	if s != nil {
		row.ProductID, row.WarehouseID = s.ProductID, s.WarehouseID
	}
	return row
}

func customerFeedback(r *Record, ingested int64, _ *arena) CustomerFeedback {
	row := CustomerFeedback{Common: common(r, ingested)}
	if e, ok := r.Event.(*event.Feedback); ok {
		row.UserID, row.Feedback, row.OrderID, row.ProductID, row.Channel = e.UserID, e.Text, e.OrderID, e.ProductID, e.Channel
		row.Rating = unless(&e.Origin, "rating", i32(e.Rating))
	}
	return row
}

func alert(r *Record, ingested int64, _ *arena) Alert {
	row := Alert{Common: common(r, ingested)}
	switch e := r.Event.(type) {
	case *event.FraudAlert:
		row.OrderID, row.UserID, row.Decision, row.RuleVersion = e.OrderID, e.UserID, e.Decision, e.RuleVersion
		row.CardFingerprint = string(e.CardFingerprint)
		score := e.Score
		row.Score = &score
		if len(e.Reasons) > 0 {
			row.Reasons = make([]FraudReason, len(e.Reasons))
			row.ReasonRules = make([]string, len(e.Reasons))
			for i, fr := range e.Reasons {
				row.Reasons[i] = FraudReason{Rule: fr.Rule, Score: fr.Score, Detail: fr.Detail}
				row.ReasonRules[i] = fr.Rule
			}
		}
	case *event.InventoryAlert:
		row.ProductID, row.WarehouseID, row.Kind, row.OrderID = e.ProductID, e.WarehouseID, e.Kind, e.OrderID
		row.Available, row.Threshold = i32(e.Available), i32p(e.Threshold)
	case *event.SupportAlert:
		row.CaseID, row.OrderID, row.UserID, row.Priority = e.CaseID, e.OrderID, e.UserID, e.Priority
		row.CaseReasons = e.Reasons
		if e.LowestRating != 0 {
			row.LowestRating = i32(e.LowestRating)
		}
	}
	return row
}

func deadLetter(r *Record, ingested int64, text *arena) DeadLetter {
	row := DeadLetter{Common: common(r, ingested)}
	if e, ok := r.Event.(*event.DeadLetter); ok {
		row.Function, row.Reason, row.Error = e.Function, string(e.Reason), e.Error
		row.SourceTopic, row.SourcePartition, row.SourceOffset = e.Topic, e.Partition, e.Offset
		if e.KafkaTimestamp != 0 {
			ts := e.KafkaTimestamp
			row.SourceKafkaTimestamp = &ts
		}
		if e.RecordKey != nil {
			row.RecordKeyBase64 = text.base64(e.RecordKey)
		}
		if e.RecordValue != nil {
			row.RecordValueBase64 = text.base64(e.RecordValue)
		}
		if len(e.Headers) > 0 {
			row.Headers = make([]Header, len(e.Headers))
			for i, h := range e.Headers {
				row.Headers[i] = Header{Key: h.Key, ValueBase64: text.base64(h.Value)}
			}
		}
	}
	return row
}
