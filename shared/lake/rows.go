package lake

// The row types below are the tables' column definitions. Field order is
// column order. Tag conventions (see the package documentation):
//   - optional on a string: the empty string is written as NULL;
//   - a pointer: nil is NULL, so that an unknown number is never a zero;
//   - dict: dictionary encoding, for low-cardinality strings;
//   - timestamp(microsecond:utc) / timestamp(millisecond:utc): INT64
//     TIMESTAMP adjusted to UTC;
//   - decimal(4:18): DECIMAL(18,4) on INT64, event.Money exactly.
//
// Compression (zstd) is set for every column by the Writer.

// Common holds the columns every table starts with: the envelope, how the
// event was read, and where it came from in Kafka.
type Common struct {
	EventID       string `parquet:"event_id"`
	EventType     string `parquet:"event_type,dict"`
	SchemaVersion int32  `parquet:"schema_version"`
	// OccurredAt is the event time; the dt and hour partitions derive from it.
	OccurredAt int64 `parquet:"occurred_at,timestamp(microsecond:utc)"`
	// Shape is "canonical" or the producer shape the event was read from.
	Shape string `parquet:"shape,dict"`
	// DerivedID is true when the source had no event id and event_id was
	// derived from the record's bytes and Kafka coordinates.
	DerivedID bool `parquet:"derived_id"`
	// MissingFields lists the canonical fields the source shape does not
	// carry (dotted paths such as "items.price"): their columns are NULL
	// because they are unknown, not because they are zero.
	MissingFields []string `parquet:"missing_fields,list"`

	KafkaTopic     string `parquet:"kafka_topic,dict"`
	KafkaPartition int32  `parquet:"kafka_partition"`
	KafkaOffset    int64  `parquet:"kafka_offset"`
	// KafkaTimestamp is the record's Kafka timestamp; NULL when the payload
	// had none.
	KafkaTimestamp *int64 `parquet:"kafka_timestamp,timestamp(millisecond:utc)"`
	// IngestedAt is when the lake function wrote the row.
	IngestedAt int64 `parquet:"ingested_at,timestamp(microsecond:utc)"`
}

// UserEvent is a row of user_events: page_view, product_view, click,
// search, add_to_cart, remove_from_cart.
type UserEvent struct {
	Common
	UserID       string   `parquet:"user_id"`
	SessionID    string   `parquet:"session_id,optional"`
	Device       string   `parquet:"device,optional,dict"`
	Country      string   `parquet:"country,optional,dict"`
	City         string   `parquet:"city,optional,dict"`
	Lat          *float64 `parquet:"lat"`
	Lon          *float64 `parquet:"lon"`
	PageURL      string   `parquet:"page_url,optional"`
	Referrer     string   `parquet:"referrer,optional"`
	Element      string   `parquet:"element,optional,dict"`
	ProductID    string   `parquet:"product_id,optional"`
	Category     string   `parquet:"category,optional,dict"`
	Query        string   `parquet:"query,optional"`
	ResultsCount *int32   `parquet:"results_count"`
	Quantity     *int32   `parquet:"quantity"`
	Price        *int64   `parquet:"price,decimal(4:18)"`
}

// Item is one order line, an element of the items column of transactions.
//
// Items are a repeated group (LIST of STRUCT) inside the order's row, not a
// child table: an order event and its lines are written, replaced and
// counted together (one row per event, so row counts match the event
// counts), and a child table would double the objects per batch and need a
// join for every revenue query. Athena expands an unnested struct into one
// column per field and DuckDB into one struct column, so queries that must
// run on both unnest item_categories, the items' categories in item order,
// WITH ORDINALITY and read the rest of item n as items[n].
type Item struct {
	ProductID string `parquet:"product_id"`
	Quantity  int32  `parquet:"quantity"`
	// Price is the unit price; NULL when the producer shape carries none.
	// (The items list itself is NULL when the shape carries no items.)
	Price    *int64 `parquet:"price,decimal(4:18)"`
	Category string `parquet:"category,optional,dict"`
}

// Transaction is a row of transactions: the order lifecycle
// (order_created, payment_authorized, payment_failed, order_shipped,
// order_cancelled, refund_issued) and the pre-computed metrics producers
// send on the same topic, which are stored as metrics, never as sales.
type Transaction struct {
	Common
	OrderID         string   `parquet:"order_id,optional"`
	UserID          string   `parquet:"user_id,optional"`
	Items           []Item   `parquet:"items,optional,list"`
	TotalAmount     *int64   `parquet:"total_amount,decimal(4:18)"`
	Currency        string   `parquet:"currency,optional,dict"`
	PaymentMethod   string   `parquet:"payment_method,optional,dict"`
	CardFingerprint string   `parquet:"card_fingerprint,optional"`
	IP              string   `parquet:"ip,optional"`
	Device          string   `parquet:"device,optional,dict"`
	Country         string   `parquet:"country,optional,dict"`
	City            string   `parquet:"city,optional,dict"`
	Lat             *float64 `parquet:"lat"`
	Lon             *float64 `parquet:"lon"`
	// FailureReason is payment_failed's reason; Reason is the reason of a
	// cancellation or a refund.
	FailureReason string `parquet:"failure_reason,optional,dict"`
	Reason        string `parquet:"reason,optional,dict"`
	WarehouseID   string `parquet:"warehouse_id,optional,dict"`
	Carrier       string `parquet:"carrier,optional,dict"`
	TrackingID    string `parquet:"tracking_id,optional"`
	// RefundAmount and Restock are refund_issued's.
	RefundAmount *int64 `parquet:"refund_amount,decimal(4:18)"`
	Restock      *bool  `parquet:"restock"`
	// Metric columns: set on event_type metric only.
	MetricName     string   `parquet:"metric_name,optional,dict"`
	MetricValue    *float64 `parquet:"metric_value"`
	MetricUnit     string   `parquet:"metric_unit,optional,dict"`
	MetricCategory string   `parquet:"metric_category,optional,dict"`
	// ItemCategories is the category of each item, in item order (NULL for
	// an item without one), and NULL when items is: a list of scalars,
	// which Athena and DuckDB unnest alike (they expand a list of structs
	// differently), and items[n] the item at its position n.
	ItemCategories []*string `parquet:"item_categories,optional,list"`
}

