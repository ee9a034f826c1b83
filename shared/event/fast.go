package event

import (
	"encoding/binary"
	"unsafe"
)

// Canonical records of the user activity, order, inventory and feedback
// types, the bulk of the traffic, are read in one pass straight into their
// event, without the tape and its lookups: each key is found in a table of
// the canonical keys and its value kept as a span of the record, then the
// event is filled from the spans. Whatever the pass does not expect makes
// it give up (a key its type does not read, a repeated key, a value of
// another JSON type, a number or timestamp outside the fast forms, JSON
// outside the one-pass reader's subset), and the record is read again the
// general way, which gives the event or the error. So the pass returns only
// events the general way returns too, field for field (FuzzFast holds it to
// that).

// field is a key of the canonical shape.
type field uint8

const (
	fNone field = iota
	fEventID
	fEventType
	fSchemaVersion
	fOccurredAt
	fUserID
	fSessionID
	fDevice
	fLocation
	fPageURL
	fReferrer
	fProductID
	fCategory
	fPrice
	fElement
	fQuery
	fResultsCount
	fQuantity
	fOrderID
	fItems
	fTotalAmount
	fCurrency
	fPaymentMethod
	fCardFingerprint
	fIP
	fFailureReason
	fWarehouseID
	fCarrier
	fTrackingID
	fReason
	fAmount
	fRestock
	fChange
	fNewQuantity
	fSupplierID
	fShipmentID
	fRating
	fFeedback
	fChannel
	fCountry
	fCity
	fLat
	fLon
	numFields
)

var fieldKeys = [numFields]string{
	fEventID: "event_id", fEventType: "event_type", fSchemaVersion: "schema_version", fOccurredAt: "occurred_at",
	fUserID: "user_id", fSessionID: "session_id", fDevice: "device", fLocation: "location",
	fPageURL: "page_url", fReferrer: "referrer", fProductID: "product_id", fCategory: "category",
	fPrice: "price", fElement: "element", fQuery: "query", fResultsCount: "results_count",
	fQuantity: "quantity", fOrderID: "order_id", fItems: "items", fTotalAmount: "total_amount",
	fCurrency: "currency", fPaymentMethod: "payment_method", fCardFingerprint: "card_fingerprint", fIP: "ip",
	fFailureReason: "failure_reason", fWarehouseID: "warehouse_id", fCarrier: "carrier", fTrackingID: "tracking_id",
	fReason: "reason", fAmount: "amount", fRestock: "restock", fChange: "change",
	fNewQuantity: "new_quantity", fSupplierID: "supplier_id", fShipmentID: "shipment_id", fRating: "rating",
	fFeedback: "feedback", fChannel: "channel", fCountry: "country", fCity: "city", fLat: "lat", fLon: "lon",
}

// A key is looked up by its first eight bytes, zero padded, with its length
// in the top byte (XORed in): that word tells the canonical keys apart, and
// times fieldMul it hashes them into [0, 128) without collisions
// (TestFieldTable checks it). The next eight bytes complete the check.
const fieldMul = 0x9e3779b97f4a85ef

// fieldWords holds the two words of each canonical key.
var fieldWords = func() (w [numFields][2]uint64) {
	for f := fEventID; f < numFields; f++ {
		b := make([]byte, len(fieldKeys[f])+16)
		copy(b, fieldKeys[f])
		w[f][0], w[f][1], _ = keyWords(b, 0, len(fieldKeys[f]))
	}
	return w
}()

// fieldTable maps the hash of each canonical key to its field.
var fieldTable = func() (t [128]field) {
	for f := fEventID; f < numFields; f++ {
		h := fieldWords[f][0] * fieldMul >> 57
		if t[h] != fNone {
			panic("event: two canonical keys have the same hash")
		}
		t[h] = f
	}
	return t
}()

// keyWords returns the two words of the key b[i:j]; ok is false for a key
// longer than sixteen bytes or empty. b has sixteen bytes from i within its
// capacity, as a record from copyRecord has from the start of any key: a
// key is followed by a quote, a colon, a value and a brace, and the record
// by recordPad bytes.
func keyWords(b []byte, i, j int) (w0, w1 uint64, ok bool) {
	n := j - i
	if n == 0 || n > 16 {
		return 0, 0, false
	}
	b = b[:cap(b)]
	w0 = binary.LittleEndian.Uint64(b[i:])
	if n < 8 {
		w0 &= 1<<(8*n) - 1
	} else if n > 8 {
		w1 = binary.LittleEndian.Uint64(b[i+8:])
		if n < 16 {
			w1 &= 1<<(8*(n-8)) - 1
		}
	}
	return w0 ^ uint64(n)<<56, w1, true
}

