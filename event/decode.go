package event

import (
	"bytes"
	"slices"
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
	// Now is the ingest clock occurred_at is judged against; nil means
	// time.Now. The models' "now" is the same clock, never the latest event.
	Now func() time.Time
	// MaxFutureSkew is how far ahead of Now an occurred_at may lie (producers'
	// clocks drift); later ones are rejected with CodeFutureTime. Zero means
	// DefaultMaxFutureSkew.
	MaxFutureSkew time.Duration
}

// DefaultMaxFutureSkew is the default of Decoder.MaxFutureSkew
// (ingest.max_future_skew).
const DefaultMaxFutureSkew = 5 * time.Minute

// MinOccurredAt is the earliest occurred_at accepted: nothing of customer
// service in this warehouse predates it, and a year 1 or 0001 is a
// producer's zero value, not a time.
var MinOccurredAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// The values of the enum fields, each list sorted, as reasons quote it.
var (
	eventTypes = []string{
		TypeAssigned, TypeConsent, TypeConversationOpened, TypeHandoff, TypeIdentityLink,
		TypeMessage, TypeReopened, TypeResolved, TypeSurvey,
	}
	channels    = []string{"app", "email", "instagram", "messenger", "sms", "telegram", "voice", "webchat", "whatsapp"}
	actorKinds  = []string{"agent", "bot", "customer", "system"}
	directions  = []string{"inbound", "outbound"}
	surveyKinds = []string{"csat", "nps"}
)

// needsConversation reports whether events of type typ belong to a
// conversation: they need a conversation_id and a channel.
func needsConversation(typ string) bool {
	switch typ {
	case TypeMessage, TypeConversationOpened, TypeHandoff, TypeAssigned, TypeResolved, TypeReopened:
		return true
	}
	return false
}

// Decode decodes one message value. On failure the error is a *RejectError
// whose Reason tells the producer what to fix.
//
// The returned Event shares no memory with raw except Raw, which is raw. Its
// strings share one buffer, so Decode allocates only a few times per event.
func (dec Decoder) Decode(raw []byte) (Event, error) {
	max := dec.MaxBytes
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
		if !validJSON(trimmed) {
			return Event{}, reject(CodeNotJSON, "", "payload is not JSON; send one JSON object per message")
		}
		return Event{}, reject(CodeWrongType, "", "payload is JSON %s, expected an object", value(trimmed).kind())
	}
	// One pass checks the syntax of the whole message and splits it into
	// members; the fields are then decoded one by one, in a fixed order, so
	// that a message with several problems always reports the same one.
	//
	// top points into nested, which lives on the stack only as long as top
	// is kept out of d: escape analysis does not tell d's fields apart, and
	// d's strings do reach the heap.
	var nested [16]member // enough for the members of most messages' objects
	top, err := parseTop(trimmed, nested[:0])
	if err != nil {
		// The byte offset counts from the first non-whitespace byte.
		return Event{}, reject(CodeNotJSON, "", "payload is not valid JSON: %v", err)
	}
	d := decoder{ev: Event{Raw: raw}}
	if err := d.decode(&top); err != nil {
		return Event{}, err
	}
	if err := dec.inRange(d.ev.OccurredAt); err != nil {
		return Event{}, err
	}
	return d.ev, nil
}

// inRange checks occurred_at against the accepted range: from MinOccurredAt
// to the ingest clock plus the allowed skew. It runs after every other
// check, so a message with several problems reports the same one as before.
func (dec Decoder) inRange(t time.Time) error {
	now := time.Now
	if dec.Now != nil {
		now = dec.Now
	}
	skew := dec.MaxFutureSkew
	if skew <= 0 {
		skew = DefaultMaxFutureSkew
	}
	if t.Before(MinOccurredAt) {
		return reject(CodeTimeOutOfRange, "occurred_at", "occurred_at is before %s, the earliest time accepted; send the time the event happened", MinOccurredAt.Format("2006-01-02"))
	}
	if t.After(now().Add(skew)) {
		return reject(CodeFutureTime, "occurred_at", "occurred_at is more than %s ahead of the ingest clock; fix the producer's clock, or raise ingest.max_future_skew", skew)
	}
	return nil
}

// decode decodes the members of top into d.ev.
func (d *decoder) decode(top *topLevel) error {
	if err := d.header(top); err != nil {
		return err
	}
	if err := d.contact(top); err != nil {
		return err
	}
	if err := d.actor(top); err != nil {
		return err
	}
	if err := d.message(top); err != nil {
		return err
	}
	if err := d.handoff(top); err != nil {
		return err
	}
	if err := d.survey(top); err != nil {
		return err
	}
	if err := d.consent(top); err != nil {
		return err
	}
	if err := d.link(top); err != nil {
		return err
	}
	d.ev.Extra = top.extra()
	return nil
}

