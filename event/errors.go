package event

import "fmt"

// Reason codes of a RejectError, stable for dashboards and alerting.
const (
	CodeEmpty        = "empty_payload"
	CodeTooLarge     = "too_large"
	CodeInvalidUTF8  = "invalid_utf8"
	CodeNotJSON      = "not_json"
	CodeWrongType    = "wrong_type"
	CodeMissing      = "missing_field"
	CodeInvalidValue = "invalid_value"
	CodeUnknownType  = "unknown_type"
	CodeBadSchema    = "unsupported_schema"
	CodeBadTime      = "bad_timestamp"
	CodeSuppressed   = "suppressed"
)

// RejectError says why a message is not a valid event. Reason is written for
// the person who has to fix the producer. It never quotes identifiers or
// message text from the payload, so it is safe to log and to show on dashboards.
type RejectError struct {
	Code   string // one of the Code constants
	Field  string // JSON path of the offending field, or ""
	Reason string
}

func (e *RejectError) Error() string { return e.Reason }

func reject(code, field, format string, args ...any) *RejectError {
	return &RejectError{Code: code, Field: field, Reason: fmt.Sprintf(format, args...)}
}