// fieldAt returns the field whose key is b[i:j] (see keyWords), or fNone.
func fieldAt(b []byte, i, j int) field {
	w0, w1, ok := keyWords(b, i, j)
	if !ok {
		return fNone
	}
	f := fieldTable[w0*fieldMul>>57]
	if fieldWords[f][0] != w0 || fieldWords[f][1] != w1 {
		return fNone
	}
	return f
}

// key reads the key whose text starts at b[i], after its opening quote,
// and returns its field (fNone for a key that is not canonical) and the
// index of its closing quote, or -1 for a key the pass does not read (with
// an escape, or not closed). prev is the key before it in its object
// (numFields for none): the key that followed prev last time is tried
// first, then the key is looked up, and next learns what followed prev.
func (r *fastRecord) key(b []byte, i int, next *[numFields + 1]field, prev field) (field, int) {
	if e := next[prev]; e != fNone {
		n := len(fieldKeys[e])
		if cap(b)-i >= 16 && i+n < len(b) && b[i+n] == '"' {
			if w0, w1, _ := keyWords(b, i, i+n); w0 == fieldWords[e][0] && w1 == fieldWords[e][1] {
				return e, i + n
			}
		}
	}
	j := stringEnd(b, i)
	if j >= len(b) || b[j] != '"' {
		return fNone, -1
	}
	f := fieldAt(b, i, j)
	next[prev] = f
	return f, j
}

// span is where a scalar value is in the record: a string's unescaped text
// or a number's text is src[off:off+n].
type span struct {
	off, n uint32
	kind   kind
}

// fastObject holds the members of a location or of an order line, by slot
// (see slot).
type fastObject struct {
	seen uint8
	vals [4]span
}

// slot returns the slot of field f in a location (country, city, lat, lon)
// or an order line (product_id, quantity, price, category), or -1.
func slot(f field, line bool) int {
	if line {
		switch f {
		case fProductID:
			return 0
		case fQuantity:
			return 1
		case fPrice:
			return 2
		case fCategory:
			return 3
		}
		return -1
	}
	switch f {
	case fCountry:
		return 0
	case fCity:
		return 1
	case fLat:
		return 2
	case fLon:
		return 3
	}
	return -1
}

// fastRecord holds what the one-pass read found in a record.
type fastRecord struct {
	seen  uint64 // bit f: the record has key f
	vals  [numFields]span
	loc   fastObject   // the location, when it is an object
	lines []fastObject // the order lines
	// strs is the length of the strings of the record.
	strs int
	// next[f] is the key that followed key f in the last record (in an
	// object of its kind), next[numFields] its first key: records of a
	// producer list keys in the same order, so that the key looked for
	// first is mostly the one there.
	next, nextInLocation, nextInLine [numFields + 1]field
	// dirty: strings were unescaped in place, so the record must be
	// copied again before it is read the general way.
	dirty bool
}

// parse reads the top-level object of b (from copyRecord) into r. ok is
// false when the record is not one the pass reads.
func (r *fastRecord) parse(b []byte) bool {
	r.seen, r.strs, r.dirty = 0, 0, false
	r.lines = r.lines[:0]
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return false // no event_type: not canonical
	}
	prev := numFields
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		f, j := r.key(b, i+1, &r.next, prev)
		if j < 0 {
			return false
		}
		prev = f
		bit := uint64(1) << f
		if f == fNone || r.seen&bit != 0 {
			return false
		}
		r.seen |= bit
		if i = j + 1; i < len(b) && b[i] != ':' {
			i = skipWS(b, i)
		}
		if i >= len(b) || b[i] != ':' {
			return false
		}
		if i = skipWS(b, i+1); i >= len(b) {
			return false
		}
		switch b[i] {
		case '{':
			if f != fLocation {
				return false
			}
			r.vals[f].kind = kindObject
			if i = r.object(b, i, &r.loc, false); i < 0 {
				return false
			}
		case '[':
			if f != fItems {
				return false
			}
			r.vals[f].kind = kindArray
			if i = r.array(b, i); i < 0 {
				return false
			}
		default:
			if r.vals[f], i = r.scalar(b, i); i < 0 {
				return false
			}
		}
		var more bool
		if i, more = after(b, i, '}'); more {
			continue
		}
		return i >= 0 && skipWS(b, i) == len(b)
	}
}

