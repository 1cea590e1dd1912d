package chatwoot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

// Decoder is the Chatwoot ingest.Source: it decodes the webhook payloads the
// Handler published. It keeps no state, so a replay gives the same events.
type Decoder struct {
	cfg      Config
	maxBytes int
	canon    event.Decoder
}

// New returns a decoder for cfg (which must be valid). canon holds the
// checks of the canonical event every decoded event passes (its size limit,
// ingest.max_message_bytes, and clock, ingest.max_future_skew); payloads
// larger than its MaxBytes become too_large dead letters.
func New(cfg Config, canon event.Decoder) *Decoder {
	if canon.MaxBytes <= 0 {
		canon.MaxBytes = event.DefaultMaxBytes
	}
	return &Decoder{cfg: cfg.WithDefaults(), maxBytes: canon.MaxBytes, canon: canon}
}

// Name is "chatwoot".
func (d *Decoder) Name() string { return "chatwoot" }

// Topics is the one topic the webhook endpoint publishes to.
func (d *Decoder) Topics() []string { return []string{d.cfg.Topic} }

// Decode implements ingest.Source.
func (d *Decoder) Decode(msgs []ingest.Message) []ingest.Outcome {
	out := make([]ingest.Outcome, len(msgs))
	for i, m := range msgs {
		stored := withoutTokens(m.Value)
		evs, revs, err := d.decode(m)
		if err == nil {
			for j := range evs {
				if evs[j], err = d.validate(evs[j], stored); err != nil {
					break
				}
			}
		}
		if err != nil {
			out[i] = ingest.Outcome{Err: err, Stored: stored}
			continue
		}
		out[i].Events, out[i].Revisions = evs, revs
	}
	return out
}

// decode reads one webhook payload: its events, or, for a deleted message,
// the revision that deletes the stored one.
func (d *Decoder) decode(m ingest.Message) ([]event.Event, []warehouse.Revision, error) {
	trimmed := bytes.TrimSpace(m.Value)
	switch {
	case len(trimmed) == 0:
		return nil, nil, reasons.Reject(event.CodeEmpty, "", "", "empty payload: the message value has no bytes")
	case len(m.Value) > d.maxBytes:
		return nil, nil, reasons.Reject(event.CodeTooLarge, "", "", "payload is %d bytes, over the %d-byte limit; raise ingest.max_message_bytes", len(m.Value), d.maxBytes)
	case !utf8.Valid(m.Value):
		return nil, nil, reasons.Reject(event.CodeInvalidUTF8, "", "", "payload is not valid UTF-8")
	case trimmed[0] != '{':
		return nil, nil, reasons.Reject(event.CodeNotJSON, "", "", "payload is not a JSON object; Chatwoot sends one object per webhook")
	}
	var head struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(trimmed, &head); err != nil {
		return nil, nil, jsonError("", err)
	}
	ev := head.Event
	switch ev {
	case "":
		return nil, nil, reasons.Missing("", "event")
	case "message_created", "message_updated":
		var p message
		if err := json.Unmarshal(trimmed, &p); err != nil {
			return nil, nil, jsonError(ev, err)
		}
		if rev, ok, err := deletion(ev, &p, m.Time); ok || err != nil {
			if err != nil {
				return nil, nil, err
			}
			return nil, []warehouse.Revision{rev}, nil
		}
		evs, err := d.message(ev, &p, m.Time)
		return evs, nil, err
	case "conversation_created", "conversation_status_changed", "conversation_updated",
		"conversation_opened", "conversation_resolved": // the last two: older names of status changes
		var p conversation
		if err := json.Unmarshal(trimmed, &p); err != nil {
			return nil, nil, jsonError(ev, err)
		}
		evs, err := d.conversation(ev, &p, m.Time)
		return evs, nil, err
	case "contact_created", "contact_updated":
		var p contact
		if err := json.Unmarshal(trimmed, &p); err != nil {
			return nil, nil, jsonError(ev, err)
		}
		evs, err := d.contact(ev, &p, m.Time)
		return evs, nil, err
	}
	return nil, nil, reasons.UnknownEvent(ev)
}

// jsonError turns encoding/json's errors into rejects that name the field
// and never quote the payload.
func jsonError(ev string, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		value := te.Value
		switch value { // encoding/json's own words for a JSON kind
		case "object", "array", "string", "number", "bool":
			value = "a JSON " + value
		}
		return reasons.Reject(event.CodeWrongType, ev, te.Field, "%s is %s, which Chatwoot does not send there", te.Field, value)
	case errors.As(err, &se):
		return reasons.Reject(event.CodeNotJSON, ev, "", "payload is not valid JSON (at byte %d)", se.Offset)
	}
	return reasons.Reject(event.CodeNotJSON, ev, "", "payload is not valid JSON")
}

