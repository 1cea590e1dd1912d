package evolution

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
)

// The errors of this package are the two ingest understands: an
// *event.RejectError makes a message a dead letter, an *ingest.SkipError
// records it as skipped. Reasons name the Evolution event and the field, and
// never quote payload values except enum-like names (event names, statuses,
// message types), through name.

// reject returns a dead-letter error for the Evolution event ev.
func reject(code, ev, field, format string, args ...any) *event.RejectError {
	prefix := "evolution"
	if ev != "" {
		prefix += " " + ev
	}
	return &event.RejectError{Code: code, Field: field, Reason: prefix + ": " + fmt.Sprintf(format, args...)}
}

// missing is a reject for a required field that is absent or null.
func missing(ev, field string) *event.RejectError {
	return reject(event.CodeMissing, ev, field, "missing required field %s", field)
}

// wrongType is a reject for a field of the wrong JSON type.
func wrongType(ev, field, want string, got []byte) *event.RejectError {
	return reject(event.CodeWrongType, ev, field, "%s is %s, expected %s", field, jsonKind(got), want)
}

// skip returns the skip of a known event that carries nothing for the timeline.
func skip(ev, format string, args ...any) *ingest.SkipError {
	return &ingest.SkipError{Code: ingest.SkipNoTimelineEvent, EventName: ev,
		Reason: "evolution " + ev + ": " + fmt.Sprintf(format, args...)}
}

// unknownEvent returns the skip of an event name this package does not decode.
func unknownEvent(ev string) *ingest.SkipError {
	return &ingest.SkipError{Code: ingest.SkipUnknownEvent, EventName: clip(ev),
		Reason: fmt.Sprintf("evolution: event %s is not decoded (cxlake decodes %s)", name(ev), handledList)}
}

// name quotes an enum-like value (an ASCII letter, then letters, digits,
// '.', '_' or '-', at most 40 bytes) and describes anything else by its
// length, so that a phone number or a text sent in the wrong field is not
// repeated in a reason.
func name(s string) string {
	ok := s != "" && len(s) <= 40
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		ok = letter || i > 0 && ('0' <= c && c <= '9' || c == '.' || c == '_' || c == '-')
	}
	if ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("(%d characters)", utf8.RuneCountInString(s))
}

// clip bounds a name stored in skipped_messages.event_name.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64]
}

func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "absent"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
