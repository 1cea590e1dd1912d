package ingest

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cxlake/cxlake/event"
)

// SourceReasons builds the two errors a source decoder returns, for the
// source it names: an *event.RejectError makes a message a dead letter, a
// *SkipError records it as skipped. Reasons name the source's event and the
// field, and never quote payload values: QuoteName quotes only the names
// upstream defines (its event names, statuses, channel types).
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
// decode. skipped_messages keeps the name when it is one upstream defines
// (QuoteName), else its length only.
func (s SourceReasons) UnknownEvent(ev string) *SkipError {
	return &SkipError{Code: SkipUnknownEvent, EventName: QuoteName(ev),
		Reason: fmt.Sprintf("%s: event %s is not decoded (cxlake decodes %s)", s.Source, QuoteName(ev), s.Handled)}
}

// upstreamNames are the names Chatwoot and Evolution API define for their
// webhook and Kafka events, statuses and types, which a reason may quote:
// they are the sources' vocabulary, not a person's data. Chatwoot:
// lib/webhooks/trigger.rb and the models' enums; Evolution API v2:
// src/api/integrations/event/event.manager.ts and the Baileys statuses.
var upstreamNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`
		conversation_created conversation_status_changed conversation_updated conversation_typing_on
		conversation_typing_off message_created message_updated webwidget_triggered contact_created
		contact_updated inbox_created inbox_updated
		open pending resolved snoozed incoming outgoing activity template
		application.startup qrcode.updated connection.update messages.set messages.upsert messages.edited
		messages.update messages.delete send.message send.message.update contacts.set contacts.upsert
		contacts.update presence.update chats.set chats.update chats.upsert chats.delete groups.upsert
		groups.update group.participants.update call typebot.start typebot.change-status labels.edit
		labels.association logout.instance remove.instance instance.create instance.delete status.instance
		offer ringing timeout reject accept terminate
		ERROR PENDING SERVER_ACK DELIVERY_ACK READ PLAYED DELETED`) {
		upstreamNames[n] = true
	}
}

// QuoteName quotes a value only when it is a name upstream defines: one of
// upstreamNames, a Chatwoot channel type ("Channel::Whatsapp"), a WhatsApp
// message type ("reactionMessage"), or a number of at most 6 digits (an
// inbox id, a status code: too short for a phone number). Anything else is
// described by its length, so that a phone number, a handle or a text sent
// in the wrong field is never repeated.
func QuoteName(s string) string {
	if upstreamNames[s] || channelTypeRE.MatchString(s) || messageTypeRE.MatchString(s) || shortNumberRE.MatchString(s) {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("(%d characters)", utf8.RuneCountInString(s))
}

var (
	channelTypeRE = regexp.MustCompile(`^Channel::[A-Z][A-Za-z]{1,30}$`)
	messageTypeRE = regexp.MustCompile(`^[a-z][a-zA-Z]{1,40}Message$`)
	shortNumberRE = regexp.MustCompile(`^[0-9]{1,6}$`)
)

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