// validate passes e through the canonical encoder and decoder, so that it
// meets every rule of cx.event/v1 and is normalized like a canonical event.
func (d *Decoder) validate(e event.Event, stored []byte) (event.Event, error) {
	b, err := event.Encode(&e)
	if err != nil {
		return e, reasons.Reject(event.CodeInvalidValue, "", "", "cannot encode the decoded event: %v", err)
	}
	out, err := d.canon.Decode(b)
	if err != nil {
		var re *event.RejectError
		if errors.As(err, &re) {
			return e, &event.RejectError{Code: re.Code, Field: re.Field,
				Reason: fmt.Sprintf("chatwoot: the decoded event is not valid cx.event/v1: %s", re.Reason)}
		}
		return e, err
	}
	out.Raw = stored
	return out, nil
}

// Chatwoot includes the contact's pubsub_token (the key of its live-chat
// websocket subscription: whoever holds it reads the contact's
// conversation live) with every contact it sends. It is a credential: the
// webhook republishes a payload without it, and a dead letter keeps it
// without it. withoutTokens replaces the value of every member named
// pubsub_token, at any depth, whatever the JSON escapes spell its name
// with ("pubsub\u005ftoken"), with "[redacted]". Payloads that are not
// JSON are handled the same way, member by member.

// jsonString finds JSON string literals, which the scan takes in order, so
// that a quote inside a string never starts one.
var jsonString = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// memberValue finds the value after a key's colon: a string, or any other
// scalar up to the next comma or brace.
var memberValue = regexp.MustCompile(`^\s*:\s*(?:"(?:[^"\\]|\\.)*"|[^,}\]\s{\[][^,}\]\s]*)`)

const tokenKey = "pubsub_token"

func withoutTokens(raw []byte) []byte {
	if !bytes.Contains(raw, []byte("pubsub")) && !bytes.Contains(raw, []byte(`\u`)) {
		return raw
	}
	var out []byte
	last := 0
	for _, loc := range jsonString.FindAllIndex(raw, -1) {
		if loc[0] < last {
			continue // inside a value already redacted
		}
		var key string
		if json.Unmarshal(raw[loc[0]:loc[1]], &key) != nil || key != tokenKey {
			continue
		}
		v := memberValue.FindIndex(raw[loc[1]:])
		if v == nil {
			continue // not a key
		}
		if out == nil {
			out = make([]byte, 0, len(raw))
		}
		out = append(out, raw[last:loc[1]]...)
		out = append(out, `:"[redacted]"`...)
		last = loc[1] + v[1]
	}
	if out == nil {
		return raw
	}
	return append(out, raw[last:]...)
}

// extra is what a Chatwoot event keeps in the events table's extra column.
type extra struct {
	Event       string `json:"event"`
	InboxID     string `json:"inbox_id,omitempty"`
	MessageType string `json:"message_type,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Status      string `json:"status,omitempty"`
}

func (x extra) raw() json.RawMessage {
	b, _ := json.Marshal(map[string]extra{"chatwoot": x}) // cannot fail: strings only
	return b
}

// conversationID is unique in a Chatwoot installation: display ids are
// unique within an account, inbox ids across accounts.
func conversationID(c *conversation) string {
	return "chatwoot:" + string(c.InboxID) + ":" + string(c.ID)
}

// base returns the event fields every conversation event shares: source,
// channel, conversation and contact.
func (d *Decoder) base(ev, path string, c *conversation, fallback *party) (event.Event, error) {
	if c == nil {
		return event.Event{}, reasons.Missing(ev, path)
	}
	if c.ID == "" {
		return event.Event{}, reasons.Missing(ev, join(path, "id"))
	}
	if c.InboxID == "" {
		return event.Event{}, reasons.Missing(ev, join(path, "inbox_id"))
	}
	ch, err := d.channelOf(ev, c)
	if err != nil {
		return event.Event{}, err
	}
	who := c.Meta.Sender
	if who == nil || who.ID == "" {
		who = fallback
	}
	if who == nil || who.ID == "" {
		return event.Event{}, reasons.Missing(ev, join(path, "meta.sender"))
	}
	return event.Event{Source: "chatwoot", Channel: ch, ConversationID: conversationID(c),
		Contact: identityOf(who), ContactName: who.Name}, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// occurred picks the first time that is set, else the Kafka timestamp.
func occurred(ev string, kafka time.Time, times ...time.Time) (time.Time, error) {
	for _, t := range times {
		if !t.IsZero() {
			return t, nil
		}
	}
	if !kafka.IsZero() {
		return kafka.UTC(), nil
	}
	return time.Time{}, reasons.Reject(event.CodeBadTime, ev, "", "the payload carries no time and the Kafka record has no timestamp")
}
