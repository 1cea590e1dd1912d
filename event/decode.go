package event

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMaxBytes is the default size limit of one message.
const DefaultMaxBytes = 256 << 10

// Decoder decodes and validates cx.event/v1 messages. The zero value uses
// DefaultMaxBytes.
type Decoder struct {
	// MaxBytes is the largest message accepted; larger ones are rejected with
	// CodeTooLarge. Zero means DefaultMaxBytes.
	MaxBytes int
}

var knownFields = map[string]bool{
	"schema": true, "event_id": true, "type": true, "occurred_at": true, "source": true,
	"channel": true, "conversation_id": true, "contact": true, "actor": true, "message": true,
	"handoff": true, "survey": true, "consent": true, "link": true,
}

var validTypes = map[string]bool{
	TypeMessage: true, TypeConversationOpened: true, TypeHandoff: true, TypeAssigned: true,
	TypeResolved: true, TypeReopened: true, TypeSurvey: true, TypeConsent: true, TypeIdentityLink: true,
}

// Channels accepted in the channel field.
var validChannels = map[string]bool{
	"whatsapp": true, "instagram": true, "telegram": true, "messenger": true, "webchat": true,
	"email": true, "sms": true, "voice": true, "app": true,
}

// needsConversation lists the types that belong to a conversation: they need a
// conversation_id and a channel.
var needsConversation = map[string]bool{
	TypeMessage: true, TypeConversationOpened: true, TypeHandoff: true, TypeAssigned: true,
	TypeResolved: true, TypeReopened: true,
}

// Decode decodes one message value. On failure the error is a *RejectError
// whose Reason tells the producer what to fix.
func (d Decoder) Decode(raw []byte) (Event, error) {
	max := d.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	// Only JSON's own whitespace is trimmed: bytes.TrimSpace would also drop
	// Unicode spaces such as U+00A0 and accept a payload that is not JSON.
	trimmed := bytes.Trim(raw, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return Event{}, reject(CodeEmpty, "", "empty payload: the message value has no bytes; send one JSON object per message")
	case len(raw) > max:
		return Event{}, reject(CodeTooLarge, "", "message is %d bytes, over the %d-byte limit; split it or raise ingest.max_message_bytes", len(raw), max)
	case !utf8.Valid(raw):
		return Event{}, reject(CodeInvalidUTF8, "", "payload is not valid UTF-8 (first bad byte at offset %d); encode text as UTF-8", firstInvalidUTF8(raw))
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return Event{}, reject(CodeNotJSON, "", "payload is not JSON; send one JSON object per message")
		}
		return Event{}, reject(CodeWrongType, "", "payload is JSON %s, expected an object", jsonKind(trimmed))
	}
	var top object
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return Event{}, reject(CodeNotJSON, "", "payload is not valid JSON: %s", syntaxHint(err))
	}
	ev := Event{Raw: raw}
	var err error
	schema, err := top.str("", "schema")
	if err != nil {
		return Event{}, err
	}
	switch schema {
	case SchemaV1:
	case "":
		return Event{}, reject(CodeMissing, "schema", `missing required field "schema"; set it to %q`, SchemaV1)
	default:
		return Event{}, reject(CodeBadSchema, "schema", "schema %q is not supported; this version reads %q", clip(schema), SchemaV1)
	}
	if ev.EventID, err = top.requiredStr("", "event_id"); err != nil {
		return Event{}, err
	}
	if len(ev.EventID) > 200 {
		return Event{}, reject(CodeInvalidValue, "event_id", "event_id is %d characters, over the limit of 200", len(ev.EventID))
	}
	if ev.Type, err = top.requiredStr("", "type"); err != nil {
		return Event{}, err
	}
	if !validTypes[ev.Type] {
		return Event{}, reject(CodeUnknownType, "type", "unknown event type %q; expected one of %s", clip(ev.Type), sortedKeys(validTypes))
	}
	if ev.OccurredAt, err = top.timestamp("occurred_at"); err != nil {
		return Event{}, err
	}
	if ev.Source, err = top.str("", "source"); err != nil {
		return Event{}, err
	}
	if ev.Channel, err = top.str("", "channel"); err != nil {
		return Event{}, err
	}
	ev.Channel = strings.ToLower(ev.Channel)
	if ev.ConversationID, err = top.str("", "conversation_id"); err != nil {
		return Event{}, err
	}
	if needsConversation[ev.Type] {
		if ev.ConversationID == "" {
			return Event{}, reject(CodeMissing, "conversation_id", "missing required field \"conversation_id\" for a %s event", ev.Type)
		}
		if ev.Channel == "" {
			return Event{}, reject(CodeMissing, "channel", "missing required field \"channel\" for a %s event; expected one of %s", ev.Type, sortedKeys(validChannels))
		}
	}
	if ev.Channel != "" && !validChannels[ev.Channel] {
		return Event{}, reject(CodeInvalidValue, "channel", "unknown channel %q; expected one of %s", clip(ev.Channel), sortedKeys(validChannels))
	}
	if err := decodeContact(top, &ev); err != nil {
		return Event{}, err
	}
	if err := decodeActor(top, &ev); err != nil {
		return Event{}, err
	}
	if err := decodeMessage(top, &ev); err != nil {
		return Event{}, err
	}
	if err := decodeHandoff(top, &ev); err != nil {
		return Event{}, err
	}
	if err := decodeSurvey(top, &ev); err != nil {
		return Event{}, err
	}
	if err := decodeConsent(top, &ev); err != nil {
		return Event{}, err
	}
	if err := decodeLink(top, &ev); err != nil {
		return Event{}, err
	}
	ev.Extra = top.extra()
	return ev, nil
}

