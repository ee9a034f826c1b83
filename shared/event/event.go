// Package event defines the shopstream event contract: one Go type per event
// type, the common envelope, validation, and a decoder that accepts both the
// canonical shape and the shapes producers already send.
//
// The JSON Schemas in events/schemas are the language-neutral form of the same
// contract; a contract test keeps the schemas, the samples and these types in step.
package event

import (
	"time"
)

// Type names an event type. It is the value of the envelope's event_type.
type Type string

// User activity, on the user_events topic keyed by user_id.
const (
	TypePageView       Type = "page_view"
	TypeProductView    Type = "product_view"
	TypeClick          Type = "click"
	TypeSearch         Type = "search"
	TypeAddToCart      Type = "add_to_cart"
	TypeRemoveFromCart Type = "remove_from_cart"
)

// Order lifecycle, on the transactions topic keyed by user_id.
const (
	TypeOrderCreated      Type = "order_created"
	TypePaymentAuthorized Type = "payment_authorized"
	TypePaymentFailed     Type = "payment_failed"
	TypeOrderShipped      Type = "order_shipped"
	TypeOrderCancelled    Type = "order_cancelled"
	TypeRefundIssued      Type = "refund_issued"
)

// Inventory, on the inventory_updates topic keyed by product_id.
const (
	TypeStockAdjusted    Type = "stock_adjusted"
	TypeRestocked        Type = "restocked"
	TypeShipmentReceived Type = "shipment_received"
	TypeStockCounted     Type = "stock_counted"
)

// Feedback, pre-computed metrics, and the derived events the functions write.
const (
	TypeFeedback       Type = "feedback"
	TypeMetric         Type = "metric"
	TypeFraudAlert     Type = "fraud_alert"
	TypeInventoryAlert Type = "inventory_alert"
	TypeSupportAlert   Type = "support_alert"
	TypeDeadLetter     Type = "dead_letter"
)

// Topic names.
const (
	TopicUserEvents      = "user_events"
	TopicTransactions    = "transactions"
	TopicInventory       = "inventory_updates"
	TopicFeedback        = "customer_feedback"
	TopicFraudAlerts     = "fraud_alerts"
	TopicInventoryAlerts = "inventory_alerts"
	TopicSupportAlerts   = "support_alerts"
	TopicDeadLetters     = "dead_letters"
)

// SchemaVersion is the only major schema version this package reads and writes.
const SchemaVersion = 1

var typeTopics = map[Type]string{
	TypePageView: TopicUserEvents, TypeProductView: TopicUserEvents, TypeClick: TopicUserEvents,
	TypeSearch: TopicUserEvents, TypeAddToCart: TopicUserEvents, TypeRemoveFromCart: TopicUserEvents,
	TypeOrderCreated: TopicTransactions, TypePaymentAuthorized: TopicTransactions,
	TypePaymentFailed: TopicTransactions, TypeOrderShipped: TopicTransactions,
	TypeOrderCancelled: TopicTransactions, TypeRefundIssued: TopicTransactions,
	TypeMetric:        TopicTransactions,
	TypeStockAdjusted: TopicInventory, TypeRestocked: TopicInventory,
	TypeShipmentReceived: TopicInventory, TypeStockCounted: TopicInventory,
	TypeFeedback:       TopicFeedback,
	TypeFraudAlert:     TopicFraudAlerts,
	TypeInventoryAlert: TopicInventoryAlerts,
	TypeSupportAlert:   TopicSupportAlerts,
	TypeDeadLetter:     TopicDeadLetters,
}

// Types lists every event type in a stable order.
func Types() []Type {
	return []Type{
		TypePageView, TypeProductView, TypeClick, TypeSearch, TypeAddToCart, TypeRemoveFromCart,
		TypeOrderCreated, TypePaymentAuthorized, TypePaymentFailed, TypeOrderShipped,
		TypeOrderCancelled, TypeRefundIssued,
		TypeStockAdjusted, TypeRestocked, TypeShipmentReceived, TypeStockCounted,
		TypeFeedback, TypeMetric, TypeFraudAlert, TypeInventoryAlert, TypeSupportAlert, TypeDeadLetter,
	}
}

// Topic returns the topic events of type t are produced to, or "" for an unknown type.
func (t Type) Topic() string { return typeTopics[t] }

// Known reports whether t is an event type of this contract.
func (t Type) Known() bool { _, ok := typeTopics[t]; return ok }

// Event is implemented by every event type. All event types are pointers to
// structs that embed Envelope.
type Event interface {
	// Meta returns the event's envelope.
	Meta() *Envelope
	// Validate reports the first contract violation as an *Error, or nil.
	Validate() error
	// Key returns the Kafka record key the event is produced with.
	Key() string
}

// Envelope holds the fields every event carries.
type Envelope struct {
	// EventID is unique per event and is the idempotency key of every effect.
	EventID       string    `json:"event_id"`
	EventType     Type      `json:"event_type"`
	SchemaVersion int       `json:"schema_version"`
	OccurredAt    time.Time `json:"occurred_at"`

	// Origin says how the event was read; it is not part of the JSON.
	Origin Origin `json:"-"`
}

// Meta implements Event.
func (e *Envelope) Meta() *Envelope { return e }

// Origin describes the wire shape an event was decoded from.
type Origin struct {
	// Shape is "" for the canonical shape, or the name of a producer shape
	// (see Shapes).
	Shape Shape
	// DerivedID is true when the source carried no event id and EventID was
	// derived from the record's content and Kafka coordinates.
	DerivedID bool
	// Missing lists canonical fields the source shape does not carry, as
	// dotted paths ("currency", "items.price"). Consumers that need one of
	// them do what they can without it and say so.
	Missing []string
}

// Lacks reports whether the source shape did not carry field.
func (o Origin) Lacks(field string) bool {
	for _, m := range o.Missing {
		if m == field {
			return true
		}
	}
	return false
}

// Location is where an event happened. Country is ISO 3166-1 alpha-2.
type Location struct {
	Country string   `json:"country,omitempty"`
	City    string   `json:"city,omitempty"`
	Lat     *float64 `json:"lat,omitempty"`
	Lon     *float64 `json:"lon,omitempty"`
}

// HasCoordinates reports whether both latitude and longitude are known.
func (l *Location) HasCoordinates() bool { return l != nil && l.Lat != nil && l.Lon != nil }

// Timestamp bounds: an occurred_at outside [MinTime, MaxTime] is absurd.
var (
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)
