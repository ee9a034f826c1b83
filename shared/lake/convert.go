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

// arena holds what a conversion makes for the rows of one object: the text
// of the base64 of dead letters' records in one buffer, and the numbers and
// lists rows point to in slabs, reused from object to object, instead of an
// allocation per value. What it returns is valid until reset.
type arena struct {
	buf      []byte
	int64s   slab[int64]
	int32s   slab[int32]
	float64s slab[float64]
	bools    slab[bool]
	items    slab[Item]
	cats     slab[*string]
}

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

// reset makes the arena's space free again: nothing it returned may be
// used after.
func (a *arena) reset() {
	a.buf = a.buf[:0]
	a.int64s.reset()
	a.int32s.reset()
	a.float64s.reset()
	a.bools.reset()
	a.items.reset()
	a.cats.reset()
}

// slab hands out values of T from one allocation.
type slab[T any] struct {
	all  []T // the current allocation
	free []T // its unused end
}

// ptr returns a pointer to a copy of v.
func (s *slab[T]) ptr(v T) *T {
	if len(s.free) == 0 {
		s.grow(1)
	}
	p := &s.free[0]
	*p = v
	s.free = s.free[1:]
	return p
}

// take returns n zero values.
func (s *slab[T]) take(n int) []T {
	if len(s.free) < n {
		s.grow(n)
	}
	out := s.free[:n:n]
	s.free = s.free[n:]
	return out
}

// grow starts a new allocation for at least n values: the values already
// handed out keep the old one.
func (s *slab[T]) grow(n int) {
	s.all = make([]T, max(n, 2*len(s.all), 256))
	s.free = s.all
}

// reset zeroes the values handed out from the current allocation and makes
// it free again.
func (s *slab[T]) reset() {
	clear(s.all[:len(s.all)-len(s.free)])
	s.free = s.all
}

func common(r *Record, ingested int64, a *arena) Common {
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
		c.KafkaTimestamp = a.int64s.ptr(r.Timestamp.UnixMilli())
	}
	return c
}

func (a *arena) i32(n int) *int32 { return a.int32s.ptr(int32(n)) }

func (a *arena) i32p(p *int) *int32 {
	if p == nil {
		return nil
	}
	return a.i32(*p)
}

func (a *arena) money(m event.Money) *int64 { return a.int64s.ptr(int64(m)) }

func (a *arena) moneyp(p *event.Money) *int64 {
	if p == nil {
		return nil
	}
	return a.money(*p)
}

// unless returns v, or nil when the source shape lacks field.
func unless[T any](o *event.Origin, field string, v *T) *T {
	if len(o.Missing) > 0 && o.Lacks(field) {
		return nil
	}
	return v
}

func userEvent(r *Record, ingested int64, a *arena) UserEvent {
	row := UserEvent{Common: common(r, ingested, a)}
	var act *event.Activity
	switch e := r.Event.(type) {
	case *event.PageView:
		act = &e.Activity
		row.PageURL, row.Referrer, row.ProductID, row.Category = e.PageURL, e.Referrer, e.ProductID, e.Category
	case *event.ProductView:
		act = &e.Activity
		row.ProductID, row.Category, row.Price = e.ProductID, e.Category, a.moneyp(e.Price)
	case *event.Click:
		act = &e.Activity
		row.PageURL, row.Element, row.ProductID, row.Category = e.PageURL, e.Element, e.ProductID, e.Category
	case *event.Search:
		act = &e.Activity
		row.Query, row.Category, row.ResultsCount = e.Query, e.Category, a.i32p(e.ResultsCount)
	case *event.AddToCart:
		act = &e.Activity
		row.ProductID, row.Category, row.Price = e.ProductID, e.Category, a.moneyp(e.Price)
		row.Quantity = unless(&e.Origin, "quantity", a.i32(e.Quantity))
	case *event.RemoveFromCart:
		act = &e.Activity
		row.ProductID, row.Category = e.ProductID, e.Category
		row.Quantity = unless(&e.Origin, "quantity", a.i32(e.Quantity))
	}
	if act != nil {
		row.UserID, row.SessionID, row.Device = act.UserID, act.SessionID, act.Device
		if l := act.Location; l != nil {
			row.Country, row.City, row.Lat, row.Lon = l.Country, l.City, l.Lat, l.Lon
		}
	}
	return row
}