// object reads the location or order line at b[i] into o, and returns the
// index after it, or -1.
func (r *fastRecord) object(b []byte, i int, o *fastObject, line bool) int {
	o.seen = 0
	next, prev := &r.nextInLocation, numFields
	if line {
		next = &r.nextInLine
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		f, j := r.key(b, i+1, next, prev)
		if j < 0 {
			return -1
		}
		prev = f
		s := slot(f, line)
		if s < 0 || o.seen&(1<<s) != 0 {
			return -1
		}
		o.seen |= 1 << s
		if i = skipWS(b, j+1); i >= len(b) || b[i] != ':' {
			return -1
		}
		if o.vals[s], i = r.scalar(b, skipWS(b, i+1)); i < 0 {
			return -1
		}
		var more bool
		if i, more = after(b, i, '}'); !more {
			return i
		}
	}
}

// array reads the order lines at b[i], and returns the index after them,
// or -1.
func (r *fastRecord) array(b []byte, i int) int {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '{' || len(r.lines) == MaxItems {
			return -1
		}
		r.lines = append(r.lines, fastObject{})
		if i = r.object(b, i, &r.lines[len(r.lines)-1], true); i < 0 {
			return -1
		}
		var more bool
		if i, more = after(b, i, ']'); !more {
			return i
		}
	}
}

// after reads what follows a member or an element at b[i]: a comma (more,
// and the index of what comes next) or close (the index after it); any
// other byte gives -1.
func after(b []byte, i int, close byte) (next int, more bool) {
	if i < len(b) && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	switch {
	case i >= len(b):
		return -1, false
	case b[i] == ',':
		return skipWS(b, i+1), true
	case b[i] != close:
		return -1, false
	}
	return i + 1, false
}

// scalar reads the string, number, true, false or null at b[i] as
// parseValue does, and returns the index after it, or -1.
func (r *fastRecord) scalar(b []byte, i int) (span, int) {
	if i >= len(b) {
		return span{}, -1
	}
	switch c := b[i]; {
	case c == '"':
		j := stringEnd(b, i+1)
		if j >= len(b) {
			return span{}, -1
		}
		if b[j] == '"' {
			r.strs += j - i - 1
			return span{off: uint32(i + 1), n: uint32(j - i - 1), kind: kindString}, j + 1
		}
		r.dirty = true
		w, next := unescape(b, j)
		if next < 0 {
			return span{}, -1
		}
		r.strs += w - i - 1
		return span{off: uint32(i + 1), n: uint32(w - i - 1), kind: kindString}, next
	case c == '-' || c >= '0' && c <= '9':
		j := number(b, i)
		if j < 0 {
			return span{}, -1
		}
		return span{off: uint32(i), n: uint32(j - i), kind: kindNumber}, j
	case c == 't' && len(b)-i >= 4 && string(b[i:i+4]) == "true":
		return span{kind: kindTrue}, i + 4
	case c == 'f' && len(b)-i >= 5 && string(b[i:i+5]) == "false":
		return span{kind: kindFalse}, i + 5
	case c == 'n' && len(b)-i >= 4 && string(b[i:i+4]) == "null":
		return span{kind: kindNull}, i + 4
	}
	return span{}, -1
}

// fastBuild fills an event from a fastRecord. ok turns false at the first
// value the general way would not take as it is.
type fastBuild struct {
	st   *state
	r    *fastRecord
	s    *slabs
	keep bool // see slab
	ok   bool
}

// get returns the value of f, or nil when it is absent or null.
func (b *fastBuild) get(f field) *span {
	if b.r.seen&(1<<f) == 0 || b.r.vals[f].kind == kindNull {
		return nil
	}
	return &b.r.vals[f]
}

// member returns the value in slot s of o, or nil when it is absent or null.
func (b *fastBuild) member(o *fastObject, s int) *span {
	if o.seen&(1<<s) == 0 || o.vals[s].kind == kindNull {
		return nil
	}
	return &o.vals[s]
}