func decodeContact(top object, ev *Event) error {
	c, err := top.object("", "contact")
	if err != nil {
		return err
	}
	if c == nil {
		return reject(CodeMissing, "contact", `missing required field "contact"; give at least one of contact.phone, contact.email or contact.ids`)
	}
	id, err := decodeIdentity(c, "contact")
	if err != nil {
		return err
	}
	if id.Empty() {
		return reject(CodeMissing, "contact", "contact has no identifier; give at least one of contact.phone, contact.email or contact.ids")
	}
	ev.Contact = id
	ev.ContactName, err = c.str("contact", "name")
	return err
}

func decodeIdentity(o object, path string) (Identity, error) {
	var id Identity
	phone, err := o.str(path, "phone")
	if err != nil {
		return id, err
	}
	if phone != "" {
		var ok bool
		if id.Phone, ok = NormalizePhone(phone); !ok {
			return id, reject(CodeInvalidValue, path+".phone", "%s.phone is not a phone number (%d characters); send E.164 such as +12025550123 or a WhatsApp JID", path, utf8.RuneCountInString(phone))
		}
	}
	email, err := o.str(path, "email")
	if err != nil {
		return id, err
	}
	if email != "" {
		var ok bool
		if id.Email, ok = NormalizeEmail(email); !ok {
			return id, reject(CodeInvalidValue, path+".email", "%s.email is not an email address (it needs one @ with text on both sides)", path)
		}
	}
	ids, err := o.object(path, "ids")
	if err != nil {
		return id, err
	}
	// Sorted, so that keys differing only in case ("Instagram", "instagram")
	// resolve the same way every time: the last in byte order, the lower-case
	// one, wins.
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := ids.str(path+".ids", k)
		if err != nil {
			return id, err
		}
		if v == "" {
			continue
		}
		if id.IDs == nil {
			id.IDs = make(map[string]string, len(ids))
		}
		id.IDs[strings.ToLower(k)] = v
	}
	return id, nil
}

func decodeActor(top object, ev *Event) error {
	a, err := top.object("", "actor")
	if err != nil {
		return err
	}
	if a == nil {
		if ev.Type == TypeMessage {
			return reject(CodeMissing, "actor", `missing required field "actor" for a message event; set actor.kind to customer, bot, agent or system`)
		}
		return nil
	}
	if ev.Actor.Kind, err = a.str("actor", "kind"); err != nil {
		return err
	}
	if ev.Actor.ID, err = a.str("actor", "id"); err != nil {
		return err
	}
	if ev.Actor.Team, err = a.str("actor", "team"); err != nil {
		return err
	}
	switch ev.Actor.Kind {
	case "customer", "bot", "agent", "system":
	case "":
		if ev.Type == TypeMessage {
			return reject(CodeMissing, "actor.kind", `missing required field "actor.kind" for a message event; expected customer, bot, agent or system`)
		}
	default:
		return reject(CodeInvalidValue, "actor.kind", "unknown actor.kind %q; expected customer, bot, agent or system", clip(ev.Actor.Kind))
	}
	return nil
}

func decodeMessage(top object, ev *Event) error {
	m, err := top.object("", "message")
	if err != nil {
		return err
	}
	if m == nil {
		if ev.Type == TypeMessage {
			return reject(CodeMissing, "message", `missing required field "message" for a message event`)
		}
		return nil
	}
	msg := &Message{}
	if msg.Direction, err = m.str("message", "direction"); err != nil {
		return err
	}
	if msg.Text, err = m.str("message", "text"); err != nil {
		return err
	}
	if msg.Private, err = m.boolean("message", "private"); err != nil {
		return err
	}
	if msg.Intent, err = m.str("message", "intent"); err != nil {
		return err
	}
	switch msg.Direction {
	case "inbound", "outbound":
	case "":
		// Derived from the actor when absent: only customers write inbound.
		msg.Direction = "outbound"
		if ev.Actor.Kind == "customer" {
			msg.Direction = "inbound"
		}
	default:
		return reject(CodeInvalidValue, "message.direction", "unknown message.direction %q; expected inbound or outbound", clip(msg.Direction))
	}
	ev.Message = msg
	return nil
}

