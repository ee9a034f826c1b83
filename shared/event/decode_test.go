package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopstream/shopstream/shared/event"
	"github.com/shopstream/shopstream/shared/eventtest"
)

// kv is one member of a JSON object under construction: v is the raw JSON
// text of the value, so that tests can write what encoding/json never would
// (NaN, 1e400, duplicate-free overrides of any key).
type kv struct{ k, v string }

// del removes a key in build.
const del = "\x00delete"

// build returns the object base with changes applied: a change replaces the
// member with the same key in place, appends a new one, or deletes it.
func build(base []kv, changes ...kv) []byte {
	members := slices.Clone(base)
	for _, c := range changes {
		i := slices.IndexFunc(members, func(m kv) bool { return m.k == c.k })
		switch {
		case c.v == del && i >= 0:
			members = slices.Delete(members, i, i+1)
		case c.v == del:
		case i >= 0:
			members[i] = c
		default:
			members = append(members, c)
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", m.k, m.v)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func envelope(typ event.Type) []kv {
	return []kv{{"event_id", `"01KKNTAM0HZ7D3B8QX2W5RC4VN"`}, {"event_type", `"` + string(typ) + `"`},
		{"schema_version", `1`}, {"occurred_at", `"2026-03-14T09:13:05.412Z"`}}
}

// Valid canonical events the error tables start from.
var (
	pageViewDoc = append(envelope(event.TypePageView), kv{"user_id", `"u-000123"`}, kv{"page_url", `"/product/p-00042"`},
		kv{"location", `{"country":"US","city":"Seattle","lat":47.6062,"lon":-122.3321}`}, kv{"referrer", `"https://www.google.com/"`})
	cartDoc = append(envelope(event.TypeAddToCart), kv{"user_id", `"u-000123"`}, kv{"session_id", `"s-7f3a9c21"`},
		kv{"device", `"desktop"`}, kv{"location", `{"country":"US","city":"Seattle","lat":47.6062,"lon":-122.3321}`},
		kv{"product_id", `"p-00042"`}, kv{"quantity", `1`}, kv{"category", `"electronics"`}, kv{"price", `79.99`})
	orderDoc = append(envelope(event.TypeOrderCreated), kv{"order_id", `"o-20260314-000451"`}, kv{"user_id", `"u-000123"`},
		kv{"items", `[{"product_id":"p-00042","quantity":1,"price":79.99},{"product_id":"p-00108","quantity":2,"price":12.5}]`},
		kv{"total_amount", `104.99`}, kv{"currency", `"USD"`}, kv{"payment_method", `"card"`}, kv{"ip", `"203.0.113.24"`},
		kv{"location", `{"country":"US","city":"Seattle"}`})
	refundDoc = append(envelope(event.TypeRefundIssued), kv{"order_id", `"o-20260314-000451"`}, kv{"user_id", `"u-000123"`},
		kv{"currency", `"USD"`}, kv{"amount", `25`}, kv{"restock", `true`})
	searchDoc = append(envelope(event.TypeSearch), kv{"user_id", `"u-000123"`}, kv{"query", `"wireless headphones"`})
	stockDoc  = append(envelope(event.TypeStockAdjusted), kv{"product_id", `"p-00042"`}, kv{"warehouse_id", `"wh-01"`},
		kv{"change", `-2`})
	countDoc = append(envelope(event.TypeStockCounted), kv{"product_id", `"p-00108"`}, kv{"warehouse_id", `"wh-01"`},
		kv{"quantity", `412`})
	feedbackDoc = append(envelope(event.TypeFeedback), kv{"user_id", `"u-000123"`}, kv{"rating", `5`},
		kv{"feedback", `"Fast delivery."`})
	metricDoc = append(envelope(event.TypeMetric), kv{"metric", `"sales"`}, kv{"value", `1000`})
	fraudDoc  = append(envelope(event.TypeFraudAlert), kv{"order_id", `"o-20260314-000454"`}, kv{"user_id", `"u-009342"`},
		kv{"score", `92.5`}, kv{"decision", `"decline"`}, kv{"reasons", `[{"rule":"card_testing","score":60}]`},
		kv{"rule_version", `"rules-2026.03.1"`})
	deadLetterDoc = append(envelope(event.TypeDeadLetter), kv{"function", `"fraud"`}, kv{"reason", `"not_json"`},
		kv{"error", `"not_json: cannot parse JSON"`}, kv{"topic", `"transactions"`}, kv{"partition", `2`}, kv{"offset", `18234`},
		kv{"key", `"dS0wMDAxMjM="`})
	snakeDoc = []kv{{"user_id", `"12345"`}, {"event", `"page_view"`}, {"timestamp", `"2023-10-01T12:34:56Z"`}, {"page_url", `"/product/67890"`}}
	camelDoc = []kv{{"eventId", `"12345"`}, {"eventType", `"OrderCreated"`}, {"timestamp", `"2024-10-25T14:48:00Z"`},
		{"orderId", `"67890"`}, {"userId", `"user123"`}, {"items", `[{"productId":"prod001","quantity":2,"price":29.99}]`},
		{"totalAmount", `59.98`}, {"paymentStatus", `"Pending"`}}
)

func TestBaseDocsAreValid(t *testing.T) {
	v := eventtest.Schemas(t)
	for _, base := range [][]kv{pageViewDoc, cartDoc, orderDoc, refundDoc, searchDoc, stockDoc, countDoc, feedbackDoc, metricDoc, fraudDoc, deadLetterDoc} {
		b := build(base)
		e, err := event.Decode(b, event.Source{})
		if err != nil {
			t.Errorf("%s: %v", b, err)
			continue
		}
		if err := v.Validate(string(e.Meta().EventType), b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	for _, base := range [][]kv{snakeDoc, camelDoc} {
		if _, err := event.Decode(build(base), event.Source{}); err != nil {
			t.Errorf("%s: %v", build(base), err)
		}
	}
}

type decodeErrorCase struct {
	name   string
	in     []byte
	reason event.Reason
	field  string
	// schema is the event type whose JSON Schema must reject the document
	// too; empty when the case is not a canonical event of a known type.
	schema event.Type
}

func decodeErrorCases() []decodeErrorCase {
	const hostileSQL = `"'; DROP TABLE stock;--"`
	const hostileXSS = `"<script>alert(1)</script>"`
	items := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`{"product_id":"p-%05d","quantity":1,"price":1}`, i)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	longText := `"` + strings.Repeat("a", 70<<10) + `"`
	C := event.TypeAddToCart
	O := event.TypeOrderCreated
	return []decodeErrorCase{
		// not_json: the value is not a JSON object.
		{"empty", []byte(""), event.ReasonNotJSON, "", ""},
		{"whitespace", []byte(" \n\t "), event.ReasonNotJSON, "", ""},
		{"text", []byte("order 98765 created"), event.ReasonNotJSON, "", ""},
		{"array", []byte(`[{"event_type":"page_view"}]`), event.ReasonNotJSON, "", ""},
		{"null", []byte(`null`), event.ReasonNotJSON, "", ""},
		{"string", []byte(`"page_view"`), event.ReasonNotJSON, "", ""},
		{"number", []byte(`42`), event.ReasonNotJSON, "", ""},
		{"truncated", build(cartDoc)[:60], event.ReasonNotJSON, "", ""},
		{"trailing garbage", append(build(cartDoc), " {}"...), event.ReasonNotJSON, "", ""},
		{"single quotes", []byte(`{'event_type':'page_view'}`), event.ReasonNotJSON, "", ""},
		{"Infinity literal", build(metricDoc, kv{"value", "Infinity"}), event.ReasonNotJSON, "", ""},

		// unknown_type: no known event type, nor a known producer shape.
		{"unknown event_type", build(cartDoc, kv{"event_type", `"checkout"`}), event.ReasonUnknownType, "event_type", C},
		{"empty event_type", build(cartDoc, kv{"event_type", `""`}), event.ReasonUnknownType, "event_type", C},
		{"PascalCase event_type", build(cartDoc, kv{"event_type", `"AddToCart"`}), event.ReasonUnknownType, "event_type", C},
		{"no shape", []byte(`{"hello":"world"}`), event.ReasonUnknownType, "", ""},
		{"snake unknown activity", build(snakeDoc, kv{"event", `"teleport"`}), event.ReasonUnknownType, "event", ""},
		{"snake unknown order status", []byte(`{"order_id":"98765","user_id":"12345","status":"lost","timestamp":"2023-10-01T12:35:00Z"}`), event.ReasonUnknownType, "status", ""},
		{"camel derived type", build(camelDoc, kv{"eventType", `"FraudAlert"`}), event.ReasonUnknownType, "eventType", ""},
		{"camel metric", build(camelDoc, kv{"eventType", `"Metric"`}), event.ReasonUnknownType, "eventType", ""},

		// unsupported_version: checked before the fields, which a new version may change.
		{"version 2", build(cartDoc, kv{"schema_version", `2`}), event.ReasonUnsupportedVersion, "schema_version", C},
		{"version 0", build(cartDoc, kv{"schema_version", `0`}), event.ReasonUnsupportedVersion, "schema_version", C},
		{"version 2 with other fields", build(cartDoc, kv{"schema_version", `2`}, kv{"quantity", del}), event.ReasonUnsupportedVersion, "schema_version", C},

		// missing_field: a required field is absent, null or empty.
		{"no event_id", build(cartDoc, kv{"event_id", del}), event.ReasonMissingField, "event_id", C},
		{"empty event_id", build(cartDoc, kv{"event_id", `""`}), event.ReasonMissingField, "event_id", C},
		{"null event_type", build(cartDoc, kv{"event_type", `null`}), event.ReasonMissingField, "event_type", C},
		{"no schema_version", build(cartDoc, kv{"schema_version", del}), event.ReasonMissingField, "schema_version", C},
		{"no occurred_at", build(cartDoc, kv{"occurred_at", del}), event.ReasonMissingField, "occurred_at", C},
		{"no user_id", build(cartDoc, kv{"user_id", del}), event.ReasonMissingField, "user_id", C},
		{"null user_id", build(cartDoc, kv{"user_id", `null`}), event.ReasonMissingField, "user_id", C},
		{"no quantity", build(cartDoc, kv{"quantity", del}), event.ReasonMissingField, "quantity", C},
		{"no items", build(orderDoc, kv{"items", del}), event.ReasonMissingField, "items", O},
		{"empty items", build(orderDoc, kv{"items", `[]`}), event.ReasonMissingField, "items", O},
		{"item without quantity", build(orderDoc, kv{"items", `[{"product_id":"p-00042","price":79.99}]`}), event.ReasonMissingField, "items[0].quantity", O},
		{"item without product", build(orderDoc, kv{"items", `[{"quantity":1,"price":79.99}]`}), event.ReasonMissingField, "items[0].product_id", O},
		{"no total_amount", build(orderDoc, kv{"total_amount", del}), event.ReasonMissingField, "total_amount", O},
		{"no currency", build(orderDoc, kv{"currency", del}), event.ReasonMissingField, "currency", O},
		{"payment without method", build(orderDoc, kv{"event_type", `"payment_authorized"`}, kv{"payment_method", del}), event.ReasonMissingField, "payment_method", event.TypePaymentAuthorized},
		{"refund without amount", build(refundDoc, kv{"amount", del}), event.ReasonMissingField, "amount", event.TypeRefundIssued},
		{"refund without currency", build(refundDoc, kv{"currency", del}), event.ReasonMissingField, "currency", event.TypeRefundIssued},
		{"stock without warehouse", build(stockDoc, kv{"warehouse_id", del}), event.ReasonMissingField, "warehouse_id", event.TypeStockAdjusted},
		{"no rating", build(feedbackDoc, kv{"rating", del}), event.ReasonMissingField, "rating", event.TypeFeedback},
		{"metric without value", build(metricDoc, kv{"value", del}), event.ReasonMissingField, "value", event.TypeMetric},
		{"decline without reasons", build(fraudDoc, kv{"reasons", `[]`}), event.ReasonMissingField, "reasons", event.TypeFraudAlert},
		{"dead letter without error", build(deadLetterDoc, kv{"error", del}), event.ReasonMissingField, "error", event.TypeDeadLetter},
		{"snake without timestamp", build(snakeDoc, kv{"timestamp", del}), event.ReasonMissingField, "timestamp", ""},
		{"camel without orderId", build(camelDoc, kv{"orderId", del}), event.ReasonMissingField, "order_id", ""},
		{"camel without eventType", build(camelDoc, kv{"eventType", del}), event.ReasonMissingField, "eventType", ""},

		// wrong_type: a field has the wrong JSON type.
		{"quantity as string", build(cartDoc, kv{"quantity", `"2"`}), event.ReasonWrongType, "quantity", C},
		{"user_id as number", build(cartDoc, kv{"user_id", `12345`}), event.ReasonWrongType, "user_id", C},
		{"event_type as number", build(cartDoc, kv{"event_type", `7`}), event.ReasonWrongType, "event_type", C},
		{"schema_version as string", build(cartDoc, kv{"schema_version", `"1"`}), event.ReasonWrongType, "schema_version", C},
		{"occurred_at as epoch", build(cartDoc, kv{"occurred_at", `1773479585412`}), event.ReasonWrongType, "occurred_at", C},
		{"price as string", build(cartDoc, kv{"price", `"79.99"`}), event.ReasonWrongType, "price", C},
		{"location as number", build(cartDoc, kv{"location", `5`}), event.ReasonWrongType, "location", C},
		{"lat as string", build(cartDoc, kv{"location", `{"lat":"47.6","lon":-122.3}`}), event.ReasonWrongType, "location.lat", C},
		{"items as object", build(orderDoc, kv{"items", `{"product_id":"p-00042"}`}), event.ReasonWrongType, "items", O},
		{"item as string", build(orderDoc, kv{"items", `["p-00042"]`}), event.ReasonWrongType, "items[0]", O},
		{"item quantity as string", build(orderDoc, kv{"items", `[{"product_id":"p-00042","quantity":"1"}]`}), event.ReasonWrongType, "items[0].quantity", O},
		{"restock as string", build(refundDoc, kv{"restock", `"yes"`}), event.ReasonWrongType, "restock", event.TypeRefundIssued},
		{"reason as string", build(fraudDoc, kv{"reasons", `["velocity"]`}), event.ReasonWrongType, "reasons[0]", event.TypeFraudAlert},
		{"snake event as number", build(snakeDoc, kv{"event", `5`}), event.ReasonWrongType, "event", ""},

		// invalid_value: out of range, not in its enum, or malformed.
		{"hostile user_id", build(cartDoc, kv{"user_id", hostileSQL}), event.ReasonInvalidValue, "user_id", C},
		{"hostile product_id", build(cartDoc, kv{"product_id", hostileXSS}), event.ReasonInvalidValue, "product_id", C},
		{"hostile event_id", build(cartDoc, kv{"event_id", hostileSQL}), event.ReasonInvalidValue, "event_id", C},
		{"hostile session_id", build(cartDoc, kv{"session_id", hostileXSS}), event.ReasonInvalidValue, "session_id", C},
		{"hostile order_id", build(orderDoc, kv{"order_id", hostileSQL}), event.ReasonInvalidValue, "order_id", O},
		{"hostile item product", build(orderDoc, kv{"items", `[{"product_id":` + hostileXSS + `,"quantity":1,"price":1}]`}), event.ReasonInvalidValue, "items[0].product_id", O},
		{"hostile warehouse", build(stockDoc, kv{"warehouse_id", hostileSQL}), event.ReasonInvalidValue, "warehouse_id", event.TypeStockAdjusted},
		{"path traversal id", build(cartDoc, kv{"product_id", `"../../etc/passwd"`}), event.ReasonInvalidValue, "product_id", C},
		{"1970", build(cartDoc, kv{"occurred_at", `"1970-01-01T00:00:00Z"`}), event.ReasonInvalidValue, "occurred_at", C},
		{"2999", build(cartDoc, kv{"occurred_at", `"2999-12-31T23:59:59Z"`}), event.ReasonInvalidValue, "occurred_at", C},
		{"just before 2000", build(cartDoc, kv{"occurred_at", `"1999-12-31T23:59:59.999Z"`}), event.ReasonInvalidValue, "occurred_at", C},
		{"just after 2100", build(cartDoc, kv{"occurred_at", `"2100-01-01T00:00:00.001Z"`}), event.ReasonInvalidValue, "occurred_at", C},
		{"not RFC 3339", build(cartDoc, kv{"occurred_at", `"2026-03-14 09:13:05"`}), event.ReasonInvalidValue, "occurred_at", C},
		{"words for a time", build(cartDoc, kv{"occurred_at", `"yesterday"`}), event.ReasonInvalidValue, "occurred_at", C},
		{"negative quantity", build(cartDoc, kv{"quantity", `-1`}), event.ReasonInvalidValue, "quantity", C},
		{"zero quantity", build(cartDoc, kv{"quantity", `0`}), event.ReasonInvalidValue, "quantity", C},
		{"huge quantity", build(cartDoc, kv{"quantity", `10001`}), event.ReasonInvalidValue, "quantity", C},
		{"fractional quantity", build(cartDoc, kv{"quantity", `2.5`}), event.ReasonInvalidValue, "quantity", C},
		{"quantity 1e400", build(cartDoc, kv{"quantity", `1e400`}), event.ReasonInvalidValue, "quantity", C},
		{"quantity NaN", build(cartDoc, kv{"quantity", `NaN`}), event.ReasonInvalidValue, "quantity", ""},
		{"quantity beyond int64", build(cartDoc, kv{"quantity", `99999999999999999999`}), event.ReasonInvalidValue, "quantity", C},
		{"negative item quantity", build(orderDoc, kv{"items", `[{"product_id":"p-00042","quantity":-2,"price":1}]`}), event.ReasonInvalidValue, "items[0].quantity", O},
		{"rating 0", build(feedbackDoc, kv{"rating", `0`}), event.ReasonInvalidValue, "rating", event.TypeFeedback},
		{"rating 6", build(feedbackDoc, kv{"rating", `6`}), event.ReasonInvalidValue, "rating", event.TypeFeedback},
		{"rating -1", build(feedbackDoc, kv{"rating", `-1`}), event.ReasonInvalidValue, "rating", event.TypeFeedback},
		{"unknown currency", build(orderDoc, kv{"currency", `"XBT"`}), event.ReasonInvalidValue, "currency", O},
		{"lower-case currency", build(orderDoc, kv{"currency", `"usd"`}), event.ReasonInvalidValue, "currency", O},
		{"price NaN", build(cartDoc, kv{"price", `NaN`}), event.ReasonInvalidValue, "price", ""},
		{"price -Inf", build(cartDoc, kv{"price", `-Inf`}), event.ReasonInvalidValue, "price", ""},
		{"price 1e400", build(cartDoc, kv{"price", `1e400`}), event.ReasonInvalidValue, "price", C},
		{"negative price", build(cartDoc, kv{"price", `-5`}), event.ReasonInvalidValue, "price", C},
		{"price with 5 decimals", build(cartDoc, kv{"price", `79.99999`}), event.ReasonInvalidValue, "price", C},
		{"total above a billion", build(orderDoc, kv{"total_amount", `1000000000.01`}), event.ReasonInvalidValue, "total_amount", O},
		{"metric NaN", build(metricDoc, kv{"value", `NaN`}), event.ReasonInvalidValue, "value", ""},
		{"metric 1e400", build(metricDoc, kv{"value", `1e400`}), event.ReasonInvalidValue, "value", event.TypeMetric},
		{"metric -1e400", build(metricDoc, kv{"value", `-1e400`}), event.ReasonInvalidValue, "value", event.TypeMetric},
		{"metric 1e16", build(metricDoc, kv{"value", `1e16`}), event.ReasonInvalidValue, "value", event.TypeMetric},
		{"unknown device", build(cartDoc, kv{"device", `"smartwatch"`}), event.ReasonInvalidValue, "device", C},
		{"unknown payment method", build(orderDoc, kv{"payment_method", `"bitcoin"`}), event.ReasonInvalidValue, "payment_method", O},
		{"three-letter country", build(cartDoc, kv{"location", `{"country":"USA"}`}), event.ReasonInvalidValue, "location.country", C},
		{"latitude 91", build(cartDoc, kv{"location", `{"lat":91,"lon":0}`}), event.ReasonInvalidValue, "location.lat", C},
		{"lat without lon", build(cartDoc, kv{"location", `{"lat":47.6}`}), event.ReasonInvalidValue, "location", C},
		{"control character in city", build(cartDoc, kv{"location", `{"city":"Seattle\u0000"}`}), event.ReasonInvalidValue, "location.city", C},
		{"bell in feedback", build(feedbackDoc, kv{"feedback", `"ding\u0007"`}), event.ReasonInvalidValue, "feedback", event.TypeFeedback},
		{"newline in query", build(searchDoc, kv{"query", `"a\nb"`}), event.ReasonInvalidValue, "query", event.TypeSearch},
		{"bad IP", build(orderDoc, kv{"ip", `"999.1.1.1"`}), event.ReasonInvalidValue, "ip", O},
		{"javascript URL", build(pageViewDoc, kv{"page_url", `"javascript:alert(1)"`}), event.ReasonInvalidValue, "page_url", event.TypePageView},
		{"markup in URL", build(pageViewDoc, kv{"page_url", `"/search?q=<script>alert(1)</script>"`}), event.ReasonInvalidValue, "page_url", event.TypePageView},
		{"change 0", build(stockDoc, kv{"change", `0`}), event.ReasonInvalidValue, "change", event.TypeStockAdjusted},
		{"change beyond a million", build(stockDoc, kv{"change", `-1000001`}), event.ReasonInvalidValue, "change", event.TypeStockAdjusted},
		{"negative stock count", build(countDoc, kv{"quantity", `-5`}), event.ReasonInvalidValue, "quantity", event.TypeStockCounted},
		{"unknown decision", build(fraudDoc, kv{"decision", `"maybe"`}), event.ReasonInvalidValue, "decision", event.TypeFraudAlert},
		{"fraud score 101", build(fraudDoc, kv{"score", `101`}), event.ReasonInvalidValue, "score", event.TypeFraudAlert},
		{"refund of 0", build(refundDoc, kv{"amount", `0`}), event.ReasonInvalidValue, "amount", event.TypeRefundIssued},
		{"unknown dead-letter reason", build(deadLetterDoc, kv{"reason", `"bogus"`}), event.ReasonInvalidValue, "reason", event.TypeDeadLetter},
		{"negative offset", build(deadLetterDoc, kv{"offset", `-1`}), event.ReasonInvalidValue, "offset", event.TypeDeadLetter},
		{"key not base64", build(deadLetterDoc, kv{"key", `"not base64!"`}), event.ReasonInvalidValue, "key", event.TypeDeadLetter},
		{"snake hostile user", build(snakeDoc, kv{"user_id", hostileSQL}), event.ReasonInvalidValue, "user_id", ""},

		// oversized: the record or one of its fields is too large.
		{"record over 64 KiB", build(feedbackDoc, kv{"feedback", longText}), event.ReasonOversized, "", event.TypeFeedback},
		{"padded over 64 KiB", append(build(cartDoc), strings.Repeat(" ", event.MaxRecordBytes)...), event.ReasonOversized, "", ""},
		{"user_id of 129 bytes", build(cartDoc, kv{"user_id", `"u` + strings.Repeat("1", 128) + `"`}), event.ReasonOversized, "user_id", C},
		{"feedback of 4001 bytes", build(feedbackDoc, kv{"feedback", `"` + strings.Repeat("ü", 2000) + `!"`}), event.ReasonOversized, "feedback", ""},
		{"query of 513 bytes", build(searchDoc, kv{"query", `"` + strings.Repeat("q", 513) + `"`}), event.ReasonOversized, "query", event.TypeSearch},
		{"URL of 2049 bytes", build(pageViewDoc, kv{"page_url", `"/` + strings.Repeat("p", 2048) + `"`}), event.ReasonOversized, "page_url", event.TypePageView},
		{"501 items", build(orderDoc, kv{"items", items(501)}), event.ReasonOversized, "items", O},
	}
}

func TestDecodeErrors(t *testing.T) {
	seen := map[event.Reason]int{}
	for _, tc := range decodeErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			e, err := event.Decode(tc.in, event.Source{Topic: "t", Partition: 1, Offset: 42})
			if err == nil {
				t.Fatalf("Decode accepted %.200s as %T", tc.in, e)
			}
			if e != nil {
				t.Errorf("Decode returned an event with its error")
			}
			if !errors.Is(err, event.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			ee := errorOf(t, err)
			if ee.Reason != tc.reason || ee.Field != tc.field {
				t.Errorf("got %s on %q (%v), want %s on %q", ee.Reason, ee.Field, err, tc.reason, tc.field)
			}
			if event.ReasonOf(err) != ee.Reason {
				t.Errorf("ReasonOf = %q, want %q", event.ReasonOf(err), ee.Reason)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error message of %d bytes; clip what it quotes", len(err.Error()))
			}
			seen[tc.reason]++
		})
	}
	for _, r := range []event.Reason{event.ReasonNotJSON, event.ReasonUnknownType, event.ReasonUnsupportedVersion,
		event.ReasonMissingField, event.ReasonWrongType, event.ReasonInvalidValue, event.ReasonOversized} {
		if seen[r] < 3 {
			t.Errorf("%d cases of %s, want several", seen[r], r)
		}
	}
}

// TestSchemaRejectsBadDocuments checks that the JSON Schemas reject the same
// bad canonical documents as the decoder.
func TestSchemaRejectsBadDocuments(t *testing.T) {
	v := eventtest.Schemas(t)
	n := 0
	for _, tc := range decodeErrorCases() {
		if tc.schema == "" {
			continue
		}
		n++
		if err := v.Validate(string(tc.schema), tc.in); err == nil {
			t.Errorf("%s: the %s schema accepts %.200s", tc.name, tc.schema, tc.in)
		}
	}
	if n < 50 {
		t.Fatalf("only %d documents checked against the schemas", n)
	}
	// NaN is not JSON at all, so no schema can accept it.
	if err := v.Validate("add_to_cart", build(cartDoc, kv{"price", "NaN"})); err == nil {
		t.Error("the add_to_cart schema accepts a NaN price")
	}
}

func TestDecodeAcceptsBoundaries(t *testing.T) {
	v := eventtest.Schemas(t)
	exactly64K := build(feedbackDoc)
	exactly64K = append(exactly64K, strings.Repeat(" ", event.MaxRecordBytes-len(exactly64K))...)
	cases := []struct {
		name string
		in   []byte
		// canonical is true when the input is the canonical form the schema describes.
		canonical bool
	}{
		{"record of exactly 64 KiB", exactly64K, true},
		{"quantity 10000", build(cartDoc, kv{"quantity", `10000`}), true},
		{"quantity 2.0", build(cartDoc, kv{"quantity", `2.0`}), true},
		{"quantity 1e1", build(cartDoc, kv{"quantity", `1e1`}), true},
		{"price 0", build(cartDoc, kv{"price", `0`}), true},
		{"price with 4 decimals", build(cartDoc, kv{"price", `79.9999`}), true},
		{"price with trailing zeros", build(cartDoc, kv{"price", `79.99000000`}), true},
		{"price in exponent form", build(cartDoc, kv{"price", `7.999e1`}), true},
		{"total of a billion", build(orderDoc, kv{"total_amount", `1000000000`}), true},
		{"2000-01-01", build(cartDoc, kv{"occurred_at", `"2000-01-01T00:00:00Z"`}), true},
		{"2100-01-01", build(cartDoc, kv{"occurred_at", `"2100-01-01T00:00:00Z"`}), true},
		{"nanoseconds", build(cartDoc, kv{"occurred_at", `"2026-03-14T09:13:05.123456789Z"`}), true},
		{"offset time", build(cartDoc, kv{"occurred_at", `"2026-03-14T10:13:05.412+01:00"`}), false},
		{"IPv6", build(orderDoc, kv{"ip", `"2001:db8::1"`}), true},
		{"absolute URL", build(pageViewDoc, kv{"page_url", `"https://shop.example.com/p/42?ref=mail#top"`}), true},
		{"rating 1", build(feedbackDoc, kv{"rating", `1`}), true},
		{"stock count 0", build(countDoc, kv{"quantity", `0`}), true},
		{"positive change", build(stockDoc, kv{"change", `1000000`}), true},
		{"id of 128 bytes", build(cartDoc, kv{"user_id", `"u` + strings.Repeat("1", 127) + `"`}), true},
		{"id with every allowed symbol", build(cartDoc, kv{"user_id", `"a_b.c:d@e/f+g=h-i"`}), true},
		{"null optional field", build(cartDoc, kv{"session_id", `null`}), false},
		{"unicode free text", build(feedbackDoc, kv{"feedback", `"Très bien 👍\nMerci"`}), true},
		{"approve without reasons", build(fraudDoc, kv{"decision", `"approve"`}, kv{"reasons", del}), true},
		{"unknown field ignored", build(cartDoc, kv{"coupon", `"SPRING26"`}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := event.Decode(tc.in, event.Source{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			err = v.Validate(string(e.Meta().EventType), tc.in)
			if tc.canonical && err != nil {
				t.Errorf("schema: %v", err)
			}
			if !tc.canonical && err == nil {
				t.Error("the schema accepts it, but it is not the canonical form")
			}
			out, _ := json.Marshal(e)
			if err := v.Validate(string(e.Meta().EventType), out); err != nil {
				t.Errorf("re-marshalled: %v", err)
			}
		})
	}
	e, err := event.Decode(build(cartDoc, kv{"occurred_at", `"2026-03-14T10:13:05.412+01:00"`}), event.Source{})
	if err != nil {
		t.Fatal(err)
	}
	if at := e.Meta().OccurredAt; !at.Equal(time.Date(2026, 3, 14, 9, 13, 5, 412e6, time.UTC)) || at.Location() != time.UTC {
		t.Errorf("occurred_at = %v, want it converted to UTC", at)
	}
}

// Producer shapes beyond the goldens.

func decodeOK(t *testing.T, in []byte) event.Event {
	t.Helper()
	e, err := event.Decode(in, event.Source{})
	if err != nil {
		t.Fatalf("Decode(%s): %v", in, err)
	}
	return e
}

func TestCamelInventoryWithoutWarehouse(t *testing.T) {
	in := []byte(`{"eventId":"54321","eventType":"InventoryUpdated","timestamp":"2024-10-25T15:00:00Z","productId":"prod001","quantityChange":-2,"newQuantity":98}`)
	e := decodeOK(t, in)
	s, ok := e.(*event.StockAdjusted)
	if !ok {
		t.Fatalf("decoded as %T, want *event.StockAdjusted", e)
	}
	if s.Origin.Shape != event.ShapeCamel || s.Origin.DerivedID || !slices.Equal(s.Origin.Missing, []string{"warehouse_id"}) || !s.Origin.Lacks("warehouse_id") {
		t.Errorf("Origin = %+v, want camel with warehouse_id missing", s.Origin)
	}
	if s.EventID != "54321" || s.ProductID != "prod001" || s.WarehouseID != "" || s.Change != -2 || s.NewQuantity == nil || *s.NewQuantity != 98 {
		t.Errorf("decoded %+v", s)
	}

	with := decodeOK(t, []byte(`{"eventId":"54322","eventType":"InventoryUpdated","timestamp":"2024-10-25T15:00:00Z","productId":"prod001","warehouseId":"wh-01","quantityChange":5}`)).(*event.StockAdjusted)
	if len(with.Origin.Missing) != 0 || with.WarehouseID != "wh-01" || with.Change != 5 {
		t.Errorf("with warehouseId: %+v", with)
	}
	if err := eventtest.Schemas(t).Validate("stock_adjusted", mustMarshal(t, with)); err != nil {
		t.Errorf("a complete camel event gives a canonical one: %v", err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSnakeOrderStatuses(t *testing.T) {
	cases := []struct {
		status string
		want   event.Event
	}{
		{"created", &event.OrderCreated{}},
		{"placed", &event.OrderCreated{}},
		{"paid", &event.PaymentAuthorized{}},
		{"declined", &event.PaymentFailed{}},
		{"shipped", &event.OrderShipped{}},
		{"cancelled", &event.OrderCancelled{}},
		{"canceled", &event.OrderCancelled{}},
		{"CANCELLED", &event.OrderCancelled{}},
		{"refunded", &event.RefundIssued{}},
	}
	for _, tc := range cases {
		t.Run(tc.status, func(t *testing.T) {
			in := fmt.Sprintf(`{"order_id":"98765","user_id":"12345","status":%q,"timestamp":"2023-10-01T13:35:00Z"}`, tc.status)
			e := decodeOK(t, []byte(in))
			if reflect.TypeOf(e) != reflect.TypeOf(tc.want) {
				t.Fatalf("status %q decoded as %T, want %T", tc.status, e, tc.want)
			}
			m := e.Meta()
			if m.Origin.Shape != event.ShapeSnakeOrder || !m.Origin.DerivedID || !strings.HasPrefix(m.EventID, "d-") {
				t.Errorf("Origin = %+v, event id %q", m.Origin, m.EventID)
			}
			if e.Key() != "12345" {
				t.Errorf("Key = %q", e.Key())
			}
		})
	}
	// A shipped status carries the order's lines; their prices are missing.
	e := decodeOK(t, []byte(`{"order_id":"98765","user_id":"12345","status":"shipped","timestamp":"2023-10-01T13:35:00Z","items":[{"product_id":"67890","quantity":1}]}`))
	if s := e.(*event.OrderShipped); len(s.Items) != 1 || s.Items[0].Quantity != 1 || !s.Origin.Lacks("items.price") {
		t.Errorf("shipped with items: %+v", s)
	}
	// A refund without an amount says so instead of inventing one.
	r := decodeOK(t, []byte(`{"order_id":"98765","user_id":"12345","status":"refunded","timestamp":"2023-10-02T09:00:00Z"}`)).(*event.RefundIssued)
	if !r.Origin.Lacks("amount") || !r.Origin.Lacks("currency") || r.Amount != 0 {
		t.Errorf("refund without amount: %+v", r)
	}
}

func TestDerivedEventID(t *testing.T) {
	in := []byte(`{"user_id":"12345","event":"page_view","timestamp":"2023-10-01T12:34:56Z","page_url":"/product/67890"}`)
	src := event.Source{Topic: "user_events", Partition: 3, Offset: 1042}
	id := func(in []byte, src event.Source) string {
		t.Helper()
		e, err := event.Decode(in, src)
		if err != nil {
			t.Fatal(err)
		}
		if !e.Meta().Origin.DerivedID {
			t.Fatalf("Origin.DerivedID is false for %s", in)
		}
		return e.Meta().EventID
	}
	first := id(in, src)
	if !event.IsID(first) || !strings.HasPrefix(first, "d-") {
		t.Errorf("derived id %q is not a d- identifier", first)
	}
	if again := id(slices.Clone(in), src); again != first {
		t.Errorf("same record, same source: %q then %q", first, again)
	}
	if e, err := event.NewDecoder().Decode(in, src); err != nil || e.Meta().EventID != first {
		t.Errorf("another Decoder derives %v (%v), want %q", e, err, first)
	}
	for name, s := range map[string]event.Source{
		"next offset":     {Topic: "user_events", Partition: 3, Offset: 1043},
		"other partition": {Topic: "user_events", Partition: 4, Offset: 1042},
		"other topic":     {Topic: "user_events_replay", Partition: 3, Offset: 1042},
		"no source":       {},
	} {
		if got := id(in, s); got == first {
			t.Errorf("%s: derived id %q is the same", name, got)
		}
	}
	if got := id([]byte(strings.Replace(string(in), "67890", "67891", 1)), src); got == first {
		t.Error("different bytes at the same coordinates give the same id")
	}
	// An id the producer sent is kept as it is.
	for _, in := range [][]byte{
		build(snakeDoc, kv{"event_id", `"ev-777"`}),
		build(camelDoc),
		build(cartDoc),
	} {
		e := decodeOK(t, in)
		if e.Meta().Origin.DerivedID || strings.HasPrefix(e.Meta().EventID, "d-") {
			t.Errorf("%s: id %q derived, want the producer's", in, e.Meta().EventID)
		}
	}
}

func TestSnakeActivityVariants(t *testing.T) {
	cases := []struct {
		in      string
		want    event.Event
		missing []string
	}{
		{`{"user_id":"12345","event":"pageview","timestamp":"2023-10-01T12:34:56Z","page_url":"/"}`, &event.PageView{}, nil},
		{`{"user_id":"12345","event":"view","timestamp":"2023-10-01T12:34:56Z","page_url":"/help"}`, &event.PageView{}, nil},
		{`{"user_id":"12345","event":"view","product_id":"67890","timestamp":"2023-10-01T12:45:00Z"}`, &event.ProductView{}, nil},
		{`{"user_id":"12345","event":"search","query":"red shoes","timestamp":"2023-10-01T12:45:00Z"}`, &event.Search{}, nil},
		{`{"user_id":"12345","event":"add_to_cart","product_id":"67890","timestamp":"2023-10-01T12:46:00Z"}`, &event.AddToCart{}, []string{"quantity"}},
		{`{"user_id":"12345","event":"cart_remove","product_id":"67890","quantity":2,"timestamp":"2023-10-01T12:47:00Z"}`, &event.RemoveFromCart{}, nil},
	}
	for _, tc := range cases {
		e := decodeOK(t, []byte(tc.in))
		if reflect.TypeOf(e) != reflect.TypeOf(tc.want) {
			t.Errorf("%s: decoded as %T, want %T", tc.in, e, tc.want)
			continue
		}
		if o := e.Meta().Origin; o.Shape != event.ShapeSnakeActivity || !slices.Equal(o.Missing, tc.missing) {
			t.Errorf("%s: Origin = %+v, want missing %v", tc.in, o, tc.missing)
		}
		if c, ok := e.(*event.AddToCart); ok && c.Quantity != 1 {
			t.Errorf("a cart action without quantity is one unit, got %d", c.Quantity)
		}
	}
}

func TestSnakeFeedbackWithoutRating(t *testing.T) {
	f := decodeOK(t, []byte(`{"user_id":"12345","feedback":"Where is my parcel?","timestamp":"2023-10-01T12:55:00Z"}`)).(*event.Feedback)
	if f.Rating != 0 || !f.Origin.Lacks("rating") || f.Text != "Where is my parcel?" {
		t.Errorf("feedback without rating: %+v", f)
	}
	_, err := event.Decode([]byte(`{"user_id":"12345","rating":0,"timestamp":"2023-10-01T12:55:00Z"}`), event.Source{})
	if ee := errorOf(t, err); ee.Reason != event.ReasonInvalidValue || ee.Field != "rating" {
		t.Errorf("rating 0: %v", err)
	}
	_, err = event.Decode([]byte(`{"user_id":"12345","feedback":"","timestamp":"2023-10-01T12:55:00Z"}`), event.Source{})
	if ee := errorOf(t, err); ee.Reason != event.ReasonMissingField || ee.Field != "feedback" {
		t.Errorf("neither rating nor text: %v", err)
	}
}

func TestSnakeTransaction(t *testing.T) {
	p := decodeOK(t, []byte(`{"transaction_id":"54321","user_id":"12345","amount":500,"currency":"USD","timestamp":"2023-10-01T12:50:00Z","location":"New York"}`)).(*event.PaymentAuthorized)
	if p.OrderID != "54321" || p.TotalAmount == nil || *p.TotalAmount != 500*event.MoneyScale || p.Currency != "USD" ||
		p.Location == nil || p.Location.City != "New York" || !slices.Equal(p.Origin.Missing, []string{"payment_method"}) {
		t.Errorf("transaction: %+v (origin %+v)", p, p.Origin)
	}
}

// Money.

func TestParseMoney(t *testing.T) {
	cases := []struct {
		in   string
		want event.Money
		ok   bool
	}{
		{"29.99", 299900, true},
		{"0", 0, true},
		{"-0", 0, true},
		{"500", 5000000, true},
		{"-5", -50000, true},
		{"0.0001", 1, true},
		{"29.999", 299990, true},
		{"29.9999", 299999, true},
		{"29.99990000", 299999, true},
		{"1e3", 10000000, true},
		{"2.999e1", 299900, true},
		{"1E-4", 1, true},
		{"1000000000", event.MaxMoney, true},
		{"-1000000000", -event.MaxMoney, true},

		{"29.99999", 0, false},
		{"0.00001", 0, false},
		{"1.23456", 0, false},
		{"1e-5", 0, false},
		{"2.5e-4", 0, false},
		{"1000000001", 0, false},
		{"1000000000.0001", 0, false},
		{"-1000000000.5", 0, false},
		{"1e10", 0, false},
		{"1e400", 0, false},
		{"99999999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"abc", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"1.2.3", 0, false},
		{"1,5", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"-Inf", 0, false},
		{" 1", 0, false},
		{`"29.99"`, 0, false},
	}
	for _, tc := range cases {
		got, err := event.ParseMoney(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if !tc.ok && err == nil {
			t.Errorf("ParseMoney(%q) = %d, want an error", tc.in, got)
		}
	}
}

func TestMoneyString(t *testing.T) {
	cases := []struct {
		m    event.Money
		want string
	}{
		{299900, "29.99"},
		{5000000, "500"},
		{0, "0"},
		{1, "0.0001"},
		{10, "0.001"},
		{299999, "29.9999"},
		{-50000, "-5"},
		{-299950, "-29.995"},
		{event.MaxMoney, "1000000000"},
	}
	for _, tc := range cases {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(tc.m), got, tc.want)
		}
		back, err := event.ParseMoney(tc.m.String())
		if err != nil || back != tc.m {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", tc.m.String(), back, err, tc.m)
		}
		b, err := json.Marshal(tc.m)
		if err != nil || string(b) != tc.want {
			t.Errorf("json.Marshal(Money(%d)) = %s, %v", int64(tc.m), b, err)
		}
		var u event.Money
		if err := json.Unmarshal(b, &u); err != nil || u != tc.m {
			t.Errorf("json.Unmarshal(%s) = %d, %v", b, u, err)
		}
	}
	// Round trip over a spread of values, including every fraction digit pattern.
	for m := -event.Money(123457); m <= 123457; m += 7 {
		back, err := event.ParseMoney(m.String())
		if err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %d, %v; want %d", m.String(), back, err, m)
		}
	}
}

func TestMoneyJSON(t *testing.T) {
	var item event.Item
	if err := json.Unmarshal([]byte(`{"product_id":"p-00042","quantity":1,"price":79.99}`), &item); err != nil || item.Price != 799900 {
		t.Errorf("Unmarshal item: %+v, %v", item, err)
	}
	for _, bad := range []string{`"79.99"`, `79.99999`, `true`, `1e400`} {
		var m event.Money
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("json.Unmarshal(%s) into Money succeeded: %d", bad, m)
		}
	}
	// null leaves the value as it is, as encoding/json does for its own types.
	m := event.Money(42)
	if err := json.Unmarshal([]byte(`null`), &m); err != nil || m != 42 {
		t.Errorf("json.Unmarshal(null) = %d, %v; want 42 unchanged", m, err)
	}
}

func TestMoneyCents(t *testing.T) {
	cases := []struct {
		m     event.Money
		cents int64
	}{
		{299900, 2999}, {299949, 2999}, {299950, 3000}, {-299950, -3000}, {-299949, -2999}, {0, 0}, {49, 0}, {50, 1},
	}
	for _, tc := range cases {
		if got := tc.m.Cents(); got != tc.cents {
			t.Errorf("Money(%d).Cents() = %d, want %d", int64(tc.m), got, tc.cents)
		}
	}
	if event.FromCents(2999) != 299900 || event.Money(299900).Mul(3) != 899700 {
		t.Error("FromCents or Mul is wrong")
	}
	if event.MaxMoney != 1_000_000_000*event.MoneyScale {
		t.Error("MaxMoney is not a billion units")
	}
}