// str is reader.str.
func (b *fastBuild) str(v *span) string {
	if v == nil {
		return ""
	}
	if v.kind != kindString {
		b.ok = false
		return ""
	}
	return b.st.keep(v.off, v.n)
}

// text returns the text of a number or string, valid until the state reads
// another record.
func (b *fastBuild) text(v *span) string {
	if v.n == 0 {
		return ""
	}
	return unsafe.String(&b.st.src[v.off], int(v.n))
}

// int is reader.int for the integers smallInt reads; present is false when
// v is nil.
func (b *fastBuild) int(v *span) (n int, present bool) {
	if v == nil {
		return 0, false
	}
	if v.kind == kindNumber {
		if i, ok := smallInt(b.text(v)); ok {
			return int(i), true
		}
	}
	b.ok = false
	return 0, true
}

// reqInt is reader.reqInt.
func (b *fastBuild) reqInt(v *span) int {
	n, present := b.int(v)
	if !present {
		b.ok = false
	}
	return n
}

// intPtr is reader.intPtr.
func (b *fastBuild) intPtr(v *span) *int {
	n, present := b.int(v)
	if !present {
		return nil
	}
	p := b.s.ints.one(b.keep)
	*p = n
	return p
}

// money is reader.money.
func (b *fastBuild) money(v *span) (Money, bool) {
	if v == nil {
		return 0, false
	}
	if v.kind == kindNumber {
		if m, err := ParseMoney(b.text(v)); err == nil {
			return m, true
		}
	}
	b.ok = false
	return 0, true
}

// moneyPtr is reader.moneyPtr.
func (b *fastBuild) moneyPtr(v *span) *Money {
	m, present := b.money(v)
	if !present {
		return nil
	}
	p := b.s.money.one(b.keep)
	*p = m
	return p
}

// float is reader.float for the numbers smallFloat reads.
func (b *fastBuild) float(v *span) (float64, bool) {
	if v == nil {
		return 0, false
	}
	if v.kind == kindNumber {
		if f, ok := smallFloat(b.text(v)); ok {
			return f, true
		}
	}
	b.ok = false
	return 0, true
}

// boolean is reader.boolean.
func (b *fastBuild) boolean(v *span) bool {
	if v == nil {
		return false
	}
	if v.kind != kindTrue && v.kind != kindFalse {
		b.ok = false
	}
	return v.kind == kindTrue
}

// location is reader.location.
func (b *fastBuild) location() *Location {
	v := b.get(fLocation)
	switch {
	case v == nil:
		return nil
	case v.kind == kindString:
		return &Location{City: b.st.keep(v.off, v.n)}
	case v.kind != kindObject:
		b.ok = false
		return nil
	}
	o := &b.r.loc
	l := b.s.locations.one(b.keep)
	l.Country, l.City = b.str(b.member(o, 0)), b.str(b.member(o, 1))
	if lat, ok := b.float(b.member(o, 2)); ok {
		l.coords[0] = lat
		l.Lat = &l.coords[0]
	}
	if lon, ok := b.float(b.member(o, 3)); ok {
		l.coords[1] = lon
		l.Lon = &l.coords[1]
	}
	return &l.Location
}

// items is reader.items for canonical order lines.
func (b *fastBuild) items() []Item {
	v := b.get(fItems)
	if v == nil {
		return nil
	}
	if v.kind != kindArray {
		b.ok = false
		return nil
	}
	if len(b.r.lines) == 0 {
		return nil
	}
	items := b.s.items.many(len(b.r.lines), b.keep)
	for i := range b.r.lines {
		o := &b.r.lines[i]
		items[i].ProductID = b.str(b.member(o, 0))
		items[i].Quantity = b.reqInt(b.member(o, 1))
		items[i].Price, _ = b.money(b.member(o, 2))
		items[i].Category = b.str(b.member(o, 3))
	}
	return items
}

func (b *fastBuild) activity(a *Activity) {
	a.UserID, a.SessionID, a.Device = b.str(b.get(fUserID)), b.str(b.get(fSessionID)), b.str(b.get(fDevice))
	a.Location = b.location()
}

func (b *fastBuild) order(o *Order) {
	o.OrderID, o.UserID = b.str(b.get(fOrderID)), b.str(b.get(fUserID))
	o.Items = b.items()
	o.TotalAmount, o.Currency = b.moneyPtr(b.get(fTotalAmount)), b.str(b.get(fCurrency))
	o.PaymentMethod, o.CardFingerprint = b.str(b.get(fPaymentMethod)), Sensitive(b.str(b.get(fCardFingerprint)))
	o.Location, o.IP, o.Device = b.location(), Sensitive(b.str(b.get(fIP))), b.str(b.get(fDevice))
}

