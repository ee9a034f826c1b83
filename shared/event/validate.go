package event

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Field limits.
const (
	MaxRecordBytes = 64 << 10 // a record value larger than this is oversized
	// MaxDeadLetterBytes bounds records read from the dead-letter topic: a
	// dead letter carries a refused record (which may itself be oversized)
	// base64-encoded, so it may be larger than any event.
	MaxDeadLetterBytes = 2 << 20
	MaxIDLen           = 128
	MaxNameLen         = 64
	MaxURLLen          = 2048
	MaxQueryLen        = 512
	MaxTextLen         = 4000 // feedback text
	MaxShortText       = 256
	MaxItems           = 500
	MaxQuantity        = 10_000        // units of one product in a cart or order line
	MaxStockMove       = 1_000_000     // units in one restock, shipment or adjustment
	MaxStockLevel      = 1_000_000_000 // units counted on hand
)

// Enumerations.
var (
	Devices        = []string{"desktop", "mobile", "tablet", "app", "other"}
	PaymentMethods = []string{"card", "paypal", "apple_pay", "google_pay", "gift_card", "bank_transfer", "cash_on_delivery"}
	FailureReasons = []string{"insufficient_funds", "card_declined", "expired_card", "incorrect_cvc", "fraud_suspected", "processing_error"}
	Decisions      = []string{"approve", "review", "decline"}
	AlertKinds     = []string{"low_stock", "out_of_stock", "backordered", "oversold"}
	Priorities     = []string{"low", "medium", "high"}
)

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// IsID reports whether s is a valid identifier: 1-128 characters of letters,
// digits and _ . : @ / + = -, starting with a letter or digit.
func IsID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen || idChars[s[0]] != idStart {
		return false
	}
	for i := 1; i < len(s); i++ {
		if idChars[s[i]] == 0 {
			return false
		}
	}
	return true
}

// idChars classifies the bytes of identifiers: idStart for letters and
// digits, idInner for the punctuation allowed after the first byte.
var idChars = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			t[c] = idStart
		case strings.IndexByte("_.:@/+=-", byte(c)) >= 0:
			t[c] = idInner
		}
	}
	return t
}()

const (
	idStart = 1
	idInner = 2
)

func checkID(field, s string, required bool) *Error {
	if s == "" {
		if required {
			return missing(field)
		}
		return nil
	}
	if len(s) > MaxIDLen {
		return errorf(ReasonOversized, field, "%d bytes, max %d", len(s), MaxIDLen)
	}
	if !IsID(s) {
		return errorf(ReasonInvalidValue, field, "not an identifier (letters, digits and _.:@/+=- only): %q", clip(s))
	}
	return nil
}

// checkText checks free text: valid UTF-8, no control characters other than
// tab and newline (when multiline), at most max bytes.
func checkText(field, s string, max int, required, multiline bool) *Error {
	if s == "" {
		if required {
			return missing(field)
		}
		return nil
	}
	if len(s) > max {
		return errorf(ReasonOversized, field, "%d bytes, max %d", len(s), max)
	}
	if printableASCII(s) {
		return nil
	}
	if !utf8.ValidString(s) {
		return errorf(ReasonInvalidValue, field, "not valid UTF-8")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			if multiline && (c == '\n' || c == '\t' || c == '\r') {
				continue
			}
			return errorf(ReasonInvalidValue, field, "control character 0x%02x", c)
		}
	}
	return nil
}

// printableASCII reports whether every byte of s is in [0x20, 0x7e]: such
// text is valid UTF-8 without control characters. It looks at eight bytes
// at a time.
func printableASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// High bits of: bytes >= 0x80, bytes < 0x20, bytes == 0x7f.
		if (x|(x-0x20*ones)|((x^0x7f*ones)-ones))&highs != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func checkEnum(field, s string, set []string, required bool) *Error {
	if s == "" {
		if required {
			return missing(field)
		}
		return nil
	}
	if !oneOf(s, set) {
		return errorf(ReasonInvalidValue, field, "%q is not one of %s", clip(s), strings.Join(set, ", "))
	}
	return nil
}