// InventoryUpdate is a row of inventory_updates: stock_adjusted, restocked,
// shipment_received, stock_counted.
type InventoryUpdate struct {
	Common
	ProductID   string `parquet:"product_id"`
	WarehouseID string `parquet:"warehouse_id,optional,dict"`
	// Change is stock_adjusted's signed change.
	Change *int32 `parquet:"change"`
	// Quantity is the units restocked or received, or the absolute count
	// of stock_counted.
	Quantity    *int32 `parquet:"quantity"`
	NewQuantity *int32 `parquet:"new_quantity"`
	Reason      string `parquet:"reason,optional,dict"`
	SupplierID  string `parquet:"supplier_id,optional,dict"`
	ShipmentID  string `parquet:"shipment_id,optional"`
}

// CustomerFeedback is a row of customer_feedback.
type CustomerFeedback struct {
	Common
	UserID string `parquet:"user_id"`
	// Rating is 1 to 5; NULL when the producer shape carries none.
	Rating    *int32 `parquet:"rating"`
	Feedback  string `parquet:"feedback,optional"`
	OrderID   string `parquet:"order_id,optional"`
	ProductID string `parquet:"product_id,optional"`
	Channel   string `parquet:"channel,optional,dict"`
}

// FraudReason is one rule's contribution to a fraud alert's score.
type FraudReason struct {
	Rule   string  `parquet:"rule,dict"`
	Score  float64 `parquet:"score"`
	Detail string  `parquet:"detail,optional"`
}

// Alert is a row of alerts: fraud_alert, inventory_alert and support_alert,
// the events the functions derive. Columns of the other kinds are NULL (or
// empty lists).
type Alert struct {
	Common
	OrderID     string `parquet:"order_id,optional"`
	UserID      string `parquet:"user_id,optional"`
	ProductID   string `parquet:"product_id,optional"`
	WarehouseID string `parquet:"warehouse_id,optional,dict"`
	// Fraud alerts.
	Score           *float64      `parquet:"score"`
	Decision        string        `parquet:"decision,optional,dict"`
	Reasons         []FraudReason `parquet:"reasons,list"`
	RuleVersion     string        `parquet:"rule_version,optional,dict"`
	CardFingerprint string        `parquet:"card_fingerprint,optional"`
	// Inventory alerts.
	Kind      string `parquet:"kind,optional,dict"`
	Available *int32 `parquet:"available"`
	Threshold *int32 `parquet:"threshold"`
	// ReasonRules is the rule of each of a fraud alert's reasons, in
	// order: the list of scalars portable queries unnest (see
	// Transaction.ItemCategories).
	ReasonRules []string `parquet:"reason_rules,list,dict"`
	// Support alerts: the case that became high priority, its reasons
	// (low_rating, fraud, not_delivered...) and the lowest rating among its
	// feedback (NULL when none has one). OrderID and UserID are the case's.
	CaseID       string   `parquet:"case_id,optional"`
	Priority     string   `parquet:"priority,optional,dict"`
	CaseReasons  []string `parquet:"case_reasons,list,dict"`
	LowestRating *int32   `parquet:"lowest_rating"`
}

// Header is one Kafka record header of a dead letter's original record.
type Header struct {
	Key         string `parquet:"key,dict"`
	ValueBase64 string `parquet:"value_base64"`
}

// DeadLetter is a row of dead_letters: a record a function could not
// process, with the reason and the original record, base64 encoded so that
// any bytes survive every query engine and CSV export. Its occurred_at is
// the original record's Kafka timestamp (or the time it was refused, when
// the record had none).
type DeadLetter struct {
	Common
	Function string `parquet:"function,dict"`
	Reason   string `parquet:"reason,dict"`
	Error    string `parquet:"error"`
	// Where the original record was in Kafka.
	SourceTopic          string   `parquet:"source_topic,dict"`
	SourcePartition      int32    `parquet:"source_partition"`
	SourceOffset         int64    `parquet:"source_offset"`
	SourceKafkaTimestamp *int64   `parquet:"source_kafka_timestamp,timestamp(millisecond:utc)"`
	RecordKeyBase64      string   `parquet:"record_key_base64,optional"`
	RecordValueBase64    string   `parquet:"record_value_base64,optional"`
	Headers              []Header `parquet:"headers,list"`
}