func (b *fastBuild) stock(s *Stock) {
	s.ProductID, s.WarehouseID = b.str(b.get(fProductID)), b.str(b.get(fWarehouseID))
}

// fields is reader.fields for the types the pass reads.
func (b *fastBuild) fields(e Event) {
	switch e := e.(type) {
	case *PageView:
		b.activity(&e.Activity)
		e.PageURL, e.Referrer = b.str(b.get(fPageURL)), b.str(b.get(fReferrer))
		e.ProductID, e.Category = b.str(b.get(fProductID)), b.str(b.get(fCategory))
	case *ProductView:
		b.activity(&e.Activity)
		e.ProductID, e.Category, e.Price = b.str(b.get(fProductID)), b.str(b.get(fCategory)), b.moneyPtr(b.get(fPrice))
	case *Click:
		b.activity(&e.Activity)
		e.PageURL, e.Element = b.str(b.get(fPageURL)), b.str(b.get(fElement))
		e.ProductID, e.Category = b.str(b.get(fProductID)), b.str(b.get(fCategory))
	case *Search:
		b.activity(&e.Activity)
		e.Query, e.Category, e.ResultsCount = b.str(b.get(fQuery)), b.str(b.get(fCategory)), b.intPtr(b.get(fResultsCount))
	case *AddToCart:
		b.activity(&e.Activity)
		e.ProductID, e.Quantity = b.str(b.get(fProductID)), b.reqInt(b.get(fQuantity))
		e.Category, e.Price = b.str(b.get(fCategory)), b.moneyPtr(b.get(fPrice))
	case *RemoveFromCart:
		b.activity(&e.Activity)
		e.ProductID, e.Quantity, e.Category = b.str(b.get(fProductID)), b.reqInt(b.get(fQuantity)), b.str(b.get(fCategory))
	case *OrderCreated:
		b.order(&e.Order)
	case *PaymentAuthorized:
		b.order(&e.Order)
	case *PaymentFailed:
		b.order(&e.Order)
		e.FailureReason = b.str(b.get(fFailureReason))
	case *OrderShipped:
		b.order(&e.Order)
		e.WarehouseID, e.Carrier, e.TrackingID = b.str(b.get(fWarehouseID)), b.str(b.get(fCarrier)), b.str(b.get(fTrackingID))
	case *OrderCancelled:
		b.order(&e.Order)
		e.Reason = b.str(b.get(fReason))
	case *RefundIssued:
		b.order(&e.Order)
		var present bool
		if e.Amount, present = b.money(b.get(fAmount)); !present {
			b.ok = false
		}
		e.Restock, e.Reason = b.boolean(b.get(fRestock)), b.str(b.get(fReason))
	case *StockAdjusted:
		b.stock(&e.Stock)
		e.Change, e.Reason, e.NewQuantity = b.reqInt(b.get(fChange)), b.str(b.get(fReason)), b.intPtr(b.get(fNewQuantity))
	case *Restocked:
		b.stock(&e.Stock)
		e.Quantity, e.SupplierID = b.reqInt(b.get(fQuantity)), b.str(b.get(fSupplierID))
	case *ShipmentReceived:
		b.stock(&e.Stock)
		e.Quantity, e.ShipmentID = b.reqInt(b.get(fQuantity)), b.str(b.get(fShipmentID))
	case *StockCounted:
		b.stock(&e.Stock)
		e.Quantity = b.reqInt(b.get(fQuantity))
	case *Feedback:
		e.UserID, e.Rating, e.Text = b.str(b.get(fUserID)), b.reqInt(b.get(fRating)), b.str(b.get(fFeedback))
		e.OrderID, e.ProductID, e.Channel = b.str(b.get(fOrderID)), b.str(b.get(fProductID)), b.str(b.get(fChannel))
	default:
		b.ok = false
	}
}