func checkURL(field, s string, required bool) *Error {
	if err := checkText(field, s, MaxURLLen, required, false); err != nil || s == "" {
		return err
	}
	if !(strings.HasPrefix(s, "/") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) {
		return errorf(ReasonInvalidValue, field, "must be a path or an http(s) URL: %q", clip(s))
	}
	if containsAny(s, &urlForbidden) {
		return errorf(ReasonInvalidValue, field, "characters not allowed in a URL: %q", clip(s))
	}
	return nil
}

// urlForbidden marks the bytes checkURL refuses.
var urlForbidden = byteSet(" \"<>\\^`{|}")

func byteSet(s string) (t [256]bool) {
	for i := 0; i < len(s); i++ {
		t[s[i]] = true
	}
	return t
}

// containsAny reports whether s has a byte of set, which holds ASCII bytes
// only: strings.ContainsAny of their string.
func containsAny(s string, set *[256]bool) bool {
	for i := 0; i < len(s); i++ {
		if set[s[i]] {
			return true
		}
	}
	return false
}

func checkRange(field string, v, lo, hi int) *Error {
	if v < lo || v > hi {
		return errorf(ReasonInvalidValue, field, "%d is out of range [%d, %d]", v, lo, hi)
	}
	return nil
}

func checkMoney(field string, m Money) *Error {
	if m < 0 {
		return errorf(ReasonInvalidValue, field, "%s is negative", m)
	}
	if m > MaxMoney {
		return errorf(ReasonInvalidValue, field, "%s exceeds %s", m, MaxMoney)
	}
	return nil
}

func checkCurrency(field, s string, required bool) *Error {
	if s == "" {
		if required {
			return missing(field)
		}
		return nil
	}
	if !IsCurrency(s) {
		return errorf(ReasonInvalidValue, field, "%q is not an ISO 4217 currency code", clip(s))
	}
	return nil
}

func checkTime(field string, t time.Time) *Error {
	if t.IsZero() {
		return missing(field)
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return errorf(ReasonInvalidValue, field, "%s is outside [%s, %s]", t.Format(time.RFC3339), MinTime.Format("2006-01-02"), MaxTime.Format("2006-01-02"))
	}
	return nil
}

func checkFloat(field string, f, lo, hi float64) *Error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < lo || f > hi {
		return errorf(ReasonInvalidValue, field, "%v is out of range [%v, %v]", f, lo, hi)
	}
	return nil
}

func (l *Location) validate(field string) *Error {
	if l == nil {
		return nil
	}
	return under(field, l.check())
}

// check validates l, naming fields relative to the location.
func (l *Location) check() *Error {
	if l.Country != "" && !(len(l.Country) == 2 && isUpper(l.Country[0]) && isUpper(l.Country[1])) {
		return errorf(ReasonInvalidValue, "country", "%q is not an ISO 3166-1 alpha-2 code", clip(l.Country))
	}
	if err := checkText("city", l.City, MaxShortText, false, false); err != nil {
		return err
	}
	if (l.Lat == nil) != (l.Lon == nil) {
		return errorf(ReasonInvalidValue, "", "lat and lon must come together")
	}
	if l.Lat != nil {
		if err := checkFloat("lat", *l.Lat, -90, 90); err != nil {
			return err
		}
		if err := checkFloat("lon", *l.Lon, -180, 180); err != nil {
			return err
		}
	}
	return nil
}

