package event

// Activity holds the fields shared by user activity events.
type Activity struct {
	UserID    string    `json:"user_id"`
	SessionID string    `json:"session_id,omitempty"`
	Device    string    `json:"device,omitempty"`
	Location  *Location `json:"location,omitempty"`
}

// PageView is a page rendered for a user.
type PageView struct {
	Envelope
	Activity
	PageURL   string `json:"page_url"`
	Referrer  string `json:"referrer,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	Category  string `json:"category,omitempty"`
}

// ProductView is a product detail view.
type ProductView struct {
	Envelope
	Activity
	ProductID string `json:"product_id"`
	Category  string `json:"category,omitempty"`
	Price     *Money `json:"price,omitempty"`
}

// Click is a click on a page element.
type Click struct {
	Envelope
	Activity
	PageURL   string `json:"page_url"`
	Element   string `json:"element"`
	ProductID string `json:"product_id,omitempty"`
	Category  string `json:"category,omitempty"`
}

// Search is a catalogue search. Query is free text: store it, never interpret it.
type Search struct {
	Envelope
	Activity
	Query        string `json:"query"`
	Category     string `json:"category,omitempty"`
	ResultsCount *int   `json:"results_count,omitempty"`
}

// AddToCart puts Quantity units of a product in the user's cart.
type AddToCart struct {
	Envelope
	Activity
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
	Category  string `json:"category,omitempty"`
	Price     *Money `json:"price,omitempty"`
}

// RemoveFromCart takes Quantity units of a product out of the user's cart.
type RemoveFromCart struct {
	Envelope
	Activity
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
	Category  string `json:"category,omitempty"`
}

// Item is one line of an order.
type Item struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
	// Price is the unit price.
	Price    Money  `json:"price"`
	Category string `json:"category,omitempty"`
}

// Order holds the fields shared by order lifecycle events. Lifecycle events
// after order_created may repeat the order's items as a snapshot.
type Order struct {
	OrderID         string    `json:"order_id"`
	UserID          string    `json:"user_id"`
	Items           []Item    `json:"items,omitempty"`
	TotalAmount     *Money    `json:"total_amount,omitempty"`
	Currency        string    `json:"currency,omitempty"`
	PaymentMethod   string    `json:"payment_method,omitempty"`
	CardFingerprint Sensitive `json:"card_fingerprint,omitempty"`
	Location        *Location `json:"location,omitempty"`
	IP              Sensitive `json:"ip,omitempty"`
	Device          string    `json:"device,omitempty"`
}

// OrderCreated opens an order. Items, total and currency are required.
type OrderCreated struct {
	Envelope
	Order
}

// PaymentAuthorized records a successful payment for an order.
type PaymentAuthorized struct {
	Envelope
	Order
}

// PaymentFailed records a declined or failed payment attempt.
type PaymentFailed struct {
	Envelope
	Order
	FailureReason string `json:"failure_reason"`
}

// OrderShipped records that an order left a warehouse.
type OrderShipped struct {
	Envelope
	Order
	WarehouseID string `json:"warehouse_id,omitempty"`
	Carrier     string `json:"carrier,omitempty"`
	TrackingID  string `json:"tracking_id,omitempty"`
}

// OrderCancelled records that an order was cancelled before shipping.
type OrderCancelled struct {
	Envelope
	Order
	Reason string `json:"reason,omitempty"`
}

// RefundIssued records money returned for an order. Amount is what was
// refunded; when Restock is true the listed items went back on the shelf.
type RefundIssued struct {
	Envelope
	Order
	Amount  Money  `json:"amount"`
	Restock bool   `json:"restock,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Stock holds the fields shared by inventory events.
type Stock struct {
	ProductID   string `json:"product_id"`
	WarehouseID string `json:"warehouse_id"`
}

// StockAdjusted changes on-hand stock by a signed amount.
type StockAdjusted struct {
	Envelope
	Stock
	Change int    `json:"change"`
	Reason string `json:"reason,omitempty"`
	// NewQuantity is the producer's own view of the stock after the change,
	// when it sends one; informational.
	NewQuantity *int `json:"new_quantity,omitempty"`
}

// Restocked adds stock from a replenishment.
type Restocked struct {
	Envelope
	Stock
	Quantity   int    `json:"quantity"`
	SupplierID string `json:"supplier_id,omitempty"`
}

// ShipmentReceived adds stock from an inbound shipment.
type ShipmentReceived struct {
	Envelope
	Stock
	Quantity   int    `json:"quantity"`
	ShipmentID string `json:"shipment_id,omitempty"`
}

// StockCounted sets on-hand stock absolutely, as counted at OccurredAt. It
// supersedes adjustments that happened before the count, not those after.
type StockCounted struct {
	Envelope
	Stock
	Quantity int `json:"quantity"`
}

// Feedback is a customer's rating and comment. Text is free text: store it,
// never interpret it.
type Feedback struct {
	Envelope
	UserID    string `json:"user_id"`
	Rating    int    `json:"rating"`
	Text      string `json:"feedback,omitempty"`
	OrderID   string `json:"order_id,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	Channel   string `json:"channel,omitempty"`
}

// Metric is a value a producer computed itself ("sales" = 1000). It is
// stored as a metric, never counted as the underlying business events.
type Metric struct {
	Envelope
	Name     string  `json:"metric"`
	Value    float64 `json:"value"`
	Category string  `json:"category,omitempty"`
	Unit     string  `json:"unit,omitempty"`
}

// FraudReason is one rule's contribution to a fraud score.
type FraudReason struct {
	Rule   string  `json:"rule"`
	Score  float64 `json:"score"`
	Detail string  `json:"detail,omitempty"`
}

// FraudAlert is raised for an order the fraud function reviews or declines.
type FraudAlert struct {
	Envelope
	OrderID         string        `json:"order_id"`
	UserID          string        `json:"user_id"`
	Score           float64       `json:"score"`
	Decision        string        `json:"decision"`
	Reasons         []FraudReason `json:"reasons"`
	RuleVersion     string        `json:"rule_version"`
	CardFingerprint Sensitive     `json:"card_fingerprint,omitempty"`
}

// InventoryAlert is raised when stock crosses a threshold or an order cannot
// be reserved in full.
type InventoryAlert struct {
	Envelope
	ProductID   string `json:"product_id"`
	WarehouseID string `json:"warehouse_id,omitempty"`
	Kind        string `json:"kind"`
	Available   int    `json:"available"`
	Threshold   *int   `json:"threshold,omitempty"`
	OrderID     string `json:"order_id,omitempty"`
}

// SupportAlert is raised by the support function when a support case
// becomes high priority. Its EventID derives from the case, so that a
// replayed alert keeps its id.
type SupportAlert struct {
	Envelope
	CaseID   string `json:"case_id"`
	OrderID  string `json:"order_id,omitempty"`
	UserID   string `json:"user_id"`
	Priority string `json:"priority"`
	// Reasons are the case's reasons (low_rating, fraud, not_delivered...).
	Reasons []string `json:"reasons"`
	// LowestRating is the lowest rating among the case's feedback; 0 when
	// none has a rating.
	LowestRating int `json:"lowest_rating,omitempty"`
}

// DeadLetter carries a record a function could not process, with the reason
// and the original bytes, so that it can be inspected and replayed.
type DeadLetter struct {
	Envelope
	Function string `json:"function"`
	Reason   Reason `json:"reason"`
	Error    string `json:"error"`
	// Source coordinates and original record.
	Topic          string         `json:"topic"`
	Partition      int32          `json:"partition"`
	Offset         int64          `json:"offset"`
	KafkaTimestamp int64          `json:"kafka_timestamp"`
	RecordKey      []byte         `json:"key,omitempty"`
	RecordValue    []byte         `json:"value,omitempty"`
	Headers        []RecordHeader `json:"headers,omitempty"`
}

// RecordHeader is one Kafka record header.
type RecordHeader struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// Keys: user activity, orders and feedback are keyed by user; inventory by
// product; alerts by the entity they concern; dead letters by origin.

func (e *PageView) Key() string          { return e.UserID }
func (e *ProductView) Key() string       { return e.UserID }
func (e *Click) Key() string             { return e.UserID }
func (e *Search) Key() string            { return e.UserID }
func (e *AddToCart) Key() string         { return e.UserID }
func (e *RemoveFromCart) Key() string    { return e.UserID }
func (e *OrderCreated) Key() string      { return e.UserID }
func (e *PaymentAuthorized) Key() string { return e.UserID }
func (e *PaymentFailed) Key() string     { return e.UserID }
func (e *OrderShipped) Key() string      { return e.UserID }
func (e *OrderCancelled) Key() string    { return e.UserID }
func (e *RefundIssued) Key() string      { return e.UserID }
func (e *StockAdjusted) Key() string     { return e.ProductID }
func (e *Restocked) Key() string         { return e.ProductID }
func (e *ShipmentReceived) Key() string  { return e.ProductID }
func (e *StockCounted) Key() string      { return e.ProductID }
func (e *Feedback) Key() string          { return e.UserID }
func (e *Metric) Key() string            { return e.Name }
func (e *FraudAlert) Key() string        { return e.UserID }
func (e *InventoryAlert) Key() string    { return e.ProductID }
func (e *SupportAlert) Key() string      { return e.CaseID }
func (e *DeadLetter) Key() string        { return string(e.RecordKey) }

// New returns a zero event of type t with its envelope type set, or nil for
// an unknown type.
func New(t Type) Event {
	var e Event
	switch t {
	case TypePageView:
		e = &PageView{}
	case TypeProductView:
		e = &ProductView{}
	case TypeClick:
		e = &Click{}
	case TypeSearch:
		e = &Search{}
	case TypeAddToCart:
		e = &AddToCart{}
	case TypeRemoveFromCart:
		e = &RemoveFromCart{}
	case TypeOrderCreated:
		e = &OrderCreated{}
	case TypePaymentAuthorized:
		e = &PaymentAuthorized{}
	case TypePaymentFailed:
		e = &PaymentFailed{}
	case TypeOrderShipped:
		e = &OrderShipped{}
	case TypeOrderCancelled:
		e = &OrderCancelled{}
	case TypeRefundIssued:
		e = &RefundIssued{}
	case TypeStockAdjusted:
		e = &StockAdjusted{}
	case TypeRestocked:
		e = &Restocked{}
	case TypeShipmentReceived:
		e = &ShipmentReceived{}
	case TypeStockCounted:
		e = &StockCounted{}
	case TypeFeedback:
		e = &Feedback{}
	case TypeMetric:
		e = &Metric{}
	case TypeFraudAlert:
		e = &FraudAlert{}
	case TypeInventoryAlert:
		e = &InventoryAlert{}
	case TypeSupportAlert:
		e = &SupportAlert{}
	case TypeDeadLetter:
		e = &DeadLetter{}
	default:
		return nil
	}
	m := e.Meta()
	m.EventType = t
	m.SchemaVersion = SchemaVersion
	return e
}