// Keys each type the pass reads reads (reader.fields): a record with any
// other key is left to the general way, which ignores it.
const (
	keysEnvelope = 1<<fEventID | 1<<fEventType | 1<<fSchemaVersion | 1<<fOccurredAt
	keysActivity = keysEnvelope | 1<<fUserID | 1<<fSessionID | 1<<fDevice | 1<<fLocation
	keysOrder    = keysEnvelope | 1<<fOrderID | 1<<fUserID | 1<<fItems | 1<<fTotalAmount | 1<<fCurrency |
		1<<fPaymentMethod | 1<<fCardFingerprint | 1<<fLocation | 1<<fIP | 1<<fDevice
	keysStock = keysEnvelope | 1<<fProductID | 1<<fWarehouseID
)

// fastType returns the index in fastTypes of the type named s, or -1.
func fastType(s string) int {
	switch s {
	case "page_view":
		return 0
	case "product_view":
		return 1
	case "click":
		return 2
	case "search":
		return 3
	case "add_to_cart":
		return 4
	case "remove_from_cart":
		return 5
	case "order_created":
		return 6
	case "payment_authorized":
		return 7
	case "payment_failed":
		return 8
	case "order_shipped":
		return 9
	case "order_cancelled":
		return 10
	case "refund_issued":
		return 11
	case "stock_adjusted":
		return 12
	case "restocked":
		return 13
	case "shipment_received":
		return 14
	case "stock_counted":
		return 15
	case "feedback":
		return 16
	}
	return -1
}

// fastTypes are the types the pass reads, and the keys each reads.
var fastTypes = [...]struct {
	t    Type
	keys uint64
}{
	{TypePageView, keysActivity | 1<<fPageURL | 1<<fReferrer | 1<<fProductID | 1<<fCategory},
	{TypeProductView, keysActivity | 1<<fProductID | 1<<fCategory | 1<<fPrice},
	{TypeClick, keysActivity | 1<<fPageURL | 1<<fElement | 1<<fProductID | 1<<fCategory},
	{TypeSearch, keysActivity | 1<<fQuery | 1<<fCategory | 1<<fResultsCount},
	{TypeAddToCart, keysActivity | 1<<fProductID | 1<<fQuantity | 1<<fCategory | 1<<fPrice},
	{TypeRemoveFromCart, keysActivity | 1<<fProductID | 1<<fQuantity | 1<<fCategory},
	{TypeOrderCreated, keysOrder},
	{TypePaymentAuthorized, keysOrder},
	{TypePaymentFailed, keysOrder | 1<<fFailureReason},
	{TypeOrderShipped, keysOrder | 1<<fWarehouseID | 1<<fCarrier | 1<<fTrackingID},
	{TypeOrderCancelled, keysOrder | 1<<fReason},
	{TypeRefundIssued, keysOrder | 1<<fAmount | 1<<fRestock | 1<<fReason},
	{TypeStockAdjusted, keysStock | 1<<fChange | 1<<fReason | 1<<fNewQuantity},
	{TypeRestocked, keysStock | 1<<fQuantity | 1<<fSupplierID},
	{TypeShipmentReceived, keysStock | 1<<fQuantity | 1<<fShipmentID},
	{TypeStockCounted, keysStock | 1<<fQuantity},
	{TypeFeedback, keysEnvelope | 1<<fUserID | 1<<fRating | 1<<fFeedback | 1<<fOrderID | 1<<fProductID | 1<<fChannel},
}

// fast reads the record in st.src (from copyRecord) in one pass; it
// returns nil when the record must be read the general way.
func (sc *scratch) fast() Event {
	st, r := &sc.state, &sc.fr
	if !r.parse(st.src) {
		return nil
	}
	b := fastBuild{st: st, r: r, s: &st.mem.slabs, keep: st.mem.keep, ok: true}
	ts := b.get(fEventType)
	if ts == nil || ts.kind != kindString {
		return nil
	}
	k := fastType(b.text(ts))
	if k < 0 || r.seen&^fastTypes[k].keys != 0 {
		return nil
	}
	t := fastTypes[k].t
	if v, present := b.int(b.get(fSchemaVersion)); !present || v != SchemaVersion || !b.ok {
		return nil
	}
	st.reserve(r.strs)
	e := b.s.event(k, b.keep)
	m := e.Meta()
	m.EventType, m.SchemaVersion = t, SchemaVersion
	m.EventID = b.str(b.get(fEventID))
	if v := b.get(fOccurredAt); v != nil {
		if v.kind != kindString {
			b.ok = false
		} else if s := b.text(v); s != "" {
			var ok bool
			if m.OccurredAt, ok = parseUTCFast(s); !ok {
				b.ok = false
			}
		}
	}
	b.fields(e)
	if !b.ok {
		st.arena = nil
		return nil
	}
	return e
}

