package event

import (
	"fmt"
	"unicode/utf8"
)

// Reason codes of a RejectError, stable for dashboards and alerting.
const (
	CodeEmpty          = "empty_payload"
	CodeTooLarge       = "too_large"
	CodeInvalidUTF8    = "invalid_utf8"
	CodeNotJSON        = "not_json"
	CodeWrongType      = "wrong_type"
	CodeMissing        = "missing_field"
	CodeInvalidValue   = "invalid_value"
	CodeUnknownType    = "unknown_type"
	CodeBadSchema      = "unsupported_schema"
	CodeBadTime        = "bad_timestamp"
	CodeFutureTime     = "future_timestamp"
	CodeTimeOutOfRange = "timestamp_out_of_range"
	CodeSuppressed     = "suppressed"
	// CodeEventIDReused: the event_id is stored with other content
	// (Event.AppendCanonical); an identical redelivery is a duplicate instead.
	CodeEventIDReused = "event_id_reused"
)

// RejectError says why a message is not a valid event. Reason is written for
// the person who has to fix the producer. It names fields and rules, never
// values: it describes a bad value by its JSON type, its length, a count or
// a byte offset, so it is safe to log, to store in clear
// (dead_letters.reason) and to show on dashboards. The one number it quotes
// is an out-of-range survey.score. An unknown enum value (a channel, a
// type) is not quoted either, even when it looks like a typo: a producer
// could send anything there. The sealed raw bytes keep the value for
// whoever may read them.
type RejectError struct {
	Code   string // one of the Code constants
	Field  string // JSON path of the offending field, or ""
	Reason string
}

func (e *RejectError) Error() string { return e.Reason }

func reject(code, field, format string, args ...any) *RejectError {
	return &RejectError{Code: code, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// enumValue describes an unknown enum value for a reason by its length
// only, as in "unknown channel (9 characters)": a phone number, an email
// address or a name sent in the wrong field is never repeated.
func enumValue(s string) string {
	if n := utf8.RuneCountInString(s); n != 1 {
		return fmt.Sprintf("(%d characters)", n)
	}
	return "(1 character)"
}
