package generator

import (
	"encoding/json"
	"strings"

	"github.com/shopstream/shopstream/shared/event"
)

// BadRecord describes a record the generator made bad on purpose, and the
// reason a correct decoder gives for refusing it.
type BadRecord struct {
	Index  int64        `json:"index"`
	Topic  string       `json:"topic"`
	Key    string       `json:"key"`
	Kind   string       `json:"kind"`
	Reason event.Reason `json:"reason"`
	// SHA256 is the hex SHA-256 of the record value, to find it in a dead-letter store.
	SHA256 string `json:"sha256"`
}

// Kinds of bad records, with the decoder's reason for each.
var badKinds = []struct {
	kind   string
	reason event.Reason
}{
	{"malformed_json", event.ReasonNotJSON},
	{"wrong_type", event.ReasonWrongType},
	{"missing_field", event.ReasonMissingField},
	{"unknown_event_type", event.ReasonUnknownType},
	{"negative_quantity", event.ReasonInvalidValue},
	{"oversized", event.ReasonOversized},
	{"hostile_id", event.ReasonInvalidValue},
	{"unsupported_version", event.ReasonUnsupportedVersion},
	{"bad_timestamp", event.ReasonInvalidValue},
	{"out_of_range", event.ReasonInvalidValue},
}

// BadKinds returns the kinds of bad records and the reason for each.
func BadKinds() map[string]event.Reason {
	m := make(map[string]event.Reason, len(badKinds))
	for _, k := range badKinds {
		m[k.kind] = k.reason
	}
	return m
}

// longText is the text of oversized records, sliced to the size wanted.
var longText = strings.Repeat("a", event.MaxRecordBytes+41<<10)

var hostileIDs = []string{
	"'; DROP TABLE stock;--",
	"<script>alert(1)</script>",
	"p-1 OR 1=1",
	"../../../etc/passwd",
	"u-1\x00admin",
	"${jndi:ldap://x.invalid/a}",
}

// badRecord builds a bad record from a fresh, plausible event of the moment.
func (g *Generator) badRecord() Record {
	k := badKinds[g.r.IntN(len(badKinds))]
	u := g.randomUser()
	p := g.pickProduct(-1)
	env := func(t event.Type) event.Envelope { return g.envelope(t) }
	act := event.Activity{UserID: u.id, SessionID: "s-" + g.run + "-0", Device: u.device}
	price := p.price
	cat := categories[p.category].name
	addToCart := func() *event.AddToCart {
		return &event.AddToCart{Envelope: env(event.TypeAddToCart), Activity: act, ProductID: p.id, Quantity: 1, Category: cat, Price: &price}
	}
	orderCreated := func() *event.OrderCreated {
		total := price
		return &event.OrderCreated{Envelope: env(event.TypeOrderCreated), Order: event.Order{OrderID: g.id("o-", &g.nextOrder),
			UserID: u.id, Items: []event.Item{{ProductID: p.id, Quantity: 1, Price: price, Category: cat}},
			TotalAmount: &total, Currency: "USD", PaymentMethod: "card"}}
	}
	var base event.Event
	var edit func(m map[string]any)
	switch k.kind {
	case "malformed_json":
		base = addToCart()
	case "wrong_type":
		switch g.r.IntN(3) {
		case 0:
			base = addToCart()
			edit = func(m map[string]any) { m["quantity"] = "two" }
		case 1:
			base = orderCreated()
			edit = func(m map[string]any) { m["total_amount"] = "59.98" }
		default:
			base = &event.Feedback{Envelope: env(event.TypeFeedback), UserID: u.id, Rating: 4, Text: "ok"}
			edit = func(m map[string]any) { m["rating"] = "five" }
		}
	case "missing_field":
		field := []string{"event_id", "user_id", "product_id", "occurred_at"}[g.r.IntN(4)]
		base = addToCart()
		edit = func(m map[string]any) { delete(m, field) }
	case "unknown_event_type":
		base = addToCart()
		name := []string{"loyalty_points_redeemed", "teleport_requested", "PAGE_VIEW", "cart_exploded"}[g.r.IntN(4)]
		edit = func(m map[string]any) { m["event_type"] = name }
	case "negative_quantity":
		switch g.r.IntN(3) {
		case 0:
			base = addToCart()
			edit = func(m map[string]any) { m["quantity"] = -1 - g.r.IntN(5) }
		case 1:
			base = orderCreated()
			q := -1 - g.r.IntN(3)
			edit = func(m map[string]any) { m["items"].([]any)[0].(map[string]any)["quantity"] = q }
		default:
			base = &event.Restocked{Envelope: env(event.TypeRestocked), Stock: event.Stock{ProductID: p.id, WarehouseID: p.warehouse}, Quantity: 10}
			edit = func(m map[string]any) { m["quantity"] = -10 * (1 + g.r.IntN(9)) }
		}
	case "oversized":
		n := event.MaxRecordBytes + 1 + g.r.IntN(40<<10)
		base = &event.Search{Envelope: env(event.TypeSearch), Activity: act, Query: longText[:n]}
	case "hostile_id":
		id := hostileIDs[g.r.IntN(len(hostileIDs))]
		base = addToCart()
		field := []string{"user_id", "product_id"}[g.r.IntN(2)]
		edit = func(m map[string]any) { m[field] = id }
	case "unsupported_version":
		base = addToCart()
		v := []int{0, 2, 3, 99}[g.r.IntN(4)]
		edit = func(m map[string]any) { m["schema_version"] = v }
	case "bad_timestamp":
		base = addToCart()
		ts := []string{"1970-01-01T00:00:00Z", "3024-05-01T00:00:00Z", "yesterday", "2026-13-45T99:00:00Z", "2026-01-01 10:00:00"}[g.r.IntN(5)]
		edit = func(m map[string]any) { m["occurred_at"] = ts }
	case "out_of_range":
		switch g.r.IntN(3) {
		case 0:
			base = &event.Feedback{Envelope: env(event.TypeFeedback), UserID: u.id, Rating: 4, Text: "meh"}
			edit = func(m map[string]any) { m["rating"] = []int{0, 6, 10, -1}[g.r.IntN(4)] }
		case 1:
			base = orderCreated()
			edit = func(m map[string]any) { m["currency"] = []string{"XYZ", "usd", "DOLLARS"}[g.r.IntN(3)] }
		default:
			base = orderCreated()
			edit = func(m map[string]any) { m["total_amount"] = -5 }
		}
	}
	value, err := event.AppendJSON(nil, base)
	if err != nil {
		panic("generator: encode " + err.Error())
	}
	if edit != nil {
		var m map[string]any
		if err := json.Unmarshal(value, &m); err != nil {
			panic("generator: " + err.Error())
		}
		edit(m)
		value = mustJSON(m)
	}
	if k.kind == "malformed_json" {
		value = value[:1+g.r.IntN(len(value)-1)]
	}
	return Record{Topic: base.Meta().EventType.Topic(), Key: base.Key(), Value: value, Time: g.eventTime(), view: base,
		Bad: &BadRecord{Topic: base.Meta().EventType.Topic(), Key: base.Key(), Kind: k.kind, Reason: k.reason}}
}
