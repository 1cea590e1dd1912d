package ingest

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/cxlake/cxlake/event"
)

// SourceReasons builds the two errors a source decoder returns, for the
// source it names: an *event.RejectError makes a message a dead letter, a
// *SkipError records it as skipped. Reasons name the source's event and the
// field, and never quote payload values except enum-like names, through
// QuoteName.
type SourceReasons struct {
	Source  string // "chatwoot", "evolution"
	Handled string // the event names the source decodes, for unknown ones
}

// Reject is a dead-letter error for the source's event ev ("" when unknown).
func (s SourceReasons) Reject(code, ev, field, format string, args ...any) *event.RejectError {
	prefix := s.Source
	if ev != "" {
		prefix += " " + ev
	}
	return &event.RejectError{Code: code, Field: field, Reason: prefix + ": " + fmt.Sprintf(format, args...)}
}

// Missing is a Reject for a required field that is absent or null.
func (s SourceReasons) Missing(ev, field string) *event.RejectError {
	return s.Reject(event.CodeMissing, ev, field, "missing required field %s", field)
}

// WrongType is a Reject for a field of the wrong JSON type.
func (s SourceReasons) WrongType(ev, field, want string, got []byte) *event.RejectError {
	return s.Reject(event.CodeWrongType, ev, field, "%s is %s, expected %s", field, JSONKind(got), want)
}

// Skip is the skip of a known event that carries nothing for the timeline.
func (s SourceReasons) Skip(ev, format string, args ...any) *SkipError {
	return &SkipError{Code: SkipNoTimelineEvent, EventName: ev,
		Reason: s.Source + " " + ev + ": " + fmt.Sprintf(format, args...)}
}

// UnknownEvent is the skip of an event name the source's decoder does not
// decode; the name kept in skipped_messages is clipped to 64 bytes.
func (s SourceReasons) UnknownEvent(ev string) *SkipError {
	kept := ev
	if len(kept) > 64 {
		kept = kept[:64]
	}
	return &SkipError{Code: SkipUnknownEvent, EventName: kept,
		Reason: fmt.Sprintf("%s: event %s is not decoded (cxlake decodes %s)", s.Source, QuoteName(ev), s.Handled)}
}

// QuoteName quotes an enum-like value (an ASCII letter, then letters,
// digits, ':', '.', '_' or '-', at most 40 bytes, as in "Channel::Whatsapp"
// or "messages.upsert") and describes anything else by its length, so that
// a phone number or a text sent in the wrong field is not repeated.
func QuoteName(s string) string {
	ok := s != "" && len(s) <= 40
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		ok = letter || i > 0 && ('0' <= c && c <= '9' || c == ':' || c == '.' || c == '_' || c == '-')
	}
	if ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("(%d characters)", utf8.RuneCountInString(s))
}

// JSONKind describes a JSON value by its kind ("an object", "a string",
// ...), for reasons that must not quote the value.
func JSONKind(b []byte) string {
	b = bytes.TrimSpace(b)
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
