package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

// Distinctive personal data. No RejectError may ever quote these.
const (
	piiPhone  = "+5511987654321"
	piiDigits = "5511987654321"
	piiEmail  = "ana@example.com"
	piiName   = "Ana Souza"
	piiText   = "Meu pedido 1234"
)

// designExample is the example of DESIGN.md, "The canonical event", verbatim.
const designExample = `{
  "schema": "cx.event/v1",
  "event_id": "01JD3W8Q9S4XKZ7V2M6N8P0R5T",
  "type": "message",
  "occurred_at": "2026-11-21T14:03:05.123-03:00",
  "source": "chatwoot",
  "channel": "whatsapp",
  "conversation_id": "wa-8842",
  "contact": {"phone": "+5511987654321", "email": "ana@example.com",
              "ids": {"instagram": "ana.s", "webchat": "c0ffee-42"}, "name": "Ana Souza"},
  "actor": {"kind": "customer", "id": "", "team": ""},
  "message": {"direction": "inbound", "text": "Meu pedido 1234 não chegou", "private": false, "intent": "order_status"},
  "handoff": null, "survey": null, "consent": null, "link": null
}`

// baseEvent returns a fresh, valid event of type typ as a JSON tree, with the
// sub-object that type needs. Tests change it with mods and encode it with build.
func baseEvent(typ string) map[string]any {
	m := map[string]any{
		"schema":          "cx.event/v1",
		"event_id":        "01JD3W8Q9S4XKZ7V2M6N8P0R5T",
		"type":            typ,
		"occurred_at":     "2026-11-21T14:03:05.123-03:00",
		"source":          "chatwoot",
		"channel":         "whatsapp",
		"conversation_id": "wa-8842",
		"contact": map[string]any{
			"phone": piiPhone,
			"email": piiEmail,
			"name":  piiName,
			"ids":   map[string]any{"instagram": "ana.s"},
		},
		"actor": map[string]any{"kind": "customer"},
	}
	switch typ {
	case event.TypeMessage:
		m["message"] = map[string]any{"direction": "inbound", "text": piiText + " não chegou", "private": false}
	case event.TypeHandoff:
		m["actor"] = map[string]any{"kind": "bot", "id": "bot-1"}
		m["handoff"] = map[string]any{"reason": "order_issue", "summary": "late order", "fields": map[string]any{"order": "1234"}}
	case event.TypeSurvey:
		m["survey"] = map[string]any{"kind": "csat", "score": 4}
	case event.TypeConsent:
		m["consent"] = map[string]any{"purpose": "analytics", "granted": true}
	case event.TypeIdentityLink:
		m["link"] = map[string]any{"email": "ana.s@example.org"}
	}
	return m
}

type mod func(map[string]any)

// set sets the member at a dotted path, creating objects on the way.
func set(p string, v any) mod {
	return func(m map[string]any) {
		keys := strings.Split(p, ".")
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}
}

// del removes the member at a dotted path.
func del(p string) mod {
	return func(m map[string]any) {
		keys := strings.Split(p, ".")
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				return
			}
			m = next
		}
		delete(m, keys[len(keys)-1])
	}
}

