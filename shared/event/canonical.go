package event

// canonical reads the canonical shape: the envelope, then the type's fields
// under their snake_case names. ts is the value of event_type.
func (r *reader) canonical(ts *value) Event {
	switch ts.kind {
	case kindNull:
		r.fail(missing("event_type"))
		return nil
	case kindString:
	default:
		r.wrong("event_type", "string", ts)
		return nil
	}
	t := Type(r.st.text(ts))
	e := New(t)
	if e == nil {
		r.fail(errorf(ReasonUnknownType, "event_type", "%q is not a known event type", clip(string(t))))
		return nil
	}
	m := e.Meta()
	v, ok := r.int("schema_version")
	switch {
	case r.st.err != nil:
		return nil
	case !ok:
		r.fail(missing("schema_version"))
		return nil
	case v != SchemaVersion:
		r.fail(errorf(ReasonUnsupportedVersion, "schema_version", "%d is not supported (supported: %d)", v, SchemaVersion))
		return nil
	}
	m.EventID = r.str("event_id")
	m.OccurredAt = r.time("occurred_at")
	r.fields(e)
	if r.st.err != nil {
		return nil
	}
	return e
}

// fields reads the type-specific fields of e under their canonical names.
func (r *reader) fields(e Event) {
	switch e := e.(type) {
	case *PageView:
		r.activity(&e.Activity)
		e.PageURL, e.Referrer = r.str("page_url"), r.str("referrer")
		e.ProductID, e.Category = r.str("product_id"), r.str("category")
	case *ProductView:
		r.activity(&e.Activity)
		e.ProductID, e.Category, e.Price = r.str("product_id"), r.str("category"), r.moneyPtr("price")
	case *Click:
		r.activity(&e.Activity)
		e.PageURL, e.Element = r.str("page_url"), r.str("element")
		e.ProductID, e.Category = r.str("product_id"), r.str("category")
	case *Search:
		r.activity(&e.Activity)
		e.Query, e.Category, e.ResultsCount = r.str("query"), r.str("category"), r.intPtr("results_count")
	case *AddToCart:
		r.activity(&e.Activity)
		e.ProductID, e.Quantity = r.str("product_id"), r.reqInt("quantity")
		e.Category, e.Price = r.str("category"), r.moneyPtr("price")
	case *RemoveFromCart:
		r.activity(&e.Activity)
		e.ProductID, e.Quantity, e.Category = r.str("product_id"), r.reqInt("quantity"), r.str("category")
	case *OrderCreated:
		r.order(&e.Order)
	case *PaymentAuthorized:
		r.order(&e.Order)
	case *PaymentFailed:
		r.order(&e.Order)
		e.FailureReason = r.str("failure_reason")
	case *OrderShipped:
		r.order(&e.Order)
		e.WarehouseID, e.Carrier, e.TrackingID = r.str("warehouse_id"), r.str("carrier"), r.str("tracking_id")
	case *OrderCancelled:
		r.order(&e.Order)
		e.Reason = r.str("reason")
	case *RefundIssued:
		r.order(&e.Order)
		var ok bool
		if e.Amount, ok = r.money("amount"); !ok && r.st.err == nil {
			r.fail(missing("amount"))
		}
		e.Restock, e.Reason = r.boolean("restock"), r.str("reason")
	case *StockAdjusted:
		r.stock(&e.Stock)
		e.Change, e.Reason, e.NewQuantity = r.reqInt("change"), r.str("reason"), r.intPtr("new_quantity")
	case *Restocked:
		r.stock(&e.Stock)
		e.Quantity, e.SupplierID = r.reqInt("quantity"), r.str("supplier_id")
	case *ShipmentReceived:
		r.stock(&e.Stock)
		e.Quantity, e.ShipmentID = r.reqInt("quantity"), r.str("shipment_id")
	case *StockCounted:
		r.stock(&e.Stock)
		e.Quantity = r.reqInt("quantity")
	case *Feedback:
		e.UserID, e.Rating, e.Text = r.str("user_id"), r.reqInt("rating"), r.str("feedback")
		e.OrderID, e.ProductID, e.Channel = r.str("order_id"), r.str("product_id"), r.str("channel")
	case *Metric:
		e.Name, e.Category, e.Unit = r.str("metric"), r.str("category"), r.str("unit")
		var ok bool
		if e.Value, ok = r.float("value"); !ok && r.st.err == nil {
			r.fail(missing("value"))
		}
	case *FraudAlert:
		r.fraudAlert(e)
	case *InventoryAlert:
		e.ProductID, e.WarehouseID, e.Kind = r.str("product_id"), r.str("warehouse_id"), r.str("kind")
		e.Available, e.Threshold, e.OrderID = r.reqInt("available"), r.intPtr("threshold"), r.str("order_id")
	case *SupportAlert:
		r.supportAlert(e)
	case *DeadLetter:
		r.deadLetter(e)
	}
}

