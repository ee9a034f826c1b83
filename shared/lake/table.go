package lake

import (
	"reflect"

	"github.com/parquet-go/parquet-go"

	"github.com/shopstream/shopstream/shared/event"
)

// Table names.
const (
	TableUserEvents   = "user_events"
	TableTransactions = "transactions"
	TableInventory    = "inventory_updates"
	TableFeedback     = "customer_feedback"
	TableAlerts       = "alerts"
	TableDeadLetters  = "dead_letters"
)

// Partition keys, in path order. They are in object keys only, never in the
// files: dt is the event time's UTC date (YYYY-MM-DD), hour its UTC hour (HH).
const (
	PartitionDate = "dt"
	PartitionHour = "hour"
)

// PartitionKeys lists the partition keys in path order.
func PartitionKeys() []string { return []string{PartitionDate, PartitionHour} }

// Table describes one lake table.
type Table struct {
	// Name is the table's name and the first segment of its object keys.
	Name string
	// Comment describes the table in the catalogue.
	Comment string
	// Row is the Go row type whose fields are the table's columns.
	Row reflect.Type
	// Types lists the event types the table holds.
	Types []event.Type
}

// Schema returns the table's Parquet schema, derived from its row type.
func (t Table) Schema() *parquet.Schema { return parquet.SchemaOf(reflect.New(t.Row).Interface()) }

// numTables is len(tables).
const numTables = 6

var tables = [numTables]Table{
	{Name: TableUserEvents, Comment: "user activity: page views, product views, clicks, searches, cart changes", Row: reflect.TypeFor[UserEvent](), Types: []event.Type{event.TypePageView, event.TypeProductView,
		event.TypeClick, event.TypeSearch, event.TypeAddToCart, event.TypeRemoveFromCart}},
	{Name: TableTransactions, Comment: "order lifecycle events, with their items, and pre-computed metrics", Row: reflect.TypeFor[Transaction](), Types: []event.Type{event.TypeOrderCreated,
		event.TypePaymentAuthorized, event.TypePaymentFailed, event.TypeOrderShipped, event.TypeOrderCancelled,
		event.TypeRefundIssued, event.TypeMetric}},
	{Name: TableInventory, Comment: "stock adjustments, restocks, shipments received and stock counts", Row: reflect.TypeFor[InventoryUpdate](), Types: []event.Type{event.TypeStockAdjusted,
		event.TypeRestocked, event.TypeShipmentReceived, event.TypeStockCounted}},
	{Name: TableFeedback, Comment: "customer ratings and comments", Row: reflect.TypeFor[CustomerFeedback](), Types: []event.Type{event.TypeFeedback}},
	{Name: TableAlerts, Comment: "fraud, inventory and support alerts the functions raise", Row: reflect.TypeFor[Alert](), Types: []event.Type{event.TypeFraudAlert, event.TypeInventoryAlert,
		event.TypeSupportAlert}},
	{Name: TableDeadLetters, Comment: "records a function could not process: reason, error and the original record (base64)", Row: reflect.TypeFor[DeadLetter](), Types: []event.Type{event.TypeDeadLetter}},
}

var tableOfType = func() map[event.Type]string {
	m := map[event.Type]string{}
	for _, t := range tables {
		for _, et := range t.Types {
			m[et] = t.Name
		}
	}
	return m
}()

// Tables lists every table in a stable order.
func Tables() []Table { return append([]Table(nil), tables[:]...) }

// TableNamed returns the table called name.
func TableNamed(name string) (Table, bool) {
	for _, t := range tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// TableOf returns the name of the table that holds events of type t, or ""
// for a type that is not part of the contract.
func TableOf(t event.Type) string { return tableOfType[t] }
