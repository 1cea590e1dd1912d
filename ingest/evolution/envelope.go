package evolution

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
)

// envelope is one Evolution API Kafka message:
//
//	{"event": "messages.upsert", "instance": "shop", "data": {...},
//	 "server_url": "...", "date_time": "2026-...", "sender": "...@s.whatsapp.net",
//	 "apikey": "...", "timestamp": 1717000000123}
//
// (kafka.controller.ts, emit). server_url and sender (the instance's own
// number) are not used; apikey is never kept.
type envelope struct {
	event    string          // normalized: messages.upsert
	instance string          // the Evolution instance name
	data     json.RawMessage // the event's payload
	at       time.Time       // when Evolution emitted it (timestamp, else date_time), or the Kafka timestamp; zero when unknown
	stored   []byte          // the message value without secrets: what is kept
}

// parseEnvelope checks and splits a message. The returned stored bytes are
// set even when err is not nil, so a dead letter never keeps the apikey.
func parseEnvelope(m ingest.Message, prefix string, maxBytes int) (envelope, error) {
	env := envelope{stored: withoutSecrets(m.Value)}
	trimmed := bytes.TrimSpace(m.Value)
	switch {
	case len(trimmed) == 0:
		return env, reasons.Reject(event.CodeEmpty, "", "", "empty payload: the message value has no bytes")
	case len(m.Value) > maxBytes:
		return env, reasons.Reject(event.CodeTooLarge, "", "", "message is %d bytes, over the %d-byte limit; raise ingest.max_message_bytes, or turn off webhook_base64 in Evolution (media is then sent inline)", len(m.Value), maxBytes)
	case !utf8.Valid(m.Value):
		return env, reasons.Reject(event.CodeInvalidUTF8, "", "", "payload is not valid UTF-8")
	case trimmed[0] != '{':
		if json.Valid(trimmed) {
			return env, reasons.Reject(event.CodeWrongType, "", "", "payload is JSON %s, expected the envelope object {event, instance, data, ...}", ingest.JSONKind(trimmed))
		}
		return env, reasons.Reject(event.CodeNotJSON, "", "", "payload is not JSON; Evolution API sends one JSON object per message")
	}
	o, _, err := asObject("", "", trimmed)
	if err != nil {
		return env, reasons.Reject(event.CodeNotJSON, "", "", "payload is not valid JSON")
	}
	topicScope, topicEvent := splitTopic(m.Topic, prefix)
	name, err := o.str("", "", "event")
	if err != nil {
		return env, err
	}
	if env.event = normalizeEvent(name); env.event == "" {
		env.event = topicEvent
	}
	if env.event == "" {
		return env, reasons.Missing("", "event")
	}
	if env.instance, err = o.str(env.event, "", "instance"); err != nil {
		return env, err
	}
	if env.instance == "" && topicScope != "global" {
		env.instance = topicScope
	}
	if env.instance == "" {
		return env, reasons.Missing(env.event, "instance")
	}
	env.data = o["data"]
	if isNull(env.data) {
		return env, reasons.Missing(env.event, "data")
	}
	// timestamp is Date.now(), true UTC; date_time is the server's local
	// time written with a Z (channel.service.ts sendDataWebhook subtracts
	// the time zone offset before toISOString), so it is only a fallback.
	t, ok, err := o.unixTime(env.event, "", "timestamp")
	if err != nil {
		return env, err
	}
	if !ok {
		if t, ok, err = o.isoTime(env.event, "", "date_time"); err != nil {
			return env, err
		}
	}
	if !ok {
		t = m.Time.UTC()
	}
	env.at = t
	return env, nil
}

// splitTopic splits <prefix>.<scope>.<event> into scope (an instance or
// "global") and event; both are "" when topic does not have that form.
func splitTopic(topic, prefix string) (scope, ev string) {
	rest, ok := strings.CutPrefix(topic, prefix+".")
	if !ok {
		return "", ""
	}
	scope, ev, _ = strings.Cut(rest, ".")
	return scope, ev
}