func (r *reader) activity(a *Activity) {
	a.UserID, a.SessionID, a.Device = r.str("user_id"), r.str("session_id"), r.str("device")
	a.Location = r.location("location")
}

func (r *reader) order(o *Order) {
	o.OrderID, o.UserID = r.str("order_id"), r.str("user_id")
	o.Items = r.items("items", snakeItems)
	o.TotalAmount, o.Currency = r.moneyPtr("total_amount"), r.str("currency")
	o.PaymentMethod, o.CardFingerprint = r.str("payment_method"), r.sensitive("card_fingerprint")
	o.Location, o.IP, o.Device = r.location("location"), r.sensitive("ip"), r.str("device")
}

func (r *reader) stock(s *Stock) {
	s.ProductID, s.WarehouseID = r.str("product_id"), r.str("warehouse_id")
}

func (r *reader) fraudAlert(e *FraudAlert) {
	e.OrderID, e.UserID, e.Decision = r.str("order_id"), r.str("user_id"), r.str("decision")
	e.RuleVersion, e.CardFingerprint = r.str("rule_version"), r.sensitive("card_fingerprint")
	var ok bool
	if e.Score, ok = r.float("score"); !ok && r.st.err == nil {
		r.fail(missing("score"))
	}
	var s reader
	lo, end := elems(r.array("reasons"))
	for i, j := 0, lo; j < end; i, j = i+1, r.st.skip(j) {
		v := &r.st.tape[j].v
		p := "reasons[" + itoa(i) + "]"
		if v.kind != kindObject {
			r.fail(errorf(ReasonWrongType, p, "want object, got %s", v.kind))
			return
		}
		r.sub(&s, v, p)
		fr := FraudReason{Rule: s.str("rule"), Detail: s.str("detail")}
		fr.Score, _ = s.float("score")
		r.fail(s.st.err)
		e.Reasons = append(e.Reasons, fr)
	}
}

func (r *reader) supportAlert(e *SupportAlert) {
	e.CaseID, e.OrderID, e.UserID, e.Priority = r.str("case_id"), r.str("order_id"), r.str("user_id"), r.str("priority")
	if n, ok := r.int("lowest_rating"); ok {
		e.LowestRating = n
	}
	lo, end := elems(r.array("reasons"))
	for i, j := 0, lo; j < end; i, j = i+1, r.st.skip(j) {
		v := &r.st.tape[j].v
		if v.kind != kindString {
			r.fail(errorf(ReasonWrongType, "reasons["+itoa(i)+"]", "want string, got %s", v.kind))
			return
		}
		e.Reasons = append(e.Reasons, r.st.text(v))
	}
}

func (r *reader) deadLetter(e *DeadLetter) {
	e.Function, e.Reason, e.Error = r.str("function"), Reason(r.str("reason")), r.str("error")
	e.Topic = r.str("topic")
	p, _ := r.int("partition")
	e.Partition = int32(p)
	if s, ok := r.numText("offset"); ok {
		e.Offset = parseInt64(r, "offset", s)
	}
	if s, ok := r.numText("kafka_timestamp"); ok {
		e.KafkaTimestamp = parseInt64(r, "kafka_timestamp", s)
	}
	e.RecordKey = r.bytes("key")
	e.RecordValue = r.bytes("value")
	var s reader
	lo, end := elems(r.array("headers"))
	for i, j := 0, lo; j < end; i, j = i+1, r.st.skip(j) {
		v := &r.st.tape[j].v
		p := "headers[" + itoa(i) + "]"
		if v.kind != kindObject {
			r.fail(errorf(ReasonWrongType, p, "want object, got %s", v.kind))
			return
		}
		r.sub(&s, v, p)
		e.Headers = append(e.Headers, RecordHeader{Key: s.str("key"), Value: s.bytes("value")})
		r.fail(s.st.err)
	}
}
