package evolution

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
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
		// A quoted reply: prepareMessage folds extendedTextMessage into
		// message.conversation (messageType "conversation") and lifts
		// contextInfo beside message.
		{"messages_upsert_quoted_reply.json", want{outcome: "event", phone: ana, direction: "inbound", actor: "customer",
			text: "Segue o link https://loja.example.com/p/1234", messageType: "conversation"}},
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
		// A reaction (reactionMessage) is not a message: no conversation, no FRT.
		{"messages_upsert_reaction.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		// Sent from the phone: key.fromMe, messageTimestamp as a string.
		{"messages_upsert_from_me.json", want{outcome: "event", eventID: "evolution:loja-centro:3EB0FFEE00000001", phone: ana,
			direction: "outbound", actor: "agent", text: "Oi Ana, vou verificar", at: "2026-03-02T12:01:30Z"}},
		// send.message: sendMessageWithTyping -> prepareMessage ->
		// sendDataWebhook(SEND_MESSAGE): sent through the API, which is how
		// the bot integrations send (base-chatbot.service.ts).
		{"send_message.json", want{outcome: "event", eventID: "evolution:loja-centro:3EB0C0FFEE12345678ABCD", phone: ana, direction: "outbound",
			actor: "bot", text: "Seu pedido foi reenviado", messageType: "conversation"}},
		// typebot.change-status: base-chatbot.controller.ts, a session paused.
		{"typebot_change_status.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
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

// Who sent a message of the business's own account: send.message is the
// API (the bot integrations), messages.upsert with fromMe the phone or
// WhatsApp Web (a person); bot_instances and human_instances force one.
func TestActorsByUpstreamSignal(t *testing.T) {
	for _, tc := range []struct {
		bots, humans []string
		file, want   string
	}{
		{nil, nil, "send_message.json", "bot"},
		{nil, nil, "messages_upsert_from_me.json", "agent"},
		{[]string{"loja-centro"}, nil, "messages_upsert_from_me.json", "bot"},
		{nil, []string{"loja-centro"}, "send_message.json", "agent"},
		{[]string{"loja-sul"}, []string{"loja-sul2"}, "send_message.json", "bot"},
	} {
		d := New(Config{Instances: []string{"loja-centro", "loja-sul", "loja-sul2"}, BotInstances: tc.bots, HumanInstances: tc.humans}, event.Decoder{}, testKey)
		o := decodeOne(t, d, "evolution.loja-centro.x", fixture(t, tc.file))
		if o.Err != nil || len(o.Events) != 1 || o.Events[0].Actor.Kind != tc.want {
			t.Errorf("%s with bots %v humans %v: outcome %+v, want one %s message", tc.file, tc.bots, tc.humans, o, tc.want)
		}
	}
	if err := (Config{Instances: []string{"a"}, BotInstances: []string{"a"}, HumanInstances: []string{"a"}}).Validate(); err == nil {
		t.Error("an instance both all bot and all human was accepted")
	}
}

// anaMessage builds a one-to-one message of Ana's chat as prepareMessage does.
func anaMessage(ev, id string, fromMe bool, at int64, text string) []byte {
	b, _ := json.Marshal(map[string]any{"event": ev, "instance": "loja-centro", "timestamp": at * 1000,
		"data": map[string]any{"key": map[string]any{"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": fromMe, "id": id},
			"message": map[string]any{"conversation": text}, "messageType": "conversation", "messageTimestamp": at}})
	return b
}

// chatID is the id of a chat of loja-centro, as Decoder.chatID documents
// it: 16 hex digits of HMAC-SHA256 under the hash key of
// "cxlake/whatsapp_chat/v1", NUL, the instance, NUL, the chat.
func chatID(chat string) string {
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte("cxlake/whatsapp_chat/v1\x00loja-centro\x00" + chat))
	return "wa:loja-centro:" + hex.EncodeToString(m.Sum(nil))[:16]
}

// Every message of a chat is stored with the chat's id, whatever its topic,
// its sender, the order and the batch it is read in; ingest draws no
// conversation and no takeover (the models do, from the stored messages).
// A bot's reply and a person's takeover from the phone are plain messages.
func TestMessagesCarryTheirChat(t *testing.T) {
	const t0 = 1772452800
	msgs := []ingest.Message{
		{Topic: "evolution.loja-centro.messages.upsert", Value: anaMessage("messages.upsert", "C1", false, t0, "oi")},
		{Topic: "evolution.loja-centro.messages.upsert", Value: anaMessage("messages.upsert", "H1", true, t0+120, "assumo daqui")},
		{Topic: "evolution.loja-centro.send.message", Value: anaMessage("send.message", "B1", true, t0+5, "sou o robô")},
		{Topic: "evolution.loja-centro.messages.upsert", Value: anaMessage("messages.upsert", "C2", false, t0+90*24*3600, "voltei")},
	}
	ana := chatID("pn:+5511987654321")
	d := testDecoder()
	var got []string
	for i, batch := range [][]ingest.Message{msgs[:2], msgs[2:3], msgs[3:]} {
		for j, o := range d.Decode(batch) {
			if o.Err != nil || len(o.Events) != 1 {
				t.Fatalf("batch %d, message %d: %+v, want one event (no handoff)", i, j, o)
			}
			got = append(got, o.Events[0].EventID+" "+o.Events[0].Actor.Kind+" "+o.Events[0].ConversationID)
		}
	}
	want := []string{
		"evolution:loja-centro:C1 customer " + ana,
		"evolution:loja-centro:H1 agent " + ana,
		"evolution:loja-centro:B1 bot " + ana,
		"evolution:loja-centro:C2 customer " + ana, // 90 days later: the same chat
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Another chat, a group, and a person known only by a LID have their own ids.
	bruno := decodeOne(t, testDecoder(), "evolution.loja-centro.messages.upsert",
		[]byte(`{"event":"messages.upsert","instance":"loja-centro","data":{"key":{"remoteJid":"5521998765432@s.whatsapp.net","fromMe":false,"id":"X1"},"message":{"conversation":"oi"},"messageTimestamp":1772452800}}`))
	group := decodeOne(t, testDecoder(), "evolution.loja-centro.messages.upsert",
		[]byte(`{"event":"messages.upsert","instance":"loja-centro","data":{"key":{"remoteJid":"120363025246125486@g.us","fromMe":false,"id":"G1","participant":"5521998765432@s.whatsapp.net"},"message":{"conversation":"g"},"messageTimestamp":1772452800}}`))
	lid := decodeOne(t, testDecoder(), "evolution.loja-centro.messages.upsert",
		[]byte(`{"event":"messages.upsert","instance":"loja-centro","data":{"key":{"remoteJid":"201326548912345@lid","fromMe":false,"id":"L1"},"message":{"conversation":"l"},"messageTimestamp":1772452800}}`))
	for _, c := range []struct {
		o    ingest.Outcome
		want string
	}{{bruno, chatID("pn:+5521998765432")}, {group, chatID("g:120363025246125486@g.us")}, {lid, chatID("lid:201326548912345")}} {
		if c.o.Err != nil || len(c.o.Events) != 1 || c.o.Events[0].ConversationID != c.want {
			t.Errorf("outcome %+v, want conversation_id %s", c.o, c.want)
		}
	}
}

// messages.set (history) gives the same events as the live stream for the
// same messages, so a backfill overlapping live messages stores each once.
func TestHistoryIsTheLiveStream(t *testing.T) {
	live := decodeOne(t, testDecoder(), "evolution.loja-centro.messages.upsert", fixture(t, "messages_upsert_text.json"))
	hist := decodeOne(t, testDecoder(), "evolution.loja-centro.messages.set", fixture(t, "messages_set.json"))
	if live.Err != nil || hist.Err != nil || len(hist.Events) != 2 {
		t.Fatalf("live %+v history %+v, want one and two events", live.Err, hist)
	}
	a, b := live.Events[0], hist.Events[0]
	if a.EventID != b.EventID || !a.OccurredAt.Equal(b.OccurredAt) || a.Message.Text != b.Message.Text || a.Actor != b.Actor {
		t.Fatalf("history %+v differs from live %+v", b, a)
	}
	if own := hist.Events[1]; own.Actor.Kind != "agent" || own.Message.Direction != "outbound" {
		t.Fatalf("history's own message %+v, want an agent's: history does not say it came through the API", own)
	}
}

// Without messageTimestamp, the time is the envelope's timestamp
// (Date.now(), UTC), not date_time (local time written with a Z).
func TestTimeFallbackIsTimestamp(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "messages_upsert_text.json"), &m); err != nil {
		t.Fatal(err)
	}
	delete(m["data"].(map[string]any), "messageTimestamp")
	b, _ := json.Marshal(m)
	o := decodeOne(t, testDecoder(), "evolution.loja-centro.messages.upsert", b)
	want := time.Date(2026, 3, 2, 12, 0, 5, 120e6, time.UTC) // 1772452805120 ms
	if o.Err != nil || !o.Events[0].OccurredAt.Equal(want) {
		t.Fatalf("outcome %+v, want occurred_at %s", o, want)
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

// Edits and deletions become revisions of the stored message
// (warehouse/revise.go). Shapes (src/api/integrations/channel/whatsapp/
// whatsapp.baileys.service.ts, Evolution API 2.3.6): messages.edited is
// the protocolMessage the messages.upsert handler sends as
// MESSAGES_EDITED (type REVOKE is a deletion for everyone);
// send.message.update the same protocolMessage from updateMessage (an
// edit through the API); messages.delete the deleted message's key, from
// the messages.update handler (update.message null).
func TestDecodeRevisions(t *testing.T) {
	envelopeAt := time.UnixMilli(1772452805120).UTC() // the fixtures' envelope timestamp
	for _, tc := range []struct {
		file string
		want warehouse.Revision
	}{
		{"messages_edited.json", warehouse.Revision{ID: "evolution:loja-centro:3EB0A1B2C3D4E5F60001:edit:1772452830000",
			EventID: "evolution:loja-centro:3EB0A1B2C3D4E5F60001", Text: "Meu pedido 1235 não chegou", At: time.UnixMilli(1772452830000).UTC()}},
		{"send_message_update.json", warehouse.Revision{ID: "evolution:loja-centro:3EB0C0FFEE12345678ABCD:edit:1772452950000",
			EventID: "evolution:loja-centro:3EB0C0FFEE12345678ABCD", Text: "Seu pedido foi reenviado hoje", At: time.UnixMilli(1772452950000).UTC()}},
		// REVOKE carries no timestampMs: the envelope's time.
		{"messages_edited_revoke.json", warehouse.Revision{ID: "evolution:loja-centro:3EB0A1B2C3D4E5F60002:delete",
			EventID: "evolution:loja-centro:3EB0A1B2C3D4E5F60002", Delete: true, At: envelopeAt}},
		{"messages_delete.json", warehouse.Revision{ID: "evolution:loja-centro:3EB0A1B2C3D4E5F60002:delete",
			EventID: "evolution:loja-centro:3EB0A1B2C3D4E5F60002", Delete: true, At: envelopeAt}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			o := decodeOne(t, testDecoder(), "evolution.loja-centro.x", fixture(t, tc.file))
			if o.Err != nil || len(o.Events) != 0 || len(o.Revisions) != 1 {
				t.Fatalf("outcome %+v, want one revision and no event", o)
			}
			if got := o.Revisions[0]; got != tc.want {
				t.Fatalf("revision\n%+v, want\n%+v", got, tc.want)
			}
		})
	}
	// An edit without the key of the message it changes is a dead letter.
	o := decodeOne(t, testDecoder(), "evolution.loja-centro.x", []byte(`{"event":"messages.edited","instance":"loja-centro",`+
		`"data":{"type":"MESSAGE_EDIT","editedMessage":{"conversation":"x"},"timestampMs":"1772452830000"},"timestamp":1772452805120}`))
	var rej *event.RejectError
	if !errors.As(o.Err, &rej) || rej.Code != event.CodeMissing || len(o.Revisions) != 0 {
		t.Fatalf("outcome %+v, want a missing-field dead letter", o)
	}
}
