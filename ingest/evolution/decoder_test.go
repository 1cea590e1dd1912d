package evolution

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
)

// fixtureKey is the apikey in every fixture; it must never come out.
const fixtureKey = "429683C4C977415CAAFCCE10F7D57E11"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testKey is the hash key of the tests' chat hashes.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func testDecoder() *Decoder {
	return New(Config{Instances: []string{"loja-centro"}, BotInstances: []string{}}, event.Decoder{}, testKey)
}

func decodeOne(t testing.TB, d *Decoder, topic string, value []byte) ingest.Outcome {
	t.Helper()
	out := d.Decode([]ingest.Message{{Topic: topic, Offset: 1, Value: value, Time: time.Date(2026, 3, 2, 12, 0, 6, 0, time.UTC)}})
	if len(out) != 1 {
		t.Fatalf("%d outcomes for one message", len(out))
	}
	return out[0]
}

// Every fixture is an Evolution API Kafka message shaped as Evolution
// builds it. The envelope {event, instance, data, server_url, date_time,
// sender, apikey, timestamp} is KafkaController.emit in
// src/api/integrations/event/kafka/kafka.controller.ts. The data of each
// event is cited at its row. (github.com/EvolutionAPI/evolution-api; the
// identifiers are made up.)
func TestDecodeFixtures(t *testing.T) {
	type want struct {
		outcome     string // event, skip, dead
		code        string // the skip or reject reason code
		eventID     string
		phone       string
		ids         map[string]string
		direction   string
		actor       string
		text        string
		messageType string
		group       bool
		name        string
		at          string
	}
	const ana = "+5511987654321"
	for _, tc := range []struct {
		file string
		want want
	}{
		// data: BaileysStartupService.prepareMessage output, sent by the
		// messages.upsert handler (whatsapp.baileys.service.ts).
		{"messages_upsert_text.json", want{outcome: "event", eventID: "evolution:loja-centro:3EB0A1B2C3D4E5F60001", phone: ana,
			direction: "inbound", actor: "customer", text: "Meu pedido 1234 não chegou", messageType: "conversation", name: "Ana Souza", at: "2026-03-02T12:00:00Z"}},
		{"messages_upsert_extended_text.json", want{outcome: "event", phone: ana, direction: "inbound", actor: "customer",
			text: "Segue o link https://loja.example.com/p/1234", messageType: "extendedTextMessage"}},
		// Media with captions: imageMessage/videoMessage/documentMessage
		// (documentWithCaptionMessage is unwrapped by prepareMessage in
		// newer builds; both shapes are read).
		{"messages_upsert_image_caption.json", want{outcome: "event", phone: ana, text: "foto da caixa amassada", messageType: "imageMessage"}},
		{"messages_upsert_video_caption.json", want{outcome: "event", phone: ana, text: "vídeo do produto", messageType: "videoMessage"}},
		{"messages_upsert_document_caption.json", want{outcome: "event", phone: ana, text: "nota fiscal anexada", messageType: "documentMessage"}},
		// Message types without text.
		{"messages_upsert_audio.json", want{outcome: "event", phone: ana, direction: "inbound", messageType: "audioMessage"}},
		{"messages_upsert_sticker.json", want{outcome: "event", phone: ana, messageType: "stickerMessage"}},
		{"messages_upsert_location.json", want{outcome: "event", phone: ana, messageType: "locationMessage"}},
		{"messages_upsert_reaction.json", want{outcome: "event", phone: ana, messageType: "reactionMessage"}},
		// Sent from the phone: key.fromMe, messageTimestamp as a string.
		{"messages_upsert_from_me.json", want{outcome: "event", eventID: "evolution:loja-centro:3EB0FFEE00000001", phone: ana,
			direction: "outbound", actor: "agent", text: "Oi Ana, vou verificar", at: "2026-03-02T12:01:30Z"}},
		// send.message: sendMessageWithTyping -> prepareMessage -> sendDataWebhook(SEND_MESSAGE).
		{"send_message.json", want{outcome: "event", eventID: "evolution:loja-centro:BAE5F00D0002", phone: ana, direction: "outbound",
			actor: "agent", text: "Seu pedido foi reenviado"}},
		// Groups: key.remoteJid is the group, key.participant the member.
		{"messages_upsert_group.json", want{outcome: "event", phone: "+5521998765432", direction: "inbound", actor: "customer",
			group: true, text: "Alguém do suporte?", name: "Bruno"}},
		{"messages_upsert_group_from_me.json", want{outcome: "event", ids: map[string]string{"whatsapp_group": "120363025246125486"},
			direction: "outbound", actor: "agent", group: true, text: "Sim, pode falar"}},
		// LID addressing: Evolution swaps remoteJid and remoteJidAlt so that
		// remoteJid is the phone; both identify the person.
		{"messages_upsert_lid.json", want{outcome: "event", phone: "+5511912345678", ids: map[string]string{"whatsapp_lid": "201326548912345"}, text: "Oi"}},
		// messages.update: the object built in the messages.update handler.
		{"messages_update.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		// contacts.upsert / contacts.update / chats.upsert: contactHandle, chatHandle.
		{"contacts_upsert.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"contacts_update.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"chats_upsert.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		// call: Baileys WACallEvent, sent as is by the events.call handler.
		{"call_offer.json", want{outcome: "event", eventID: "evolution:loja-centro:call:A1B2C3D4E5F60718293A4B5C6D7E8F90", phone: ana,
			direction: "inbound", actor: "customer", messageType: "call", at: "2026-03-02T12:05:00Z"}},
		{"call_reject.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"status_broadcast.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"protocol_message.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"connection_update.json", want{outcome: "skip", code: ingest.SkipUnknownEvent}},
		{"missing_key_id.json", want{outcome: "dead", code: event.CodeMissing}},
		{"group_without_participant.json", want{outcome: "dead", code: event.CodeMissing}},
		{"not_json.json", want{outcome: "dead", code: event.CodeNotJSON}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw := fixture(t, tc.file)
			o := decodeOne(t, testDecoder(), "evolution.loja-centro.x", raw)
			w := tc.want
			var skipErr *ingest.SkipError
			var rej *event.RejectError
			switch {
			case w.outcome == "skip":
				if !errors.As(o.Err, &skipErr) || skipErr.Code != w.code || skipErr.Reason == "" {
					t.Fatalf("outcome %+v, want a %s skip with a reason", o, w.code)
				}
				return
			case w.outcome == "dead":
				if !errors.As(o.Err, &rej) || rej.Code != w.code {
					t.Fatalf("outcome %+v, want a %s dead letter", o, w.code)
				}
				if o.Stored == nil || bytes.Contains(o.Stored, []byte(fixtureKey)) {
					t.Fatalf("the dead letter keeps %q: the apikey must be removed", o.Stored)
				}
				if bytes.Contains([]byte(rej.Reason), []byte("5511987654321")) {
					t.Fatalf("reason quotes the phone: %s", rej.Reason)
				}
				return
			}
			if o.Err != nil || len(o.Events) != 1 {
				t.Fatalf("outcome %+v, want one event", o)
			}
			ev := o.Events[0]
			if w.eventID != "" && ev.EventID != w.eventID {
				t.Errorf("event_id %q, want %q", ev.EventID, w.eventID)
			}
			if ev.Type != event.TypeMessage || ev.Channel != "whatsapp" || ev.Source != "evolution" {
				t.Errorf("type/channel/source %s/%s/%s", ev.Type, ev.Channel, ev.Source)
			}
			if ev.Contact.Phone != w.phone {
				t.Errorf("phone %q, want %q", ev.Contact.Phone, w.phone)
			}
			for k, v := range w.ids {
				if ev.Contact.IDs[k] != v {
					t.Errorf("contact.ids[%s] = %q, want %q", k, ev.Contact.IDs[k], v)
				}
			}
			if w.direction != "" && ev.Message.Direction != w.direction {
				t.Errorf("direction %q, want %q", ev.Message.Direction, w.direction)
			}
			if w.actor != "" && ev.Actor.Kind != w.actor {
				t.Errorf("actor %q, want %q", ev.Actor.Kind, w.actor)
			}
			if ev.Message.Text != w.text {
				t.Errorf("text %q, want %q", ev.Message.Text, w.text)
			}
			if w.name != "" && ev.ContactName != w.name {
				t.Errorf("name %q, want %q", ev.ContactName, w.name)
			}
			if w.at != "" && ev.OccurredAt.Format(time.RFC3339) != w.at {
				t.Errorf("occurred_at %s, want %s", ev.OccurredAt.Format(time.RFC3339), w.at)
			}
			var x struct {
				Evolution extra `json:"evolution"`
			}
			if err := json.Unmarshal(ev.Extra, &x); err != nil {
				t.Fatalf("extra %s: %v", ev.Extra, err)
			}
			if x.Evolution.Instance != "loja-centro" || (w.messageType != "" && x.Evolution.MessageType != w.messageType) || x.Evolution.Group != w.group {
				t.Errorf("extra %s, want message type %q and group %v", ev.Extra, w.messageType, w.group)
			}
			if ev.ConversationID == "" || ev.ConversationID == "pending" {
				t.Errorf("conversation %q was not assigned", ev.ConversationID)
			}
			if bytes.Contains(ev.Raw, []byte(fixtureKey)) || bytes.Contains(ev.Raw, []byte(`"apikey"`)) {
				t.Errorf("the raw payload kept the apikey")
			}
			if !json.Valid(ev.Raw) {
				t.Errorf("raw is not JSON")
			}
		})
	}
}

func TestBotInstancesSendAsBot(t *testing.T) {
	d := New(Config{Instances: []string{"loja-centro"}, BotInstances: []string{"loja-centro"}}, event.Decoder{}, testKey)
	o := decodeOne(t, d, "evolution.loja-centro.send.message", fixture(t, "send_message.json"))
	if o.Err != nil || o.Events[0].Actor.Kind != "bot" {
		t.Fatalf("outcome %+v, want a bot message", o)
	}
}

func TestTopics(t *testing.T) {
	c := Config{Instances: []string{"a", "b"}, Global: true, Events: []string{"MESSAGES_UPSERT", "call"}}
	got := c.Topics()
	want := []string{"evolution.a.messages.upsert", "evolution.a.call", "evolution.b.messages.upsert", "evolution.b.call",
		"evolution.global.messages.upsert", "evolution.global.call"}
	if len(got) != len(want) {
		t.Fatalf("topics %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("topics %v, want %v", got, want)
		}
	}
	if err := (Config{Instances: []string{"global"}}).Validate(); err == nil {
		t.Fatal("an instance named global was accepted")
	}
	if err := (Config{Instances: []string{"a"}, ConversationGap: time.Second}).Validate(); err == nil {
		t.Fatal("a one-second gap was accepted")
	}
}

// The event name and instance come from the topic when the envelope lacks them.
func TestEnvelopeFallsBackToTheTopic(t *testing.T) {
	raw := []byte(`{"data":{"key":{"remoteJid":"5511987654321@s.whatsapp.net","fromMe":false,"id":"X1"},"message":{"conversation":"oi"},"messageTimestamp":1772452800},"apikey":"` + fixtureKey + `"}`)
	o := decodeOne(t, testDecoder(), "evolution.loja-sul.messages.upsert", raw)
	if o.Err != nil || o.Events[0].EventID != "evolution:loja-sul:X1" {
		t.Fatalf("outcome %+v", o)
	}
	o = decodeOne(t, testDecoder(), "evolution.global.messages.upsert", raw)
	var rej *event.RejectError
	if !errors.As(o.Err, &rej) || rej.Field != "instance" {
		t.Fatalf("a global topic without instance: %+v, want a dead letter naming the instance field", o)
	}
}