// slabs hold the events the pass makes, and what they point to, allocated
// slabLen at a time rather than one by one. An event keeps the whole
// allocation it is part of.
type slabs struct {
	pageViews         slab[PageView]
	productViews      slab[ProductView]
	clicks            slab[Click]
	searches          slab[Search]
	addToCarts        slab[AddToCart]
	removeFromCarts   slab[RemoveFromCart]
	ordersCreated     slab[OrderCreated]
	paymentsOK        slab[PaymentAuthorized]
	paymentsFailed    slab[PaymentFailed]
	ordersShipped     slab[OrderShipped]
	ordersCancelled   slab[OrderCancelled]
	refunds           slab[RefundIssued]
	stockAdjusted     slab[StockAdjusted]
	restocked         slab[Restocked]
	shipmentsReceived slab[ShipmentReceived]
	stockCounted      slab[StockCounted]
	feedback          slab[Feedback]
	locations         slab[locationWithCoords]
	items             slab[Item]
	ints              slab[int]
	money             slab[Money]
}

// reset zeroes what the slabs handed out and makes it free again.
func (s *slabs) reset() {
	s.pageViews.reset()
	s.productViews.reset()
	s.clicks.reset()
	s.searches.reset()
	s.addToCarts.reset()
	s.removeFromCarts.reset()
	s.ordersCreated.reset()
	s.paymentsOK.reset()
	s.paymentsFailed.reset()
	s.ordersShipped.reset()
	s.ordersCancelled.reset()
	s.refunds.reset()
	s.stockAdjusted.reset()
	s.restocked.reset()
	s.shipmentsReceived.reset()
	s.stockCounted.reset()
	s.feedback.reset()
	s.locations.reset()
	s.items.reset()
	s.ints.reset()
	s.money.reset()
}

// slabLen is how many values a slab allocation holds.
const slabLen = 32

// slab hands out zero values of T from allocations of slabLen. With keep,
// it keeps every allocation, to hand it out again after reset.
type slab[T any] struct {
	free   []T   // the rest of the current allocation
	chunks [][]T // with keep: the allocations; chunks[:used] are in use
	used   int
}

// one returns a zero value.
func (s *slab[T]) one(keep bool) *T {
	if len(s.free) == 0 {
		s.refill(keep)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// many returns n zero values, in a slice of their own.
func (s *slab[T]) many(n int, keep bool) []T {
	if n > slabLen/2 {
		return make([]T, n)
	}
	if len(s.free) < n {
		s.refill(keep)
	}
	p := s.free[:n:n]
	s.free = s.free[n:]
	return p
}

func (s *slab[T]) refill(keep bool) {
	if !keep {
		s.free = make([]T, slabLen)
		return
	}
	if s.used == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, slabLen))
	}
	s.free = s.chunks[s.used]
	s.used++
}

// reset zeroes the values handed out since the last reset, and hands them
// out again (with keep).
func (s *slab[T]) reset() {
	for _, c := range s.chunks[:s.used] {
		clear(c)
	}
	s.used, s.free = 0, nil
}

// event returns a zero event of fastTypes[k].
func (s *slabs) event(k int, keep bool) Event {
	switch k {
	case 0:
		return s.pageViews.one(keep)
	case 1:
		return s.productViews.one(keep)
	case 2:
		return s.clicks.one(keep)
	case 3:
		return s.searches.one(keep)
	case 4:
		return s.addToCarts.one(keep)
	case 5:
		return s.removeFromCarts.one(keep)
	case 6:
		return s.ordersCreated.one(keep)
	case 7:
		return s.paymentsOK.one(keep)
	case 8:
		return s.paymentsFailed.one(keep)
	case 9:
		return s.ordersShipped.one(keep)
	case 10:
		return s.ordersCancelled.one(keep)
	case 11:
		return s.refunds.one(keep)
	case 12:
		return s.stockAdjusted.one(keep)
	case 13:
		return s.restocked.one(keep)
	case 14:
		return s.shipmentsReceived.one(keep)
	case 15:
		return s.stockCounted.one(keep)
	case 16:
		return s.feedback.one(keep)
	}
	return New(fastTypes[k].t)
}
