package event

import (
	"fmt"
	"strconv"
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
)

// RejectError says why a message is not a valid event. Reason is written for
// the person who has to fix the producer. It never quotes identifiers, names
// or message text from the payload, so it is safe to log and to show on
// dashboards. It describes a bad value by its JSON type, its length or a byte
// offset, and quotes payload content in three cases only:
//
//   - an unknown value of an enum field (schema, type, channel, actor.kind,
//     message.direction, survey.kind), when it looks like an enum value: an
//     ASCII letter followed by ASCII letters, digits, '_', '.', '/' or '-'.
//     It is clipped to 32 characters. Any other value is described by its
//     length, as in "unknown channel (9 characters)".
//   - the key of a contact.ids or link.ids member that is not a string,
//     clipped to 32 characters, in Field as well as in Reason.
//   - an out-of-range survey.score, which is a number.
type RejectError struct {
	Code   string // one of the Code constants
	Field  string // JSON path of the offending field, or ""
	Reason string
}

func (e *RejectError) Error() string { return e.Reason }

func reject(code, field, format string, args ...any) *RejectError {
	return &RejectError{Code: code, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// clip shortens a value quoted in a reason to 32 characters. Enum fields and
// id keys hold no personal data, but a producer could put anything there; 32
// characters are enough to recognise a typo.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 32 {
		return s
	}
	r := []rune(s)
	return string(r[:32]) + "…"
}

// enumValue describes an unknown enum value for a reason: quoted and clipped
// when it looks like an enum value, by its length otherwise, so that a phone
// number, an email address or a sentence sent in the wrong field is not
// repeated.
func enumValue(s string) string {
	if looksLikeEnum(s) {
		return strconv.Quote(clip(s))
	}
	if n := utf8.RuneCountInString(s); n != 1 {
		return fmt.Sprintf("(%d characters)", n)
	}
	return "(1 character)"
}

// looksLikeEnum reports whether s is an ASCII letter followed by ASCII
// letters, digits, '_', '.', '/' or '-', like "whatsapp" or "cx.event/v2".
// Digits alone (a phone number) and anything with '@', '+' or a space do not.
func looksLikeEnum(s string) bool {
	for i := range len(s) {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		switch {
		case letter:
		case i == 0:
			return false
		case '0' <= c && c <= '9', c == '_', c == '.', c == '/', c == '-':
		default:
			return false
		}
	}
	return s != ""
}