// decoder is the state of one Decode call: the event decoded so far, and the
// memory of its strings.
type decoder struct {
	ev Event
	strs
}

// header decodes the fields of the top level that are not objects.
func (d *decoder) header(top *topLevel) error {
	ev := &d.ev
	schema, ok := top.schema.text()
	if !ok {
		return wrongType("", "schema", "a string", top.schema)
	}
	switch string(schema) {
	case SchemaV1:
	case "":
		return reject(CodeMissing, "schema", `missing required field "schema"; set it to %q`, SchemaV1)
	default:
		return reject(CodeBadSchema, "schema", "schema %s is not supported; this version reads %q", enumValue(string(schema)), SchemaV1)
	}
	var err error
	if ev.EventID, err = d.requiredStr(top.eventID, "", "event_id"); err != nil {
		return err
	}
	if len(ev.EventID) > 200 {
		return reject(CodeInvalidValue, "event_id", "event_id is %d bytes, over the limit of 200 bytes", len(ev.EventID))
	}
	if ev.Type, err = top.typ.requiredEnum("", "type", eventTypes); err != nil {
		return err
	}
	if !slices.Contains(eventTypes, ev.Type) {
		return reject(CodeUnknownType, "type", "unknown event type %s; expected one of %s", enumValue(ev.Type), strings.Join(eventTypes, ", "))
	}
	if ev.OccurredAt, err = timestamp(top.occurredAt, "occurred_at"); err != nil {
		return err
	}
	if ev.Source, err = d.str(top.source, "", "source"); err != nil {
		return err
	}
	channel, ok := top.channel.text()
	if !ok {
		return wrongType("", "channel", "a string", top.channel)
	}
	ev.Channel = lower(channel)
	if ev.ConversationID, err = d.str(top.conversationID, "", "conversation_id"); err != nil {
		return err
	}
	if needsConversation(ev.Type) {
		if ev.ConversationID == "" {
			return reject(CodeMissing, "conversation_id", "missing required field \"conversation_id\" for a %s event", ev.Type)
		}
		if ev.Channel == "" {
			return reject(CodeMissing, "channel", "missing required field \"channel\" for a %s event; expected one of %s", ev.Type, strings.Join(channels, ", "))
		}
	}
	if ev.Channel != "" && !slices.Contains(channels, ev.Channel) {
		return reject(CodeInvalidValue, "channel", "unknown channel %s; expected one of %s", enumValue(ev.Channel), strings.Join(channels, ", "))
	}
	return nil
}

// lower lower-cases b as strings.ToLower does, without allocating when b
// already is one of channels: a channel, or the key of an id.
func lower(b []byte) string {
	for _, c := range channels {
		if string(b) == c {
			return c
		}
	}
	return strings.ToLower(string(b))
}

// timestamp parses an RFC 3339 time that must carry an offset and returns it in UTC.
func timestamp(v value, name string) (time.Time, error) {
	b, ok := v.text()
	if !ok {
		return time.Time{}, wrongType("", name, "a string", v)
	}
	if len(b) == 0 {
		return time.Time{}, missing("", name)
	}
	s := rfc3339Canonical(string(b))
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t.UTC(), nil
	}
	if t, ok := leapSecond(s); ok {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return time.Time{}, reject(CodeBadTime, name, "%s has no UTC offset; send RFC 3339 with Z or ±hh:mm, e.g. 2026-11-21T14:03:05-03:00", name)
		}
	}
	return time.Time{}, reject(CodeBadTime, name, "%s is not an RFC 3339 timestamp; send e.g. 2026-11-21T14:03:05-03:00", name)
}

// rfc3339Canonical returns s with the forms RFC 3339 allows and Go's parser
// does not: a lower-case "t" separator or "z" offset (RFC 3339 §5.6 NOTE),
// and a space for the "T" (the same NOTE; PostgreSQL prints times so).
func rfc3339Canonical(s string) string {
	if len(s) < 20 {
		return s
	}
	if c := s[10]; c == 't' || c == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if s[len(s)-1] == 'z' {
		s = s[:len(s)-1] + "Z"
	}
	return s
}

// leapSecond parses an RFC 3339 time whose seconds are 60, a leap second,
// which Go's parser refuses: it stands for the last instant before the next
// minute, hh:mm:59.999999999.
func leapSecond(s string) (time.Time, bool) {
	if len(s) < 20 || s[16] != ':' || s[17:19] != "60" || s[14:16] != "59" {
		return time.Time{}, false
	}
	rest := s[19:]
	if len(rest) > 0 && rest[0] == '.' { // a fraction of the leap second
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		rest = rest[i:]
	}
	t, err := time.Parse(time.RFC3339Nano, s[:17]+"59.999999999"+rest)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
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