func build(t testing.TB, typ string, mods ...mod) []byte {
	t.Helper()
	m := baseEvent(typ)
	for _, f := range mods {
		f(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, raw []byte) event.Event {
	t.Helper()
	ev, err := event.Decoder{}.Decode(raw)
	if err != nil {
		t.Fatalf("Decode: %v\npayload: %s", err, raw)
	}
	return ev
}

type rejectCase struct {
	name   string
	dec    event.Decoder
	raw    []byte
	code   string
	field  string
	reason []string // substrings the Reason must contain, the hint that makes it actionable
	pii    []string // sensitive values in raw besides the base contact and text
}

func rejectCases(t *testing.T) []rejectCase {
	msg := event.TypeMessage
	cs := []rejectCase{
		// Empty and not JSON.
		{name: "nil", raw: nil, code: event.CodeEmpty, reason: []string{"empty", "one JSON object"}},
		{name: "zero bytes", raw: []byte{}, code: event.CodeEmpty, reason: []string{"empty"}},
		{name: "whitespace only", raw: []byte(" \n\t\r  "), code: event.CodeEmpty, reason: []string{"empty"}},
		{name: "plain text", raw: []byte(piiText + " não chegou, ligar " + piiPhone), code: event.CodeNotJSON, reason: []string{"not JSON", "JSON object"}},
		{name: "truncated object", raw: []byte(`{"schema": "cx.event/v1", "contact": {"phone": "` + piiPhone + `", "name": "` + piiName + `"`), code: event.CodeNotJSON, reason: []string{"not valid JSON", "byte"}},
		{name: "bad token in object", raw: []byte(`{"contact": {"email": "` + piiEmail + `"}, Ana Souza}`), code: event.CodeNotJSON, reason: []string{"syntax error at byte"}},
		{name: "object then garbage", raw: []byte(`{"contact": {"email": "` + piiEmail + `"}} ` + piiName), code: event.CodeNotJSON, reason: []string{"not valid JSON"}},
		{name: "unicode space before object", raw: append([]byte("\u00a0"), build(t, msg)...), code: event.CodeNotJSON, reason: []string{"not JSON"}},
		{name: "invalid UTF-8", raw: []byte("{\"schema\":\"cx.event/v1\",\"name\":\"Ana \xff\"}"), code: event.CodeInvalidUTF8, reason: []string{"UTF-8", "offset 36"}},

		// JSON, but not an object.
		{name: "array", raw: []byte(`[{"contact": {"phone": "` + piiPhone + `"}}]`), code: event.CodeWrongType, reason: []string{"an array", "expected an object"}},
		{name: "string", raw: []byte(`"` + piiName + `"`), code: event.CodeWrongType, reason: []string{"a string", "expected an object"}},
		{name: "number", raw: []byte(` 42 `), code: event.CodeWrongType, reason: []string{"a number", "expected an object"}},
		{name: "boolean", raw: []byte(`true`), code: event.CodeWrongType, reason: []string{"a boolean", "expected an object"}},
		{name: "null", raw: []byte(`null`), code: event.CodeWrongType, reason: []string{"null", "expected an object"}},

		// Wrong types.
		{name: "schema number", raw: build(t, msg, set("schema", 1)), code: event.CodeWrongType, field: "schema", reason: []string{"a number", "expected a string"}},
		{name: "event_id number", raw: build(t, msg, set("event_id", 7)), code: event.CodeWrongType, field: "event_id", reason: []string{"expected a string"}},
		{name: "type array", raw: build(t, msg, set("type", []string{"message"})), code: event.CodeWrongType, field: "type", reason: []string{"an array", "expected a string"}},
		{name: "occurred_at number", raw: build(t, msg, set("occurred_at", 1795280585)), code: event.CodeWrongType, field: "occurred_at", reason: []string{"a number", "expected a string"}},
		{name: "channel object", raw: build(t, msg, set("channel", map[string]any{})), code: event.CodeWrongType, field: "channel", reason: []string{"an object", "expected a string"}},
		{name: "contact string", raw: build(t, msg, set("contact", piiPhone)), code: event.CodeWrongType, field: "contact", reason: []string{"a string", "expected an object"}},
		{name: "contact.phone number", raw: build(t, msg, set("contact.phone", int64(5511987654321))), code: event.CodeWrongType, field: "contact.phone", reason: []string{"a number", "expected a string"}},
		{name: "contact.email boolean", raw: build(t, msg, set("contact.email", true)), code: event.CodeWrongType, field: "contact.email", reason: []string{"expected a string"}},
		{name: "contact.name number", raw: build(t, msg, set("contact.name", 12)), code: event.CodeWrongType, field: "contact.name", reason: []string{"expected a string"}},
		{name: "contact.ids array", raw: build(t, msg, set("contact.ids", []string{"ana.s"})), code: event.CodeWrongType, field: "contact.ids", reason: []string{"an array", "expected an object"}},
		{name: "contact.ids value number", raw: build(t, msg, set("contact.ids.webchat", 42)), code: event.CodeWrongType, field: "contact.ids.webchat", reason: []string{"expected a string"}},
		{name: "actor string", raw: build(t, msg, set("actor", "customer")), code: event.CodeWrongType, field: "actor", reason: []string{"expected an object"}},
		{name: "message.text number", raw: build(t, msg, set("message.text", 1234)), code: event.CodeWrongType, field: "message.text", reason: []string{"expected a string"}},
		{name: "source number", raw: build(t, msg, set("source", 3)), code: event.CodeWrongType, field: "source", reason: []string{"expected a string"}},
		{name: "conversation_id number", raw: build(t, msg, set("conversation_id", 8842)), code: event.CodeWrongType, field: "conversation_id", reason: []string{"expected a string"}},
		{name: "actor.kind number", raw: build(t, msg, set("actor.kind", 1)), code: event.CodeWrongType, field: "actor.kind", reason: []string{"expected a string"}},
		{name: "actor.id number", raw: build(t, msg, set("actor.id", 1)), code: event.CodeWrongType, field: "actor.id", reason: []string{"expected a string"}},
		{name: "actor.team array", raw: build(t, msg, set("actor.team", []string{})), code: event.CodeWrongType, field: "actor.team", reason: []string{"expected a string"}},
		{name: "message string", raw: build(t, msg, set("message", piiText)), code: event.CodeWrongType, field: "message", reason: []string{"a string", "expected an object"}},
		{name: "message.direction boolean", raw: build(t, msg, set("message.direction", true)), code: event.CodeWrongType, field: "message.direction", reason: []string{"expected a string"}},
		{name: "message.intent number", raw: build(t, msg, set("message.intent", 2)), code: event.CodeWrongType, field: "message.intent", reason: []string{"expected a string"}},
		{name: "handoff string", raw: build(t, event.TypeHandoff, set("handoff", "to humans")), code: event.CodeWrongType, field: "handoff", reason: []string{"expected an object"}},
		{name: "handoff.summary object", raw: build(t, event.TypeHandoff, set("handoff.summary", map[string]any{})), code: event.CodeWrongType, field: "handoff.summary", reason: []string{"expected a string"}},
		{name: "survey array", raw: build(t, event.TypeSurvey, set("survey", []int{5})), code: event.CodeWrongType, field: "survey", reason: []string{"expected an object"}},
		{name: "survey.kind number", raw: build(t, event.TypeSurvey, set("survey.kind", 1)), code: event.CodeWrongType, field: "survey.kind", reason: []string{"expected a string"}},
		{name: "survey.comment number", raw: build(t, event.TypeSurvey, set("survey.comment", 1)), code: event.CodeWrongType, field: "survey.comment", reason: []string{"expected a string"}},
		{name: "consent boolean", raw: build(t, event.TypeConsent, set("consent", true)), code: event.CodeWrongType, field: "consent", reason: []string{"a boolean", "expected an object"}},
		{name: "consent.purpose number", raw: build(t, event.TypeConsent, set("consent.purpose", 1)), code: event.CodeWrongType, field: "consent.purpose", reason: []string{"expected a string"}},
		{name: "consent.basis number", raw: build(t, event.TypeConsent, set("consent.basis", 1)), code: event.CodeWrongType, field: "consent.basis", reason: []string{"expected a string"}},
		{name: "consent.source number", raw: build(t, event.TypeConsent, set("consent.source", 1)), code: event.CodeWrongType, field: "consent.source", reason: []string{"expected a string"}},
		{name: "link.email number", raw: build(t, event.TypeIdentityLink, set("link.email", 1)), code: event.CodeWrongType, field: "link.email", reason: []string{"expected a string"}},
		{name: "message.private string", raw: build(t, msg, set("message.private", "false")), code: event.CodeWrongType, field: "message.private", reason: []string{"a string", "expected true or false"}},
		{name: "handoff.fields array", raw: build(t, event.TypeHandoff, set("handoff.fields", []string{"order"})), code: event.CodeWrongType, field: "handoff.fields", reason: []string{"expected an object"}},
		{name: "handoff.sla_seconds string", raw: build(t, event.TypeHandoff, set("handoff.sla_seconds", "60")), code: event.CodeWrongType, field: "handoff.sla_seconds", reason: []string{"a string", "expected a whole number"}},
		{name: "handoff.sla_seconds fraction", raw: build(t, event.TypeHandoff, set("handoff.sla_seconds", 1.5)), code: event.CodeWrongType, field: "handoff.sla_seconds", reason: []string{"not a whole number"}},
		{name: "survey.score string", raw: build(t, event.TypeSurvey, set("survey.score", "5")), code: event.CodeWrongType, field: "survey.score", reason: []string{"a string", "expected a whole number"}},
		{name: "survey.score fraction", raw: build(t, event.TypeSurvey, set("survey.score", 4.5)), code: event.CodeWrongType, field: "survey.score", reason: []string{"not a whole number"}},
		{name: "survey.score overflows int64", raw: []byte(strings.Replace(string(build(t, event.TypeSurvey)), `"score":4`, `"score":99999999999999999999`, 1)), code: event.CodeWrongType, field: "survey.score", reason: []string{"not a whole number"}},
		{name: "consent.granted string", raw: build(t, event.TypeConsent, set("consent.granted", "true")), code: event.CodeWrongType, field: "consent.granted", reason: []string{"a string", "expected true or false"}},
		{name: "consent.granted number", raw: build(t, event.TypeConsent, set("consent.granted", 1)), code: event.CodeWrongType, field: "consent.granted", reason: []string{"a number", "expected true or false"}},
		{name: "link string", raw: build(t, event.TypeIdentityLink, set("link", piiEmail)), code: event.CodeWrongType, field: "link", reason: []string{"expected an object"}},

		// Missing required fields.
		{name: "no schema", raw: build(t, msg, del("schema")), code: event.CodeMissing, field: "schema", reason: []string{"missing", `"cx.event/v1"`}},
		{name: "empty schema", raw: build(t, msg, set("schema", "")), code: event.CodeMissing, field: "schema", reason: []string{"missing"}},
		{name: "null schema", raw: build(t, msg, set("schema", nil)), code: event.CodeMissing, field: "schema", reason: []string{"missing"}},
		{name: "no event_id", raw: build(t, msg, del("event_id")), code: event.CodeMissing, field: "event_id", reason: []string{"missing required field"}},
		{name: "no type", raw: build(t, msg, del("type")), code: event.CodeMissing, field: "type", reason: []string{"missing required field"}},
		{name: "no occurred_at", raw: build(t, msg, del("occurred_at")), code: event.CodeMissing, field: "occurred_at", reason: []string{"missing required field"}},
		{name: "no contact", raw: build(t, msg, del("contact")), code: event.CodeMissing, field: "contact", reason: []string{"missing", "contact.phone, contact.email or contact.ids"}},
		{name: "null contact", raw: build(t, msg, set("contact", nil)), code: event.CodeMissing, field: "contact", reason: []string{"missing"}},
		{name: "contact with name only", raw: build(t, msg, set("contact", map[string]any{"name": piiName})), code: event.CodeMissing, field: "contact", reason: []string{"no identifier", "contact.phone, contact.email or contact.ids"}},
		{name: "contact with empty identifiers", raw: build(t, msg, set("contact", map[string]any{"phone": "", "email": nil, "ids": map[string]any{"webchat": "", "instagram": nil}})), code: event.CodeMissing, field: "contact", reason: []string{"no identifier"}},
		{name: "no actor on message", raw: build(t, msg, del("actor")), code: event.CodeMissing, field: "actor", reason: []string{"missing", "customer, bot, agent or system"}},
		{name: "no actor.kind on message", raw: build(t, msg, set("actor", map[string]any{"id": "u-1"})), code: event.CodeMissing, field: "actor.kind", reason: []string{"missing", "customer, bot, agent or system"}},
		{name: "no message on message", raw: build(t, msg, del("message")), code: event.CodeMissing, field: "message", reason: []string{"missing"}},
		{name: "no survey on survey", raw: build(t, event.TypeSurvey, del("survey")), code: event.CodeMissing, field: "survey", reason: []string{"missing", "csat or nps"}},
		{name: "no survey.kind", raw: build(t, event.TypeSurvey, del("survey.kind")), code: event.CodeMissing, field: "survey.kind", reason: []string{"missing"}},
		{name: "no survey.score", raw: build(t, event.TypeSurvey, del("survey.score")), code: event.CodeMissing, field: "survey.score", reason: []string{"missing"}},
		{name: "no consent on consent", raw: build(t, event.TypeConsent, del("consent")), code: event.CodeMissing, field: "consent", reason: []string{"missing", "consent.purpose and consent.granted"}},
		{name: "no consent.purpose", raw: build(t, event.TypeConsent, del("consent.purpose")), code: event.CodeMissing, field: "consent.purpose", reason: []string{"missing"}},
		{name: "no consent.granted", raw: build(t, event.TypeConsent, del("consent.granted")), code: event.CodeMissing, field: "consent.granted", reason: []string{"missing", "true or false"}},
		{name: "null consent.granted", raw: build(t, event.TypeConsent, set("consent.granted", nil)), code: event.CodeMissing, field: "consent.granted", reason: []string{"missing"}},
		{name: "no link on identity_link", raw: build(t, event.TypeIdentityLink, del("link")), code: event.CodeMissing, field: "link", reason: []string{"missing", "same person"}},
		{name: "empty link on identity_link", raw: build(t, event.TypeIdentityLink, set("link", map[string]any{"ids": map[string]any{}})), code: event.CodeMissing, field: "link", reason: []string{"no identifier", "link.phone, link.email or link.ids"}},

		// Unknown type, unsupported schema.
		{name: "unknown type", raw: build(t, msg, set("type", "chat")), code: event.CodeUnknownType, field: "type", reason: []string{"(4 characters)", "expected one of", "identity_link", "message"}},
		{name: "type in wrong case", raw: build(t, msg, set("type", "Message")), code: event.CodeUnknownType, field: "type", reason: []string{"(7 characters)"}},
		{name: "long type clipped", raw: build(t, msg, set("type", strings.Repeat("x", 100))), code: event.CodeUnknownType, field: "type", reason: []string{"(100 characters)"}, pii: []string{strings.Repeat("x", 32)}},
		{name: "schema v2", raw: build(t, msg, set("schema", "cx.event/v2")), code: event.CodeBadSchema, field: "schema", reason: []string{"(11 characters)", "not supported", `"cx.event/v1"`}},

		// Timestamps.
		{name: "timestamp without offset", raw: build(t, msg, set("occurred_at", "2026-11-21T14:03:05")), code: event.CodeBadTime, field: "occurred_at", reason: []string{"no UTC offset", "Z or ±hh:mm"}},
		{name: "timestamp without offset, fraction, space", raw: build(t, msg, set("occurred_at", "2026-11-21 14:03:05.123")), code: event.CodeBadTime, field: "occurred_at", reason: []string{"no UTC offset"}},
		{name: "garbage timestamp", raw: build(t, msg, set("occurred_at", "yesterday at noon")), code: event.CodeBadTime, field: "occurred_at", reason: []string{"not an RFC 3339 timestamp", "2026-11-21T14:03:05-03:00"}},
		{name: "timestamp date only", raw: build(t, msg, set("occurred_at", "2026-11-21")), code: event.CodeBadTime, field: "occurred_at", reason: []string{"not an RFC 3339 timestamp"}},
		{name: "timestamp out of range", raw: build(t, msg, set("occurred_at", "2026-13-45T25:00:00Z")), code: event.CodeBadTime, field: "occurred_at", reason: []string{"not an RFC 3339 timestamp"}},
		{name: "timestamp offset without colon", raw: build(t, msg, set("occurred_at", "2026-11-21T14:03:05-0300")), code: event.CodeBadTime, field: "occurred_at", reason: []string{"not an RFC 3339 timestamp"}},

		// Size.
		{name: "over MaxBytes 100", dec: event.Decoder{MaxBytes: 100}, raw: build(t, msg), code: event.CodeTooLarge, reason: []string{"over the 100-byte limit", "ingest.max_message_bytes"}},
		{name: "over DefaultMaxBytes", raw: padded(t, event.DefaultMaxBytes+1), code: event.CodeTooLarge, reason: []string{"262145 bytes", "over the 262144-byte limit"}},
		{name: "negative MaxBytes means default", dec: event.Decoder{MaxBytes: -1}, raw: padded(t, event.DefaultMaxBytes+1), code: event.CodeTooLarge, reason: []string{"262144-byte limit"}},

		// Out-of-range values.
		{name: "event_id too long", raw: build(t, msg, set("event_id", strings.Repeat("e", 201))), code: event.CodeInvalidValue, field: "event_id", reason: []string{"201", "limit of 200"}},
		{name: "csat 0", raw: build(t, event.TypeSurvey, set("survey.score", 0)), code: event.CodeInvalidValue, field: "survey.score", reason: []string{"csat score 0", "1 to 5"}},
		{name: "csat 6", raw: build(t, event.TypeSurvey, set("survey.score", 6)), code: event.CodeInvalidValue, field: "survey.score", reason: []string{"csat score 6", "1 to 5"}},
		{name: "csat 2^32+1", raw: build(t, event.TypeSurvey, set("survey.score", int64(1)<<32+1)), code: event.CodeInvalidValue, field: "survey.score", reason: []string{"csat score 4294967297", "1 to 5"}},
		{name: "nps -1", raw: build(t, event.TypeSurvey, set("survey.kind", "nps"), set("survey.score", -1)), code: event.CodeInvalidValue, field: "survey.score", reason: []string{"nps score -1", "0 to 10"}},
		{name: "nps 11", raw: build(t, event.TypeSurvey, set("survey.kind", "nps"), set("survey.score", 11)), code: event.CodeInvalidValue, field: "survey.score", reason: []string{"nps score 11", "0 to 10"}},
		{name: "unknown survey.kind", raw: build(t, event.TypeSurvey, set("survey.kind", "ces")), code: event.CodeInvalidValue, field: "survey.kind", reason: []string{"(3 characters)", "csat or nps"}},

		// Bad identifiers.
		{name: "phone with letters", raw: build(t, msg, set("contact.phone", "+55 (21) 99999-888X")), code: event.CodeInvalidValue, field: "contact.phone", reason: []string{"not a phone number", "19 characters", "E.164"}, pii: []string{"+55 (21) 99999-888X", "99999"}},
		{name: "phone too short", raw: build(t, msg, set("contact.phone", "+55 2199")), code: event.CodeInvalidValue, field: "contact.phone", reason: []string{"not a phone number"}, pii: []string{"+55 2199"}},
		{name: "phone too long", raw: build(t, msg, set("contact.phone", "+55 21 99999 8888 1234")), code: event.CodeInvalidValue, field: "contact.phone", reason: []string{"not a phone number"}, pii: []string{"99999 8888"}},
		{name: "group JID as phone", raw: build(t, msg, set("contact.phone", "552199998888-1600000000@g.us")), code: event.CodeInvalidValue, field: "contact.phone", reason: []string{"not a phone number", "WhatsApp JID"}, pii: []string{"552199998888"}},
		{name: "email without @", raw: build(t, msg, set("contact.email", "ana.souza.example.com")), code: event.CodeInvalidValue, field: "contact.email", reason: []string{"not an email address", "one @"}, pii: []string{"ana.souza.example.com"}},
		{name: "email with two @", raw: build(t, msg, set("contact.email", "ana@souza@example.com")), code: event.CodeInvalidValue, field: "contact.email", reason: []string{"not an email address"}, pii: []string{"ana@souza@example.com"}},
		{name: "email with trailing @", raw: build(t, msg, set("contact.email", "ana.souza@")), code: event.CodeInvalidValue, field: "contact.email", reason: []string{"not an email address"}, pii: []string{"ana.souza@"}},
		{name: "bad link phone", raw: build(t, event.TypeIdentityLink, set("link.phone", "+55 (21) 99999-888X")), code: event.CodeInvalidValue, field: "link.phone", reason: []string{"link.phone is not a phone number"}, pii: []string{"+55 (21) 99999-888X"}},
		{name: "bad link email", raw: build(t, event.TypeIdentityLink, set("link.email", "souza.example.org")), code: event.CodeInvalidValue, field: "link.email", reason: []string{"link.email is not an email address"}, pii: []string{"souza.example.org"}},

		// Unknown enum values.
		{name: "unknown channel", raw: build(t, msg, set("channel", "carrier-pigeon")), code: event.CodeInvalidValue, field: "channel", reason: []string{"(14 characters)", "expected one of", "whatsapp"}},
		{name: "unknown channel on consent", raw: build(t, event.TypeConsent, set("channel", "fax")), code: event.CodeInvalidValue, field: "channel", reason: []string{"(3 characters)"}},
		{name: "unknown actor.kind", raw: build(t, msg, set("actor.kind", "robot")), code: event.CodeInvalidValue, field: "actor.kind", reason: []string{"(5 characters)", "customer, bot, agent or system"}},
		{name: "unknown actor.kind on resolved", raw: build(t, event.TypeResolved, set("actor.kind", "robot")), code: event.CodeInvalidValue, field: "actor.kind", reason: []string{"(5 characters)"}},
		{name: "unknown message.direction", raw: build(t, msg, set("message.direction", "sideways")), code: event.CodeInvalidValue, field: "message.direction", reason: []string{"(8 characters)", "inbound or outbound"}},

		// An enum value that does not look like one is described by its length, not quoted.
		{name: "name as channel", raw: build(t, msg, set("channel", piiName)), code: event.CodeInvalidValue, field: "channel", reason: []string{"unknown channel (9 characters)", "whatsapp"}, pii: []string{"ana souza"}},
		{name: "phone as type", raw: build(t, msg, set("type", piiDigits)), code: event.CodeUnknownType, field: "type", reason: []string{"unknown event type (13 characters)", "identity_link"}},
		{name: "email as schema", raw: build(t, msg, set("schema", piiEmail)), code: event.CodeBadSchema, field: "schema", reason: []string{"schema (15 characters) is not supported", `"cx.event/v1"`}},
		{name: "phone as actor.kind", raw: build(t, msg, set("actor.kind", piiPhone)), code: event.CodeInvalidValue, field: "actor.kind", reason: []string{"unknown actor.kind (14 characters)"}},
		{name: "text as message.direction", raw: build(t, msg, set("message.direction", piiText)), code: event.CodeInvalidValue, field: "message.direction", reason: []string{"unknown message.direction (15 characters)"}},
		{name: "email as survey.kind", raw: build(t, event.TypeSurvey, set("survey.kind", "ana.souza@example.org")), code: event.CodeInvalidValue, field: "survey.kind", reason: []string{"unknown survey.kind (21 characters)"}, pii: []string{"ana.souza@example.org"}},
		{name: "one-character channel", raw: build(t, msg, set("channel", "+")), code: event.CodeInvalidValue, field: "channel", reason: []string{"unknown channel (1 character);"}},

		// Review findings.
		{name: "event_id too long in bytes", raw: build(t, msg, set("event_id", strings.Repeat("é", 101))), code: event.CodeInvalidValue, field: "event_id", reason: []string{"event_id is 202 bytes", "limit of 200 bytes"}},
		{name: "negative handoff.sla_seconds", raw: build(t, event.TypeHandoff, set("handoff.sla_seconds", -60)), code: event.CodeInvalidValue, field: "handoff.sla_seconds", reason: []string{"negative", "zero or more"}},
		{name: "personal data as an ids key", raw: build(t, msg, set("contact.ids", map[string]any{longIDKey: 42})), code: event.CodeInvalidValue, field: "contact.ids", reason: []string{"not a known channel", "(45 characters)"}, pii: []string{longIDKey[:5]}},
		{name: "ids value not a string", raw: build(t, msg, set("contact.ids", map[string]any{"instagram": 42})), code: event.CodeWrongType, field: "contact.ids.instagram", reason: []string{"contact.ids.instagram is a number"}},
		{name: "unknown ids channel", raw: build(t, msg, set("contact.ids", map[string]any{"myspace": "ana"})), code: event.CodeInvalidValue, field: "contact.ids", reason: []string{"not a known channel", "(7 characters)", "instagram"}, pii: []string{"myspace"}},
		{name: "too many ids", raw: build(t, msg, set("contact.ids", manyIDs(17))), code: event.CodeInvalidValue, field: "contact.ids", reason: []string{"17 entries", "limit of 16"}},
		{name: "whatsapp id another phone", raw: build(t, msg, set("contact.ids", map[string]any{"whatsapp": "5511911112222@s.whatsapp.net"})), code: event.CodeInvalidValue, field: "contact.ids.whatsapp", reason: []string{"other than contact.phone"}, pii: []string{"5511911112222", "+5511911112222"}},
		{name: "lone surrogate in event_id", raw: []byte(strings.Replace(string(build(t, msg)), `"event_id":"`, `"event_id":"\ud800`, 1)), code: event.CodeInvalidValue, field: "event_id", reason: []string{"lone UTF-16 surrogate"}},
		{name: "lone low surrogate in an id", raw: []byte(strings.Replace(string(build(t, msg, set("contact.ids", map[string]any{"webchat": "x-LONE"}))), "x-LONE", `x\udc00`, 1)), code: event.CodeInvalidValue, field: "contact.ids.webchat", reason: []string{"lone UTF-16 surrogate"}},
		{name: "personal data as a link ids key", raw: build(t, event.TypeIdentityLink, set("link.ids", map[string]any{longIDKey: true})), code: event.CodeInvalidValue, field: "link.ids", reason: []string{"not a known channel"}, pii: []string{longIDKey[:5]}},

		// JSON syntax: the hint gives the byte offset encoding/json gives, and never the content.
		{name: "trailing comma", raw: []byte(`{"contact": {"name": "` + piiName + `"},}`), code: event.CodeNotJSON, reason: []string{"syntax error at byte 35"}},
		{name: "whitespace before a syntax error", raw: []byte("\n\t " + `{"contact": {"name": "` + piiName + `"},}`), code: event.CodeNotJSON, reason: []string{"syntax error at byte 35"}},
		{name: "control character in a string", raw: []byte("{\"contact\": {\"name\": \"Ana\tSouza\"}}"), code: event.CodeNotJSON, reason: []string{"syntax error at byte 26"}},
		{name: "invalid escape", raw: []byte(`{"message": {"text": "` + piiText + `\x"}}`), code: event.CodeNotJSON, reason: []string{"syntax error at byte 39"}},
		{name: "short unicode escape", raw: []byte(`{"message": {"text": "` + piiText + `\u12"}}`), code: event.CodeNotJSON, reason: []string{"syntax error at byte 42"}},
		{name: "leading zero", raw: []byte(`{"survey": {"score": 05}, "contact": {"name": "` + piiName + `"}}`), code: event.CodeNotJSON, reason: []string{"syntax error at byte 23"}},
		{name: "nested too deep", raw: []byte(`{"contact": {"name": "` + piiName + `"}, "x": ` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`), code: event.CodeNotJSON, reason: []string{"syntax error at byte 10040"}},
		{name: "duplicate key, last one bad", raw: []byte(strings.TrimSuffix(string(build(t, msg)), "}") + `,"type":"chat"}`), code: event.CodeUnknownType, field: "type", reason: []string{"(4 characters)"}},
	}
	// The conversation types need a conversation_id and a channel.
	for _, typ := range []string{event.TypeMessage, event.TypeConversationOpened, event.TypeHandoff, event.TypeAssigned, event.TypeResolved, event.TypeReopened} {
		cs = append(cs,
			rejectCase{name: typ + " without conversation_id", raw: build(t, typ, del("conversation_id")), code: event.CodeMissing, field: "conversation_id", reason: []string{"missing", "for a " + typ + " event"}},
			rejectCase{name: typ + " with empty conversation_id", raw: build(t, typ, set("conversation_id", "")), code: event.CodeMissing, field: "conversation_id", reason: []string{"missing"}},
			rejectCase{name: typ + " without channel", raw: build(t, typ, del("channel")), code: event.CodeMissing, field: "channel", reason: []string{"missing", "for a " + typ + " event", "whatsapp"}},
		)
	}
	return cs
}

// longIDKey is an ids key made of personal data: Reason and Field may quote
// its first 32 characters at most.
// manyIDs returns n ids under distinct keys.
func manyIDs(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m["k"+strconv.Itoa(i)] = "v"
	}
	return m
}

const longIDKey = "ana.souza.1987@example.com private notes: VIP"

// padded returns a valid event of exactly n bytes, padded with an extra field.
func padded(t testing.TB, n int) []byte {
	t.Helper()
	b := build(t, event.TypeMessage, set("padding", ""))
	pad := n - len(b)
	if pad < 0 {
		t.Fatalf("padded: event is already %d bytes, over %d", len(b), n)
	}
	b = build(t, event.TypeMessage, set("padding", strings.Repeat("p", pad)))
	if len(b) != n {
		t.Fatalf("padded: got %d bytes, want %d", len(b), n)
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range rejectCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := tc.dec.Decode(tc.raw)
			if err == nil {
				t.Fatalf("Decode accepted %s\nas %+v", tc.raw, ev)
			}
			var rej *event.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("error is %T (%v), want *event.RejectError", err, err)
			}
			if rej.Code != tc.code || rej.Field != tc.field {
				t.Errorf("Code, Field = %q, %q; want %q, %q\nreason: %s", rej.Code, rej.Field, tc.code, tc.field, rej.Reason)
			}
			if err.Error() != rej.Reason {
				t.Errorf("Error() = %q, want the Reason %q", err.Error(), rej.Reason)
			}
			if last := rej.Field[strings.LastIndexByte(rej.Field, '.')+1:]; !strings.Contains(rej.Reason, last) {
				t.Errorf("reason %q does not name the field %q", rej.Reason, rej.Field)
			}
			for _, want := range tc.reason {
				if !strings.Contains(rej.Reason, want) {
					t.Errorf("reason %q does not contain %q", rej.Reason, want)
				}
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Errorf("a rejected decode returned a non-zero event %+v", ev)
			}
			// Personal data in the payload never reaches the reason or the field.
			for _, s := range append([]string{piiPhone, piiDigits, piiEmail, piiName, piiText}, tc.pii...) {
				if !bytes.Contains(tc.raw, []byte(s)) {
					continue
				}
				if strings.Contains(err.Error(), s) || strings.Contains(rej.Field, s) {
					t.Errorf("rejection quotes personal data %q: field %q, reason %q", s, rej.Field, err.Error())
				}
			}
		})
	}
}

// The PII check above is only worth something if the cases carry the data.
func TestRejectCasesCarryPersonalData(t *testing.T) {
	n := 0
	for _, tc := range rejectCases(t) {
		if bytes.Contains(tc.raw, []byte(piiName)) || bytes.Contains(tc.raw, []byte(piiText)) {
			n++
		}
	}
	if n < 50 {
		t.Errorf("only %d rejection cases carry a name or message text", n)
	}
}

func TestTimestampReasonsDiffer(t *testing.T) {
	reason := func(ts string) string {
		_, err := event.Decoder{}.Decode(build(t, event.TypeMessage, set("occurred_at", ts)))
		var rej *event.RejectError
		if !errors.As(err, &rej) || rej.Code != event.CodeBadTime {
			t.Fatalf("occurred_at %q: got %v, want a %s rejection", ts, err, event.CodeBadTime)
		}
		return rej.Reason
	}
	if noOffset, garbage := reason("2026-11-21T14:03:05.123"), reason("21/11/2026 14:03"); noOffset == garbage {
		t.Errorf("a timestamp without offset and a garbage one give the same reason %q", noOffset)
	}
}

func TestDecodeSizeLimit(t *testing.T) {
	raw := build(t, event.TypeMessage)
	if _, err := (event.Decoder{MaxBytes: len(raw)}).Decode(raw); err != nil {
		t.Errorf("a message of exactly MaxBytes was rejected: %v", err)
	}
	if _, err := (event.Decoder{MaxBytes: len(raw) - 1}).Decode(raw); err == nil {
		t.Error("a message one byte over MaxBytes was accepted")
	}
	if _, err := (event.Decoder{}).Decode(padded(t, event.DefaultMaxBytes)); err != nil {
		t.Errorf("a message of exactly DefaultMaxBytes was rejected: %v", err)
	}
}

func TestSurveyScoreBoundaries(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		score int
	}{{"csat", 1}, {"csat", 5}, {"nps", 0}, {"nps", 10}} {
		ev := decode(t, build(t, event.TypeSurvey, set("survey.kind", tc.kind), set("survey.score", tc.score), set("survey.comment", "ok")))
		want := &event.Survey{Kind: tc.kind, Score: tc.score, Comment: "ok"}
		if !reflect.DeepEqual(ev.Survey, want) {
			t.Errorf("%s %d: Survey = %+v, want %+v", tc.kind, tc.score, ev.Survey, want)
		}
	}
}

func TestDecodeDesignExample(t *testing.T) {
	ev := decode(t, []byte(designExample))
	want := event.Event{
		EventID:        "01JD3W8Q9S4XKZ7V2M6N8P0R5T",
		Type:           event.TypeMessage,
		OccurredAt:     time.Date(2026, 11, 21, 17, 3, 5, 123e6, time.UTC),
		Source:         "chatwoot",
		Channel:        "whatsapp",
		ConversationID: "wa-8842",
		Contact: event.Identity{
			Phone: "+5511987654321",
			Email: "ana@example.com",
			IDs:   map[string]string{"instagram": "ana.s", "webchat": "c0ffee-42"},
		},
		ContactName: "Ana Souza",
		Actor:       event.Actor{Kind: "customer"},
		Message:     &event.Message{Direction: "inbound", Text: "Meu pedido 1234 não chegou", Intent: "order_status"},
		Raw:         []byte(designExample),
	}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("Decode(DESIGN.md example) =\n%+v\nwant\n%+v", ev, want)
	}
	if ev.OccurredAt.Location() != time.UTC {
		t.Errorf("OccurredAt location = %v, want UTC", ev.OccurredAt.Location())
	}
}

// TestDecodeEveryType decodes one full example of each event type.
func TestDecodeEveryType(t *testing.T) {
	sla := int64(300)
	for _, tc := range []struct {
		name string
		raw  string
		want func(*event.Event) // sets the fields beyond the common ones
	}{
		{
			name: "conversation_opened",
			raw: `{"schema":"cx.event/v1","event_id":"ev-open","type":"conversation_opened","occurred_at":"2026-11-21T14:00:00Z",
				"source":"chatwoot","channel":"webchat","conversation_id":"web-1","contact":{"ids":{"webchat":"c0ffee-42"}},
				"actor":{"kind":"customer"}}`,
			want: func(e *event.Event) {
				e.Channel, e.ConversationID = "webchat", "web-1"
				e.Contact = event.Identity{IDs: map[string]string{"webchat": "c0ffee-42"}}
				e.Actor = event.Actor{Kind: "customer"}
			},
		},
		{
			name: "message from an agent, private note",
			raw: `{"schema":"cx.event/v1","event_id":"ev-msg","type":"message","occurred_at":"2026-11-21T14:00:00Z",
				"source":"chatwoot","channel":"email","conversation_id":"em-7","contact":{"email":"ana@example.com"},
				"actor":{"kind":"agent","id":"ag-3","team":"billing"},
				"message":{"direction":"outbound","text":"checking","private":true,"intent":"note"}}`,
			want: func(e *event.Event) {
				e.Channel, e.ConversationID = "email", "em-7"
				e.Contact = event.Identity{Email: "ana@example.com"}
				e.Actor = event.Actor{Kind: "agent", ID: "ag-3", Team: "billing"}
				e.Message = &event.Message{Direction: "outbound", Text: "checking", Private: true, Intent: "note"}
			},
		},
		{
			name: "handoff",
			raw: `{"schema":"cx.event/v1","event_id":"ev-ho","type":"handoff","occurred_at":"2026-11-21T14:00:00Z",
				"source":"bot","channel":"whatsapp","conversation_id":"wa-8842","contact":{"phone":"+5511987654321"},
				"actor":{"kind":"bot","id":"bot-1"},
				"handoff":{"reason":"order_issue","to_team":"logistics","summary":"order 1234 late","fields":{"order":"1234","cep":"01000-000"},
				"next_action":"call carrier","owner":"ag-9","sla_seconds":300}}`,
			want: func(e *event.Event) {
				e.Source, e.Channel, e.ConversationID = "bot", "whatsapp", "wa-8842"
				e.Contact = event.Identity{Phone: "+5511987654321"}
				e.Actor = event.Actor{Kind: "bot", ID: "bot-1"}
				e.Handoff = &event.Handoff{Reason: "order_issue", ToTeam: "logistics", Summary: "order 1234 late",
					Fields: json.RawMessage(`{"order":"1234","cep":"01000-000"}`), NextAction: "call carrier", Owner: "ag-9", SLASeconds: &sla}
			},
		},
		{
			name: "assigned",
			raw: `{"schema":"cx.event/v1","event_id":"ev-as","type":"assigned","occurred_at":"2026-11-21T14:00:00Z",
				"source":"chatwoot","channel":"instagram","conversation_id":"ig-5","contact":{"ids":{"instagram":"ana.s"}},
				"actor":{"kind":"agent","id":"ag-9","team":"logistics"}}`,
			want: func(e *event.Event) {
				e.Channel, e.ConversationID = "instagram", "ig-5"
				e.Contact = event.Identity{IDs: map[string]string{"instagram": "ana.s"}}
				e.Actor = event.Actor{Kind: "agent", ID: "ag-9", Team: "logistics"}
			},
		},
		{
			name: "resolved",
			raw: `{"schema":"cx.event/v1","event_id":"ev-res","type":"resolved","occurred_at":"2026-11-21T14:00:00Z",
				"source":"chatwoot","channel":"telegram","conversation_id":"tg-1","contact":{"ids":{"telegram":"4242"}},
				"actor":{"kind":"system"}}`,
			want: func(e *event.Event) {
				e.Channel, e.ConversationID = "telegram", "tg-1"
				e.Contact = event.Identity{IDs: map[string]string{"telegram": "4242"}}
				e.Actor = event.Actor{Kind: "system"}
			},
		},
		{
			name: "reopened, no actor",
			raw: `{"schema":"cx.event/v1","event_id":"ev-reo","type":"reopened","occurred_at":"2026-11-21T14:00:00Z",
				"source":"chatwoot","channel":"sms","conversation_id":"sms-1","contact":{"phone":"+5511987654321"}}`,
			want: func(e *event.Event) {
				e.Channel, e.ConversationID = "sms", "sms-1"
				e.Contact = event.Identity{Phone: "+5511987654321"}
			},
		},
		{
			name: "survey without conversation or channel",
			raw: `{"schema":"cx.event/v1","event_id":"ev-sv","type":"survey","occurred_at":"2026-11-21T14:00:00Z",
				"source":"survey-tool","contact":{"email":"ana@example.com"},"survey":{"kind":"nps","score":9,"comment":"rápido"}}`,
			want: func(e *event.Event) {
				e.Source = "survey-tool"
				e.Contact = event.Identity{Email: "ana@example.com"}
				e.Survey = &event.Survey{Kind: "nps", Score: 9, Comment: "rápido"}
			},
		},
		{
			name: "survey in a conversation",
			raw: `{"schema":"cx.event/v1","event_id":"ev-sv2","type":"survey","occurred_at":"2026-11-21T14:00:00Z",
				"source":"chatwoot","channel":"voice","conversation_id":"v-1","contact":{"phone":"+5511987654321"},"survey":{"kind":"csat","score":5}}`,
			want: func(e *event.Event) {
				e.Channel, e.ConversationID = "voice", "v-1"
				e.Contact = event.Identity{Phone: "+5511987654321"}
				e.Survey = &event.Survey{Kind: "csat", Score: 5}
			},
		},
		{
			name: "consent withdrawn",
			raw: `{"schema":"cx.event/v1","event_id":"ev-co","type":"consent","occurred_at":"2026-11-21T14:00:00Z",
				"source":"app","channel":"app","contact":{"phone":"+5511987654321"},
				"consent":{"purpose":"ai_training","granted":false,"basis":"consent","source":"settings screen"}}`,
			want: func(e *event.Event) {
				e.Source, e.Channel = "app", "app"
				e.Contact = event.Identity{Phone: "+5511987654321"}
				e.Consent = &event.Consent{Purpose: "ai_training", Granted: false, Basis: "consent", Source: "settings screen"}
			},
		},
		{
			name: "identity_link",
			raw: `{"schema":"cx.event/v1","event_id":"ev-link","type":"identity_link","occurred_at":"2026-11-21T14:00:00Z",
				"source":"webchat","contact":{"ids":{"webchat":"c0ffee-42"}},
				"link":{"email":" Ana@Example.COM ","phone":"5511987654321@s.whatsapp.net","ids":{"Messenger":"ana.souza.7"}}}`,
			want: func(e *event.Event) {
				e.Source = "webchat"
				e.Contact = event.Identity{IDs: map[string]string{"webchat": "c0ffee-42"}}
				e.Link = &event.Identity{Phone: "+5511987654321", Email: "ana@example.com", IDs: map[string]string{"messenger": "ana.souza.7"}}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decode(t, []byte(tc.raw))
			var want event.Event
			if err := json.Unmarshal([]byte(tc.raw), &struct {
				EventID *string `json:"event_id"`
				Type    *string `json:"type"`
				Source  *string `json:"source"`
			}{&want.EventID, &want.Type, &want.Source}); err != nil {
				t.Fatal(err)
			}
			want.OccurredAt = time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
			want.Raw = []byte(tc.raw)
			tc.want(&want)
			if !reflect.DeepEqual(ev, want) {
				t.Errorf("Decode =\n%+v\nwant\n%+v", ev, want)
			}
		})
	}
}

func TestDecodeExtra(t *testing.T) {
	raw := build(t, event.TypeMessage,
		set("tenant", "acme"),
		set("meta", map[string]any{"trace": []any{1, "a"}}),
		set("x_null", nil),
		set("Schema", "shadow"), // keys are case-sensitive: not the known "schema"
		set("handoff", nil), set("survey", nil), set("consent", nil), set("link", nil),
	)
	ev := decode(t, raw)
	var got map[string]any
	if err := json.Unmarshal(ev.Extra, &got); err != nil {
		t.Fatalf("Extra %q is not a JSON object: %v", ev.Extra, err)
	}
	want := map[string]any{
		"tenant": "acme",
		"meta":   map[string]any{"trace": []any{1.0, "a"}},
		"x_null": nil,
		"Schema": "shadow",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Extra = %s, want %v", ev.Extra, want)
	}
	// Sorted keys, so the same message always stores the same bytes.
	if wantBytes := `{"Schema":"shadow","meta":{"trace":[1,"a"]},"tenant":"acme","x_null":null}`; string(ev.Extra) != wantBytes {
		t.Errorf("Extra = %s, want %s", ev.Extra, wantBytes)
	}
	if !bytes.Equal(ev.Raw, raw) {
		t.Errorf("Raw = %s, want the input %s", ev.Raw, raw)
	}

	if ev := decode(t, build(t, event.TypeMessage)); ev.Extra != nil {
		t.Errorf("Extra = %s, want nil when there are no unknown fields", ev.Extra)
	}
	if ev := decode(t, []byte(designExample)); ev.Extra != nil {
		t.Errorf("Extra = %s for the DESIGN.md example (known fields, some null), want nil", ev.Extra)
	}
}

func TestDecodeExtraDeterministic(t *testing.T) {
	raw := build(t, event.TypeMessage, set("z", 1), set("a", 2), set("m", 3), set("b", 4), set("y", 5))
	first := decode(t, raw).Extra
	for range 50 {
		if got := decode(t, raw).Extra; !bytes.Equal(got, first) {
			t.Fatalf("Extra changed between decodes of one message: %s then %s", first, got)
		}
	}
}

func TestDecodeRawIsInput(t *testing.T) {
	raw := []byte("\n  " + designExample + "\r\n")
	ev := decode(t, raw)
	if !bytes.Equal(ev.Raw, raw) {
		t.Errorf("Raw = %q, want the input %q with its whitespace", ev.Raw, raw)
	}
}

func TestMessageDirection(t *testing.T) {
	for _, tc := range []struct {
		kind, direction, want string
	}{
		{"customer", "", "inbound"},
		{"bot", "", "outbound"},
		{"agent", "", "outbound"},
		{"system", "", "outbound"},
		{"customer", "outbound", "outbound"}, // given wins over derived
		{"bot", "inbound", "inbound"},
	} {
		mods := []mod{set("actor.kind", tc.kind), del("message.direction")}
		if tc.direction != "" {
			mods = append(mods, set("message.direction", tc.direction))
		}
		ev := decode(t, build(t, event.TypeMessage, mods...))
		if ev.Message.Direction != tc.want {
			t.Errorf("actor.kind %q, direction %q: Direction = %q, want %q", tc.kind, tc.direction, ev.Message.Direction, tc.want)
		}
	}
	// A message object on a non-message event without an actor is outbound.
	ev := decode(t, build(t, event.TypeResolved, del("actor"), set("message.text", "closing")))
	if ev.Message == nil || ev.Message.Direction != "outbound" {
		t.Errorf("resolved with a message and no actor: Message = %+v, want direction outbound", ev.Message)
	}
}

func TestHandoffHasContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handoff any
		want    bool
	}{
		{"summary and a field", map[string]any{"summary": "late order", "fields": map[string]any{"order": "1234"}}, true},
		{"summary and a null field", map[string]any{"summary": "late order", "fields": map[string]any{"order": nil}}, true},
		{"summary only", map[string]any{"summary": "late order"}, false},
		{"summary, null fields", map[string]any{"summary": "late order", "fields": nil}, false},
		{"fields only", map[string]any{"fields": map[string]any{"order": "1234"}}, false},
		{"empty summary", map[string]any{"summary": "", "fields": map[string]any{"order": "1234"}}, false},
		{"summary, empty fields object", map[string]any{"summary": "late order", "fields": map[string]any{}}, false},
		{"empty handoff", map[string]any{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decode(t, build(t, event.TypeHandoff, set("handoff", tc.handoff)))
			if ev.Handoff == nil {
				t.Fatal("Handoff is nil")
			}
			if got := ev.Handoff.HasContext(); got != tc.want {
				t.Errorf("HasContext() = %v, want %v (handoff %+v)", got, tc.want, ev.Handoff)
			}
		})
	}
	var nilHandoff *event.Handoff
	if nilHandoff.HasContext() {
		t.Error("nil Handoff: HasContext() = true")
	}
	if (&event.Handoff{Summary: "s"}).HasContext() {
		t.Error("Handoff with nil Fields: HasContext() = true")
	}
	if !(&event.Handoff{Summary: "s", Fields: json.RawMessage(`{"a":1}`)}).HasContext() {
		t.Error("Handoff{Summary, Fields{a}}: HasContext() = false")
	}
	if (&event.Handoff{Summary: "s", Fields: json.RawMessage(`["a"]`)}).HasContext() {
		t.Error("Handoff with array Fields: HasContext() = true")
	}
	// A handoff event may come without a handoff object; the rate counts it as no context.
	ev := decode(t, build(t, event.TypeHandoff, del("handoff")))
	if ev.Handoff != nil || ev.Handoff.HasContext() {
		t.Errorf("handoff event without handoff object: Handoff = %+v", ev.Handoff)
	}
}

func TestHandoffSLA(t *testing.T) {
	ev := decode(t, build(t, event.TypeHandoff, set("handoff.sla_seconds", 900)))
	if ev.Handoff.SLASeconds == nil || *ev.Handoff.SLASeconds != 900 {
		t.Errorf("SLASeconds = %v, want 900", ev.Handoff.SLASeconds)
	}
	ev = decode(t, build(t, event.TypeHandoff, set("handoff.sla_seconds", nil)))
	if ev.Handoff.SLASeconds != nil {
		t.Errorf("SLASeconds = %v, want nil for null", *ev.Handoff.SLASeconds)
	}
}

func TestOptionalObjectsNilWhenAbsent(t *testing.T) {
	ev := decode(t, build(t, event.TypeAssigned))
	if ev.Message != nil || ev.Handoff != nil || ev.Survey != nil || ev.Consent != nil || ev.Link != nil {
		t.Errorf("assigned event has sub-objects: %+v", ev)
	}
	// A link with no identifier on another type is ignored, not an error.
	ev = decode(t, build(t, event.TypeAssigned, set("link", map[string]any{"ids": map[string]any{}})))
	if ev.Link != nil {
		t.Errorf("Link = %+v, want nil", ev.Link)
	}
}

func BenchmarkDecode(b *testing.B) {
	raw := []byte(designExample)
	var d event.Decoder
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := d.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// Repeated keys resolve as with encoding/json, which Decode used before: the
// last one wins, at the top level, in nested objects, in ids and in Extra.
func TestDecodeDuplicateKeys(t *testing.T) {
	base := strings.TrimSuffix(string(build(t, event.TypeMessage)), "}")
	ev := decode(t, []byte(`{"type":"chat","contact":{"phone":1},"tenant":"a",`+base[1:]+
		`,"tenant":"b","actor":{"kind":"robot","kind":"agent"},"message":{"text":"first","text":"second"},`+
		`"link":{"ids":{"webchat":"one","webchat":"two","webchat":""}}}`))
	if ev.Type != event.TypeMessage || ev.Contact.Phone != piiPhone {
		t.Errorf("Type, Phone = %q, %q; want the last values", ev.Type, ev.Contact.Phone)
	}
	if ev.Actor.Kind != "agent" || ev.Message.Text != "second" {
		t.Errorf("Actor.Kind, Message.Text = %q, %q; want agent, second", ev.Actor.Kind, ev.Message.Text)
	}
	if ev.Link != nil {
		t.Errorf("Link = %+v, want nil: the last webchat id is empty", ev.Link)
	}
	if string(ev.Extra) != `{"tenant":"b"}` {
		t.Errorf("Extra = %s, want {\"tenant\":\"b\"}", ev.Extra)
	}
	ev = decode(t, []byte(base+`,"contact":{"ids":{"webchat":"one","webchat":"two"}}}`))
	if want := map[string]string{"webchat": "two"}; !reflect.DeepEqual(ev.Contact.IDs, want) {
		t.Errorf("IDs = %v, want %v", ev.Contact.IDs, want)
	}
}

func TestDecodeEscapes(t *testing.T) {
	raw := []byte(`{"sch\u0065ma":"cx.event\/v1","event_id":"e\"1","type":"m\u0065ssage","occurred_at":"2026-11-21T14:03:05Z",` +
		`"channel":"Wh\u0041tsApp","conversation_id":"c\\1","contact":{"\u0070hone":"+5511987654321","ids":{"Web\u0063hat":"\u00e9"}},` +
		`"actor":{"kind":"customer"},"message":{"text":"\ud83d\ude00 \ud83d \ude00\u0041 \t\n\b\f\r"},` +
		`"a<b":1,"\u2028":2,"k\u00e9y":3,"q\"":4}`)
	ev := decode(t, raw)
	if ev.EventID != `e"1` || ev.Type != event.TypeMessage || ev.Channel != "whatsapp" || ev.ConversationID != `c\1` {
		t.Errorf("EventID, Type, Channel, ConversationID = %q, %q, %q, %q", ev.EventID, ev.Type, ev.Channel, ev.ConversationID)
	}
	if ev.Contact.Phone != piiPhone || ev.Contact.IDs["webchat"] != "é" {
		t.Errorf("Contact = %+v", ev.Contact)
	}
	// A pair is one character; a lone surrogate is U+FFFD.
	if want := "😀 \ufffd \ufffdA \t\n\b\f\r"; ev.Message.Text != want {
		t.Errorf("Text = %q, want %q", ev.Message.Text, want)
	}
	if want := `{"a\u003cb":1,"k` + "é" + `y":3,"q\"":4,"\u2028":2}`; string(ev.Extra) != want {
		t.Errorf("Extra = %s, want %s", ev.Extra, want)
	}
}

// TestDecodeNesting checks the nesting limit of encoding/json: 10000 levels,
// the message object included.
func TestDecodeNesting(t *testing.T) {
	base := strings.TrimSuffix(string(build(t, event.TypeMessage)), "}")
	deep := func(n int) []byte {
		return []byte(base + `,"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + "}")
	}
	ev := decode(t, deep(9999))
	if len(ev.Extra) != len(`{"x":}`)+2*9999 {
		t.Errorf("Extra has %d bytes, want the 9999 nested arrays", len(ev.Extra))
	}
	_, err := event.Decoder{}.Decode(deep(10000))
	var rej *event.RejectError
	if !errors.As(err, &rej) || rej.Code != event.CodeNotJSON {
		t.Errorf("10000 nested arrays in a member: got %v, want %s", err, event.CodeNotJSON)
	}
}

func TestDecodeSyntaxErrorOffsets(t *testing.T) {
	valid := string(build(t, event.TypeMessage))
	for _, raw := range []string{
		valid[:len(valid)-1], valid[:len(valid)/2], valid + "}", valid + ` {}`, valid[:20] + "\x00" + valid[21:],
		strings.Replace(valid, ":", " ", 1), strings.Replace(valid, ",", ",,", 3), strings.Replace(valid, "false", "fals", 1),
		strings.Replace(valid, `"`, `'`, 5), " \n" + strings.Replace(valid, `false`, `-`, 1),
	} {
		var m map[string]json.RawMessage
		var se *json.SyntaxError
		if err := json.Unmarshal(bytes.TrimSpace([]byte(raw)), &m); !errors.As(err, &se) {
			t.Fatalf("encoding/json accepts %q: %v", raw, err)
		}
		_, err := event.Decoder{}.Decode([]byte(raw))
		var rej *event.RejectError
		if !errors.As(err, &rej) || rej.Code != event.CodeNotJSON {
			t.Fatalf("Decode(%q) = %v, want %s", raw, err, event.CodeNotJSON)
		}
		if want := "payload is not valid JSON: syntax error at byte " + strconv.FormatInt(se.Offset, 10); rej.Reason != want {
			t.Errorf("Decode(%q): reason %q, want %q", raw, rej.Reason, want)
		}
	}
}

func TestHandoffSLAZero(t *testing.T) {
	ev := decode(t, build(t, event.TypeHandoff, set("handoff.sla_seconds", 0)))
	if ev.Handoff.SLASeconds == nil || *ev.Handoff.SLASeconds != 0 {
		t.Errorf("SLASeconds = %v, want 0", ev.Handoff.SLASeconds)
	}
}

// The event keeps no reference to the message but Raw, so a caller may
// reuse the message's memory once it has copied Raw.
func TestDecodeSharesNoMemory(t *testing.T) {
	raw := build(t, event.TypeHandoff, set("tenant", "acme"), set("contact.email", "ana@example.com"), set("contact.ids", map[string]any{"webchat": "c0ffee"}))
	ev := decode(t, raw)
	want := decode(t, bytes.Clone(raw))
	for i := range raw {
		raw[i] = 'X'
	}
	ev.Raw, want.Raw = nil, nil
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("overwriting the message changed the event:\n%+v\nwant\n%+v", ev, want)
	}
}

func TestDecodeAllocations(t *testing.T) {
	raw := []byte(designExample)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := (event.Decoder{}).Decode(raw); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 25 {
		t.Errorf("Decode of the DESIGN.md example makes %v allocations, want at most 25", allocs)
	}
}

// TestHandoffItems: which of the four items of a good handoff it carried,
// one bit each (issue 20): an empty summary, empty fields, an owner without
// a positive SLA count for nothing.
func TestHandoffItems(t *testing.T) {
	sla := func(s int64) *int64 { return &s }
	for _, tc := range []struct {
		h    *event.Handoff
		want int32
	}{
		{nil, 0},
		{&event.Handoff{Fields: json.RawMessage(`{}`), Owner: "lead", SLASeconds: sla(0)}, 0},
		{&event.Handoff{Summary: "s"}, event.HandoffSummary},
		{&event.Handoff{Fields: json.RawMessage(`{"need":"refund"}`)}, event.HandoffFields},
		{&event.Handoff{NextAction: "call back", Owner: "lead"}, event.HandoffNextAction},
		{&event.Handoff{Owner: "lead", SLASeconds: sla(600)}, event.HandoffOwnerSLA},
		{&event.Handoff{SLASeconds: sla(600)}, 0},
		{&event.Handoff{Summary: "s", Fields: json.RawMessage(`{"a":1}`), NextAction: "x", Owner: "lead", SLASeconds: sla(1)}, 15},
	} {
		if got := tc.h.Items(); got != tc.want {
			t.Errorf("Items(%+v) = %d, want %d", tc.h, got, tc.want)
		}
	}
}