// under places err's field under prefix ("city" under "location" is
// "location.city"); the path is built only when there is an error.
func under(prefix string, err *Error) *Error {
	if err == nil {
		return nil
	}
	if err.Field == "" {
		err.Field = prefix
	} else {
		err.Field = prefix + "." + err.Field
	}
	return err
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func checkIP(field string, s Sensitive) *Error {
	if s == "" {
		return nil
	}
	if len(s) > 64 {
		return errorf(ReasonOversized, field, "%d bytes, max 64", len(s))
	}
	if _, err := netip.ParseAddr(string(s)); err != nil {
		return errorf(ReasonInvalidValue, field, "not an IP address")
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func first(errs ...*Error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (e *Envelope) validate(want Type) *Error {
	if e.EventType != want {
		return errorf(ReasonInvalidValue, "event_type", "%q on a %s", e.EventType, want)
	}
	if e.SchemaVersion != SchemaVersion {
		return errorf(ReasonUnsupportedVersion, "schema_version", "%d is not supported (supported: %d)", e.SchemaVersion, SchemaVersion)
	}
	if err := checkID("event_id", e.EventID, true); err != nil {
		return err
	}
	return checkTime("occurred_at", e.OccurredAt)
}

func (a *Activity) validate() *Error {
	return firstErr(
		checkID("user_id", a.UserID, true),
		checkID("session_id", a.SessionID, false),
		checkEnum("device", a.Device, Devices, false),
		a.Location.validate("location"),
	)
}

func firstErr(errs ...*Error) *Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func checkCategory(s string) *Error { return checkText("category", s, MaxNameLen, false, false) }

func checkPrice(field string, p *Money) *Error {
	if p == nil {
		return nil
	}
	return checkMoney(field, *p)
}

func (e *PageView) Validate() error {
	return first(e.Envelope.validate(TypePageView), e.Activity.validate(),
		checkURL("page_url", e.PageURL, true), checkURL("referrer", e.Referrer, false),
		checkID("product_id", e.ProductID, false), checkCategory(e.Category))
}

func (e *ProductView) Validate() error {
	return first(e.Envelope.validate(TypeProductView), e.Activity.validate(),
		checkID("product_id", e.ProductID, true), checkCategory(e.Category), checkPrice("price", e.Price))
}

func (e *Click) Validate() error {
	return first(e.Envelope.validate(TypeClick), e.Activity.validate(),
		checkURL("page_url", e.PageURL, true), checkText("element", e.Element, MaxNameLen*2, true, false),
		checkID("product_id", e.ProductID, false), checkCategory(e.Category))
}

func (e *Search) Validate() error {
	var rc *Error
	if e.ResultsCount != nil {
		rc = checkRange("results_count", *e.ResultsCount, 0, math.MaxInt32)
	}
	return first(e.Envelope.validate(TypeSearch), e.Activity.validate(),
		checkText("query", e.Query, MaxQueryLen, true, false), checkCategory(e.Category), rc)
}

func (e *AddToCart) Validate() error {
	return first(e.Envelope.validate(TypeAddToCart), e.Activity.validate(),
		checkID("product_id", e.ProductID, true), checkRange("quantity", e.Quantity, 1, MaxQuantity),
		checkCategory(e.Category), checkPrice("price", e.Price))
}

func (e *RemoveFromCart) Validate() error {
	return first(e.Envelope.validate(TypeRemoveFromCart), e.Activity.validate(),
		checkID("product_id", e.ProductID, true), checkRange("quantity", e.Quantity, 1, MaxQuantity),
		checkCategory(e.Category))
}

// validate checks the order fields; needItems, needAmount and needPayment say
// which are required for this lifecycle step, unless the source shape lacks them.
func (o *Order) validate(origin Origin, needItems, needAmount, needPayment bool) *Error {
	if err := firstErr(checkID("order_id", o.OrderID, true), checkID("user_id", o.UserID, true)); err != nil {
		return err
	}
	if len(o.Items) == 0 && needItems && !origin.Lacks("items") {
		return missing("items")
	}
	if len(o.Items) > MaxItems {
		return errorf(ReasonOversized, "items", "%d lines, max %d", len(o.Items), MaxItems)
	}
	needPrice := !origin.Lacks("items.price")
	for i := range o.Items {
		it := &o.Items[i]
		if err := it.validate(i, needPrice); err != nil {
			return err
		}
	}
	if o.TotalAmount == nil {
		if needAmount && !origin.Lacks("total_amount") {
			return missing("total_amount")
		}
	} else if err := checkMoney("total_amount", *o.TotalAmount); err != nil {
		return err
	}
	needCurrency := (o.TotalAmount != nil || (len(o.Items) > 0 && needPrice)) && !origin.Lacks("currency")
	if err := checkCurrency("currency", o.Currency, needCurrency); err != nil {
		return err
	}
	return firstErr(
		checkEnum("payment_method", o.PaymentMethod, PaymentMethods, needPayment && !origin.Lacks("payment_method")),
		checkID("card_fingerprint", string(o.CardFingerprint), false),
		o.Location.validate("location"),
		checkIP("ip", o.IP),
		checkEnum("device", o.Device, Devices, false),
	)
}

func (it *Item) validate(i int, needPrice bool) *Error {
	err := firstErr(
		checkID("product_id", it.ProductID, true),
		checkRange("quantity", it.Quantity, 1, MaxQuantity),
		checkMoney("price", it.Price),
		checkText("category", it.Category, MaxNameLen, false, false),
	)
	if err == nil {
		return nil
	}
	return under("items["+itoa(i)+"]", err)
}

func itoa(i int) string {
	if i >= 0 && i < 10 {
		return string(rune('0' + i))
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

func (e *OrderCreated) Validate() error {
	return first(e.Envelope.validate(TypeOrderCreated), e.Order.validate(e.Origin, true, true, false))
}

func (e *PaymentAuthorized) Validate() error {
	return first(e.Envelope.validate(TypePaymentAuthorized), e.Order.validate(e.Origin, false, true, true))
}

func (e *PaymentFailed) Validate() error {
	return first(e.Envelope.validate(TypePaymentFailed), e.Order.validate(e.Origin, false, false, true),
		checkEnum("failure_reason", e.FailureReason, FailureReasons, !e.Origin.Lacks("failure_reason")))
}

func (e *OrderShipped) Validate() error {
	return first(e.Envelope.validate(TypeOrderShipped), e.Order.validate(e.Origin, false, false, false),
		checkID("warehouse_id", e.WarehouseID, false), checkText("carrier", e.Carrier, MaxNameLen, false, false),
		checkID("tracking_id", e.TrackingID, false))
}

func (e *OrderCancelled) Validate() error {
	return first(e.Envelope.validate(TypeOrderCancelled), e.Order.validate(e.Origin, false, false, false),
		checkText("reason", e.Reason, MaxShortText, false, false))
}

func (e *RefundIssued) Validate() error {
	var amt *Error
	if !e.Origin.Lacks("amount") {
		amt = checkMoney("amount", e.Amount)
		if amt == nil && e.Amount == 0 {
			amt = errorf(ReasonInvalidValue, "amount", "must be > 0")
		}
	}
	var cur *Error
	if e.Currency == "" && !e.Origin.Lacks("currency") {
		cur = missing("currency")
	}
	return first(e.Envelope.validate(TypeRefundIssued), e.Order.validate(e.Origin, false, false, false), amt, cur,
		checkText("reason", e.Reason, MaxShortText, false, false))
}

func (s *Stock) validate(origin Origin) *Error {
	return firstErr(checkID("product_id", s.ProductID, true),
		checkID("warehouse_id", s.WarehouseID, !origin.Lacks("warehouse_id")))
}

func (e *StockAdjusted) Validate() error {
	var ch *Error
	switch {
	case e.Change == 0:
		ch = errorf(ReasonInvalidValue, "change", "must not be 0")
	case e.Change < -MaxStockMove || e.Change > MaxStockMove:
		ch = errorf(ReasonInvalidValue, "change", "%d is out of range [%d, %d]", e.Change, -MaxStockMove, MaxStockMove)
	}
	var nq *Error
	if e.NewQuantity != nil {
		nq = checkRange("new_quantity", *e.NewQuantity, -MaxStockLevel, MaxStockLevel)
	}
	return first(e.Envelope.validate(TypeStockAdjusted), e.Stock.validate(e.Origin), ch, nq,
		checkText("reason", e.Reason, MaxNameLen, false, false))
}

func (e *Restocked) Validate() error {
	return first(e.Envelope.validate(TypeRestocked), e.Stock.validate(e.Origin),
		checkRange("quantity", e.Quantity, 1, MaxStockMove), checkID("supplier_id", e.SupplierID, false))
}

func (e *ShipmentReceived) Validate() error {
	return first(e.Envelope.validate(TypeShipmentReceived), e.Stock.validate(e.Origin),
		checkRange("quantity", e.Quantity, 1, MaxStockMove), checkID("shipment_id", e.ShipmentID, false))
}

func (e *StockCounted) Validate() error {
	return first(e.Envelope.validate(TypeStockCounted), e.Stock.validate(e.Origin),
		checkRange("quantity", e.Quantity, 0, MaxStockLevel))
}

func (e *Feedback) Validate() error {
	var rating *Error
	if !e.Origin.Lacks("rating") || e.Rating != 0 {
		rating = checkRange("rating", e.Rating, 1, 5)
	}
	var text *Error
	if e.Text == "" && e.Origin.Lacks("rating") {
		text = missing("feedback")
	}
	return first(e.Envelope.validate(TypeFeedback), checkID("user_id", e.UserID, true), rating, text,
		checkText("feedback", e.Text, MaxTextLen, false, true),
		checkID("order_id", e.OrderID, false), checkID("product_id", e.ProductID, false),
		checkText("channel", e.Channel, MaxNameLen, false, false))
}

func (e *Metric) Validate() error {
	return first(e.Envelope.validate(TypeMetric), checkText("metric", e.Name, MaxNameLen, true, false),
		checkFloat("value", e.Value, -1e15, 1e15), checkCategory(e.Category),
		checkText("unit", e.Unit, MaxNameLen, false, false))
}

func (e *FraudAlert) Validate() error {
	var reasons *Error
	if len(e.Reasons) == 0 && e.Decision != "approve" {
		reasons = missing("reasons")
	}
	for i, r := range e.Reasons {
		p := "reasons[" + itoa(i) + "]"
		if reasons == nil {
			reasons = firstErr(checkID(p+".rule", r.Rule, true), checkFloat(p+".score", r.Score, -100, 100),
				checkText(p+".detail", r.Detail, MaxShortText, false, false))
		}
	}
	return first(e.Envelope.validate(TypeFraudAlert), checkID("order_id", e.OrderID, true),
		checkID("user_id", e.UserID, true), checkFloat("score", e.Score, 0, 100),
		checkEnum("decision", e.Decision, Decisions, true), reasons,
		checkID("rule_version", e.RuleVersion, true), checkID("card_fingerprint", string(e.CardFingerprint), false))
}

func (e *InventoryAlert) Validate() error {
	var th *Error
	if e.Threshold != nil {
		th = checkRange("threshold", *e.Threshold, 0, MaxStockLevel)
	}
	return first(e.Envelope.validate(TypeInventoryAlert), checkID("product_id", e.ProductID, true),
		checkID("warehouse_id", e.WarehouseID, false), checkEnum("kind", e.Kind, AlertKinds, true),
		checkRange("available", e.Available, -MaxStockLevel, MaxStockLevel), th, checkID("order_id", e.OrderID, false))
}

func (e *SupportAlert) Validate() error {
	var reasons *Error
	if len(e.Reasons) == 0 {
		reasons = missing("reasons")
	}
	for i, r := range e.Reasons {
		if reasons == nil {
			reasons = checkID("reasons["+itoa(i)+"]", r, true)
		}
	}
	var rating *Error
	if e.LowestRating != 0 {
		rating = checkRange("lowest_rating", e.LowestRating, 1, 5)
	}
	return first(e.Envelope.validate(TypeSupportAlert), checkText("case_id", e.CaseID, MaxShortText, true, false),
		checkID("order_id", e.OrderID, false), checkID("user_id", e.UserID, true),
		checkEnum("priority", e.Priority, Priorities, true), reasons, rating)
}

func (e *DeadLetter) Validate() error {
	var reason *Error
	if e.Reason == "" {
		reason = missing("reason")
	} else if !oneOf(string(e.Reason), reasonStrings()) {
		reason = errorf(ReasonInvalidValue, "reason", "%q is not a known reason", clip(string(e.Reason)))
	}
	var coords *Error
	if e.Partition < 0 || e.Offset < 0 {
		field := "offset"
		if e.Partition < 0 {
			field = "partition"
		}
		coords = errorf(ReasonInvalidValue, field, "partition and offset must be >= 0")
	}
	return first(e.Envelope.validate(TypeDeadLetter), checkID("function", e.Function, true), reason,
		checkText("error", e.Error, 4096, true, true), checkText("topic", e.Topic, 249, true, false), coords)
}

func reasonStrings() []string {
	rs := Reasons()
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