func decodeHandoff(top object, ev *Event) error {
	h, err := top.object("", "handoff")
	if err != nil || h == nil {
		return err
	}
	ho := &Handoff{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"reason", &ho.Reason}, {"to_team", &ho.ToTeam}, {"summary", &ho.Summary}, {"next_action", &ho.NextAction}, {"owner", &ho.Owner}} {
		if *f.dst, err = h.str("handoff", f.name); err != nil {
			return err
		}
	}
	fields, err := h.object("handoff", "fields")
	if err != nil {
		return err
	}
	if fields != nil {
		ho.Fields = h["fields"]
	}
	if ho.SLASeconds, err = h.integer("handoff", "sla_seconds"); err != nil {
		return err
	}
	ev.Handoff = ho
	return nil
}

func decodeSurvey(top object, ev *Event) error {
	s, err := top.object("", "survey")
	if err != nil {
		return err
	}
	if s == nil {
		if ev.Type == TypeSurvey {
			return reject(CodeMissing, "survey", `missing required field "survey" for a survey event; give survey.kind (csat or nps) and survey.score`)
		}
		return nil
	}
	sv := &Survey{}
	if sv.Kind, err = s.requiredStr("survey", "kind"); err != nil {
		return err
	}
	score, err := s.integer("survey", "score")
	if err != nil {
		return err
	}
	if score == nil {
		return reject(CodeMissing, "survey.score", `missing required field "survey.score"`)
	}
	switch sv.Kind {
	case "csat":
		if *score < 1 || *score > 5 {
			return reject(CodeInvalidValue, "survey.score", "csat score %d is out of range; expected 1 to 5", *score)
		}
	case "nps":
		if *score < 0 || *score > 10 {
			return reject(CodeInvalidValue, "survey.score", "nps score %d is out of range; expected 0 to 10", *score)
		}
	default:
		return reject(CodeInvalidValue, "survey.kind", "unknown survey.kind %q; expected csat or nps", clip(sv.Kind))
	}
	sv.Score = int(*score) // in range, so no truncation where int is 32 bits
	if sv.Comment, err = s.str("survey", "comment"); err != nil {
		return err
	}
	ev.Survey = sv
	return nil
}

func decodeConsent(top object, ev *Event) error {
	c, err := top.object("", "consent")
	if err != nil {
		return err
	}
	if c == nil {
		if ev.Type == TypeConsent {
			return reject(CodeMissing, "consent", `missing required field "consent" for a consent event; give consent.purpose and consent.granted`)
		}
		return nil
	}
	cs := &Consent{}
	if cs.Purpose, err = c.requiredStr("consent", "purpose"); err != nil {
		return err
	}
	if _, ok := c["granted"]; !ok || isNull(c["granted"]) {
		return reject(CodeMissing, "consent.granted", `missing required field "consent.granted" (true or false)`)
	}
	if cs.Granted, err = c.boolean("consent", "granted"); err != nil {
		return err
	}
	if cs.Basis, err = c.str("consent", "basis"); err != nil {
		return err
	}
	if cs.Source, err = c.str("consent", "source"); err != nil {
		return err
	}
	ev.Consent = cs
	return nil
}

func decodeLink(top object, ev *Event) error {
	l, err := top.object("", "link")
	if err != nil {
		return err
	}
	if l == nil {
		if ev.Type == TypeIdentityLink {
			return reject(CodeMissing, "link", `missing required field "link" for an identity_link event; give the identifiers that belong to the same person`)
		}
		return nil
	}
	id, err := decodeIdentity(l, "link")
	if err != nil {
		return err
	}
	if id.Empty() {
		if ev.Type == TypeIdentityLink {
			return reject(CodeMissing, "link", "link has no identifier; give at least one of link.phone, link.email or link.ids")
		}
		return nil
	}
	ev.Link = &id
	return nil
}

// timestamp parses an RFC 3339 time that must carry an offset and returns it in UTC.
func (o object) timestamp(name string) (time.Time, error) {
	s, err := o.requiredStr("", name)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return time.Time{}, reject(CodeBadTime, name, "%s has no UTC offset; send RFC 3339 with Z or ±hh:mm, e.g. 2026-11-21T14:03:05-03:00", name)
		}
	}
	return time.Time{}, reject(CodeBadTime, name, "%s is not an RFC 3339 timestamp; send e.g. 2026-11-21T14:03:05-03:00", name)
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

func sortedKeys(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// clip shortens an enum-like value quoted in a reason. Enum fields hold no
// personal data, but a producer could put anything there; 32 characters is
// enough to recognise a typo.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 32 {
		return s
	}
	r := []rune(s)
	return string(r[:32]) + "…"
}
