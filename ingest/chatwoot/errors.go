package chatwoot

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
)

// The errors of this package are the two ingest understands: an
// *event.RejectError makes a message a dead letter, an *ingest.SkipError
// records it as skipped. Reasons name the Chatwoot event and the field, and
// never quote payload values except enum-like names (event names, statuses,
// channel types), through name.

func reject(code, ev, field, format string, args ...any) *event.RejectError {
	prefix := "chatwoot"
	if ev != "" {
		prefix += " " + ev
	}
	return &event.RejectError{Code: code, Field: field, Reason: prefix + ": " + fmt.Sprintf(format, args...)}
}

func missing(ev, field string) *event.RejectError {
	return reject(event.CodeMissing, ev, field, "missing required field %s", field)
}

func skip(ev, format string, args ...any) *ingest.SkipError {
	return &ingest.SkipError{Code: ingest.SkipNoTimelineEvent, EventName: ev,
		Reason: "chatwoot " + ev + ": " + fmt.Sprintf(format, args...)}
}

func unknownEvent(ev string) *ingest.SkipError {
	if len(ev) > 64 {
		ev = ev[:64]
	}
	return &ingest.SkipError{Code: ingest.SkipUnknownEvent, EventName: ev,
		Reason: fmt.Sprintf("chatwoot: event %s is not decoded (cxlake decodes %s)", name(ev), handledList)}
}

// name quotes an enum-like value (an ASCII letter, then letters, digits,
// ':', '.', '_' or '-', at most 40 bytes) and describes anything else by its
// length, so that personal data sent in the wrong field is not repeated.
func name(s string) string {
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