func transaction(r *Record, ingested int64, a *arena) Transaction {
	row := Transaction{Common: common(r, ingested, a)}
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
		row.RefundAmount = unless(&e.Origin, "amount", a.money(e.Amount))
		row.Restock = a.bools.ptr(e.Restock)
	case *event.Metric:
		row.MetricName, row.MetricUnit, row.MetricCategory = e.Name, e.Unit, e.Category
		row.MetricValue = a.float64s.ptr(e.Value)
	}
	if o != nil {
		row.OrderID, row.UserID = o.OrderID, o.UserID
		row.TotalAmount = a.moneyp(o.TotalAmount)
		row.Currency, row.PaymentMethod, row.Device = o.Currency, o.PaymentMethod, o.Device
		row.CardFingerprint, row.IP = string(o.CardFingerprint), string(o.IP)
		if l := o.Location; l != nil {
			row.Country, row.City, row.Lat, row.Lon = l.Country, l.City, l.Lat, l.Lon
		}
		if len(o.Items) > 0 {
			noPrice := origin.Lacks("items.price")
			row.Items = a.items.take(len(o.Items))
			row.ItemCategories = a.cats.take(len(o.Items))
			for i := range o.Items {
				it := &o.Items[i]
				row.Items[i] = Item{ProductID: it.ProductID, Quantity: int32(it.Quantity), Category: it.Category}
				if !noPrice {
					row.Items[i].Price = a.money(it.Price)
				}
				if it.Category != "" {
					row.ItemCategories[i] = &it.Category
				}
			}
		}
	}
	return row
}

func inventoryUpdate(r *Record, ingested int64, a *arena) InventoryUpdate {
	row := InventoryUpdate{Common: common(r, ingested, a)}
	var s *event.Stock
	switch e := r.Event.(type) {
	case *event.StockAdjusted:
		s = &e.Stock
		row.Change, row.NewQuantity, row.Reason = a.i32(e.Change), a.i32p(e.NewQuantity), e.Reason
	case *event.Restocked:
		s = &e.Stock
		row.Quantity, row.SupplierID = a.i32(e.Quantity), e.SupplierID
	case *event.ShipmentReceived:
		s = &e.Stock
		row.Quantity, row.ShipmentID = a.i32(e.Quantity), e.ShipmentID
	case *event.StockCounted:
		s = &e.Stock
		row.Quantity = a.i32(e.Quantity)
	}
	if s != nil {
		row.ProductID, row.WarehouseID = s.ProductID, s.WarehouseID
	}
	return row
}

func customerFeedback(r *Record, ingested int64, a *arena) CustomerFeedback {
	row := CustomerFeedback{Common: common(r, ingested, a)}
	if e, ok := r.Event.(*event.Feedback); ok {
		row.UserID, row.Feedback, row.OrderID, row.ProductID, row.Channel = e.UserID, e.Text, e.OrderID, e.ProductID, e.Channel
		row.Rating = unless(&e.Origin, "rating", a.i32(e.Rating))
	}
	return row
}

func alert(r *Record, ingested int64, a *arena) Alert {
	row := Alert{Common: common(r, ingested, a)}
	switch e := r.Event.(type) {
	case *event.FraudAlert:
		row.OrderID, row.UserID, row.Decision, row.RuleVersion = e.OrderID, e.UserID, e.Decision, e.RuleVersion
		row.CardFingerprint = string(e.CardFingerprint)
		row.Score = a.float64s.ptr(e.Score)
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
		row.Available, row.Threshold = a.i32(e.Available), a.i32p(e.Threshold)
	case *event.SupportAlert:
		row.CaseID, row.OrderID, row.UserID, row.Priority = e.CaseID, e.OrderID, e.UserID, e.Priority
		row.CaseReasons = e.Reasons
		if e.LowestRating != 0 {
			row.LowestRating = a.i32(e.LowestRating)
		}
	}
	return row
}

func deadLetter(r *Record, ingested int64, a *arena) DeadLetter {
	row := DeadLetter{Common: common(r, ingested, a)}
	if e, ok := r.Event.(*event.DeadLetter); ok {
		row.Function, row.Reason, row.Error = e.Function, string(e.Reason), e.Error
		row.SourceTopic, row.SourcePartition, row.SourceOffset = e.Topic, e.Partition, e.Offset
		if e.KafkaTimestamp != 0 {
			row.SourceKafkaTimestamp = a.int64s.ptr(e.KafkaTimestamp)
		}
		if e.RecordKey != nil {
			row.RecordKeyBase64 = a.base64(e.RecordKey)
		}
		if e.RecordValue != nil {
			row.RecordValueBase64 = a.base64(e.RecordValue)
		}
		if len(e.Headers) > 0 {
			row.Headers = make([]Header, len(e.Headers))
			for i, h := range e.Headers {
				row.Headers[i] = Header{Key: h.Key, ValueBase64: a.base64(h.Value)}
			}
		}
	}
	return row
}
