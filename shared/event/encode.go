package event

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the canonical JSON of e to dst. The bytes are exactly
// what encoding/json.Marshal produces for e (a test holds them equal), only
// several times faster for the high-volume types.
func AppendJSON(dst []byte, e Event) ([]byte, error) {
	w := jw{b: dst}
	switch e := e.(type) {
	case *PageView:
		w.envelope(&e.Envelope)
		w.activity(&e.Activity)
		w.str("page_url", e.PageURL)
		w.optStr("referrer", e.Referrer)
		w.optStr("product_id", e.ProductID)
		w.optStr("category", e.Category)
	case *ProductView:
		w.envelope(&e.Envelope)
		w.activity(&e.Activity)
		w.str("product_id", e.ProductID)
		w.optStr("category", e.Category)
		w.optMoney("price", e.Price)
	case *Click:
		w.envelope(&e.Envelope)
		w.activity(&e.Activity)
		w.str("page_url", e.PageURL)
		w.str("element", e.Element)
		w.optStr("product_id", e.ProductID)
		w.optStr("category", e.Category)
	case *Search:
		w.envelope(&e.Envelope)
		w.activity(&e.Activity)
		w.str("query", e.Query)
		w.optStr("category", e.Category)
		if e.ResultsCount != nil {
			w.int("results_count", *e.ResultsCount)
		}
	case *AddToCart:
		w.envelope(&e.Envelope)
		w.activity(&e.Activity)
		w.str("product_id", e.ProductID)
		w.int("quantity", e.Quantity)
		w.optStr("category", e.Category)
		w.optMoney("price", e.Price)
	case *RemoveFromCart:
		w.envelope(&e.Envelope)
		w.activity(&e.Activity)
		w.str("product_id", e.ProductID)
		w.int("quantity", e.Quantity)
		w.optStr("category", e.Category)
	case *OrderCreated:
		w.envelope(&e.Envelope)
		w.order(&e.Order)
	case *PaymentAuthorized:
		w.envelope(&e.Envelope)
		w.order(&e.Order)
	case *PaymentFailed:
		w.envelope(&e.Envelope)
		w.order(&e.Order)
		w.str("failure_reason", e.FailureReason)
	case *OrderShipped:
		w.envelope(&e.Envelope)
		w.order(&e.Order)
		w.optStr("warehouse_id", e.WarehouseID)
		w.optStr("carrier", e.Carrier)
		w.optStr("tracking_id", e.TrackingID)
	case *OrderCancelled:
		w.envelope(&e.Envelope)
		w.order(&e.Order)
		w.optStr("reason", e.Reason)
	case *RefundIssued:
		w.envelope(&e.Envelope)
		w.order(&e.Order)
		w.money("amount", e.Amount)
		if e.Restock {
			w.key("restock")
			w.b = append(w.b, "true"...)
		}
		w.optStr("reason", e.Reason)
	case *StockAdjusted:
		w.envelope(&e.Envelope)
		w.stock(&e.Stock)
		w.int("change", e.Change)
		w.optStr("reason", e.Reason)
		if e.NewQuantity != nil {
			w.int("new_quantity", *e.NewQuantity)
		}
	case *Restocked:
		w.envelope(&e.Envelope)
		w.stock(&e.Stock)
		w.int("quantity", e.Quantity)
		w.optStr("supplier_id", e.SupplierID)
	case *ShipmentReceived:
		w.envelope(&e.Envelope)
		w.stock(&e.Stock)
		w.int("quantity", e.Quantity)
		w.optStr("shipment_id", e.ShipmentID)
	case *StockCounted:
		w.envelope(&e.Envelope)
		w.stock(&e.Stock)
		w.int("quantity", e.Quantity)
	case *Feedback:
		w.envelope(&e.Envelope)
		w.str("user_id", e.UserID)
		w.int("rating", e.Rating)
		w.optStr("feedback", e.Text)
		w.optStr("order_id", e.OrderID)
		w.optStr("product_id", e.ProductID)
		w.optStr("channel", e.Channel)
	case *Metric:
		w.envelope(&e.Envelope)
		w.str("metric", e.Name)
		w.key("value")
		w.float(e.Value)
		w.optStr("category", e.Category)
		w.optStr("unit", e.Unit)
	default:
		b, err := json.Marshal(e)
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	if w.err != nil {
		return dst, w.err
	}
	return append(w.b, '}'), nil
}

// jw appends JSON object members; the first member opens the object.
type jw struct {
	b    []byte
	open bool
	err  error
}

func (w *jw) key(k string) {
	if !w.open {
		w.b = append(w.b, '{')
		w.open = true
	} else {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
}

func (w *jw) optStr(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

func (w *jw) int(k string, v int) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, int64(v), 10)
}

func (w *jw) money(k string, m Money) {
	w.key(k)
	w.b = m.AppendText(w.b)
}

func (w *jw) optMoney(k string, m *Money) {
	if m != nil {
		w.money(k, *m)
	}
}

func (w *jw) envelope(e *Envelope) {
	w.str("event_id", e.EventID)
	w.str("event_type", string(e.EventType))
	w.int("schema_version", e.SchemaVersion)
	w.key("occurred_at")
	if y := e.OccurredAt.Year(); y < 0 || y > 9999 {
		b, err := json.Marshal(e.OccurredAt)
		if err != nil && w.err == nil {
			w.err = err
		}
		w.b = append(w.b, b...)
		return
	}
	w.b = append(w.b, '"')
	w.b = e.OccurredAt.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

func (w *jw) activity(a *Activity) {
	w.str("user_id", a.UserID)
	w.optStr("session_id", a.SessionID)
	w.optStr("device", a.Device)
	if a.Location != nil {
		w.key("location")
		w.location(a.Location)
	}
}

func (w *jw) location(l *Location) {
	sub := jw{b: w.b}
	sub.optStr("country", l.Country)
	sub.optStr("city", l.City)
	if l.Lat != nil {
		sub.key("lat")
		sub.float(*l.Lat)
	}
	if l.Lon != nil {
		sub.key("lon")
		sub.float(*l.Lon)
	}
	if !sub.open {
		sub.b = append(sub.b, '{')
	}
	w.b = append(sub.b, '}')
	if sub.err != nil && w.err == nil {
		w.err = sub.err
	}
}

func (w *jw) order(o *Order) {
	w.str("order_id", o.OrderID)
	w.str("user_id", o.UserID)
	if len(o.Items) > 0 {
		w.key("items")
		w.b = append(w.b, '[')
		for i := range o.Items {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			it := &o.Items[i]
			sub := jw{b: w.b}
			sub.str("product_id", it.ProductID)
			sub.int("quantity", it.Quantity)
			sub.money("price", it.Price)
			sub.optStr("category", it.Category)
			w.b = append(sub.b, '}')
		}
		w.b = append(w.b, ']')
	}
	w.optMoney("total_amount", o.TotalAmount)
	w.optStr("currency", o.Currency)
	w.optStr("payment_method", o.PaymentMethod)
	w.optStr("card_fingerprint", string(o.CardFingerprint))
	if o.Location != nil {
		w.key("location")
		w.location(o.Location)
	}
	w.optStr("ip", string(o.IP))
	w.optStr("device", o.Device)
}

func (w *jw) stock(s *Stock) {
	w.str("product_id", s.ProductID)
	w.str("warehouse_id", s.WarehouseID)
}

// float appends f as encoding/json does.
func (w *jw) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		if w.err == nil {
			w.err = &json.UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, 64)}
		}
		w.b = append(w.b, '0')
		return
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	w.b = strconv.AppendFloat(w.b, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9
		n := len(w.b)
		if n >= 4 && w.b[n-4] == 'e' && w.b[n-3] == '-' && w.b[n-2] == '0' {
			w.b[n-2] = w.b[n-1]
			w.b = w.b[:n-1]
		}
	}
}

// appendJSONString appends s quoted as encoding/json does (HTML-safe).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainByte marks the bytes encoding/json writes as they are inside a
// string: printable ASCII other than the quote, the backslash and the HTML
// characters it escapes.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range []byte{'"', '\\', '<', '>', '&'} {
		t[c] = false
	}
	return t
}()
