package event

import (
	"errors"
	"fmt"
)

// Reason classifies why a record is not a valid event. Every Reason is
// permanent: retrying the same bytes gives the same answer, so such a record
// goes to the dead-letter path, never back to the retry loop.
type Reason string

const (
	ReasonBadEncoding        Reason = "bad_encoding"        // the Kafka value is not valid base64
	ReasonNotJSON            Reason = "not_json"            // the value is not a JSON object
	ReasonUnknownType        Reason = "unknown_type"        // no known event type, nor a known producer shape
	ReasonUnsupportedVersion Reason = "unsupported_version" // schema_version is not one this code reads
	ReasonMissingField       Reason = "missing_field"       // a required field is absent or empty
	ReasonWrongType          Reason = "wrong_type"          // a field has the wrong JSON type
	ReasonInvalidValue       Reason = "invalid_value"       // a field is out of range, not in its enum, or malformed
	ReasonOversized          Reason = "oversized"           // the record or one of its fields is too large
	// ReasonRejected: a valid event that a function's own rules refuse (an
	// unknown product, an impossible transition); the error says which rule.
	ReasonRejected Reason = "rejected"
)

// Reasons lists every Reason in a stable order.
func Reasons() []Reason {
	return []Reason{ReasonBadEncoding, ReasonNotJSON, ReasonUnknownType, ReasonUnsupportedVersion,
		ReasonMissingField, ReasonWrongType, ReasonInvalidValue, ReasonOversized, ReasonRejected}
}

// ErrInvalid matches, through errors.Is, every error this package returns for
// a record that is not a valid event.
var ErrInvalid = errors.New("invalid event")

// Error says what is wrong with a record: the reason, the field (a dotted
// path such as "items[1].quantity", empty for the record as a whole) and a
// human-readable detail.
type Error struct {
	Reason Reason
	Field  string
	Detail string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Reason, e.Detail)
	}
	return fmt.Sprintf("%s: field %s: %s", e.Reason, e.Field, e.Detail)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *Error) Unwrap() error { return ErrInvalid }

// ReasonOf returns the Reason of an invalid-event error, or "" when err is
// not one.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func errorf(r Reason, field, format string, args ...any) *Error {
	return &Error{Reason: r, Field: field, Detail: fmt.Sprintf(format, args...)}
}

func missing(field string) *Error {
	return &Error{Reason: ReasonMissingField, Field: field, Detail: "required"}
}
