package chatwoot

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var kafkaTime = time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)

func decodeOne(t testing.TB, d *Decoder, value []byte) ingest.Outcome {
	t.Helper()
	out := d.Decode([]ingest.Message{{Topic: DefaultTopic, Offset: 1, Value: value, Time: kafkaTime}})
	if len(out) != 1 {
		t.Fatalf("%d outcomes for one message", len(out))
	}
	return out[0]
}

func testDecoder() *Decoder { return New(Config{Secret: "0123456789abcdef0123"}, event.Decoder{}) }

// The fixtures are Chatwoot webhook payloads as Chatwoot builds them, with
// made-up people. Shapes: the samples of message_created, message_updated
// and conversation_status_changed in chatwoot/docs
// (docs/product/others/webhook-events.md); Conversation#webhook_data =
// Conversations::EventDataPresenter#push_data (meta.sender, meta.assignee,
// meta.team, status, timestamps); changed_attributes as
// BaseListener#extract_changed_attributes builds it ([{attr:
// {previous_value, current_value}}]) and WebhookListener merges it into
// conversation_status_changed, conversation_updated and contact_updated;
// sender types "user" (User#webhook_data) and "agent_bot"
// (AgentBot#webhook_data); a CSAT answer as the widget submits it
// (content_attributes.submitted_values.csat_survey_response {rating,
// feedback_message}) on the input_csat survey message.
func TestDecodeFixtures(t *testing.T) {
	type want struct {
		outcome   string // event, skip, dead
		code      string
		typ       string
		eventID   string
		at        string
		direction string
		actor     string
		actorID   string
		team      string
		text      string
		private   bool
		toTeam    string
		csat      int
		link      *event.Identity
	}
	ana := event.Identity{Phone: "+5511987654321", Email: "ana@example.com", IDs: map[string]string{"chatwoot": "502"}}
	for _, tc := range []struct {
		file string
		want want
	}{
		{"01_contact_created.json", want{outcome: "event", typ: event.TypeIdentityLink, at: "2026-03-02T16:00:00Z",
			link: &event.Identity{Phone: ana.Phone, Email: ana.Email}}},
		{"02_conversation_created.json", want{outcome: "event", typ: event.TypeConversationOpened, eventID: "chatwoot:1:78:opened", at: "2026-03-02T13:00:00Z"}},
		{"03_message_created_incoming.json", want{outcome: "event", typ: event.TypeMessage, eventID: "chatwoot:msg:9001", at: "2026-03-02T13:00:05Z",
			direction: "inbound", actor: "customer", text: "Quero trocar o tamanho do pedido 1234"}},
		{"04_message_created_bot.json", want{outcome: "event", typ: event.TypeMessage, direction: "outbound", actor: "bot", actorID: "agent_bot:3",
			text: "Posso ajudar com trocas. Qual o novo tamanho?"}},
		{"06_conversation_status_changed_handoff.json", want{outcome: "event", typ: event.TypeHandoff, at: "2026-03-02T13:01:05.123Z", toTeam: "suporte"}},
		{"07_conversation_updated_assignee.json", want{outcome: "event", typ: event.TypeAssigned, at: "2026-03-02T13:01:06.123Z",
			actor: "agent", actorID: "7", team: "suporte"}},
		{"08_message_created_activity.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"09_message_created_private_note.json", want{outcome: "event", typ: event.TypeMessage, direction: "outbound", actor: "agent", actorID: "7",
			team: "suporte", private: true, text: "cliente recorrente, priorizar"}},
		{"10_message_created_agent.json", want{outcome: "event", typ: event.TypeMessage, at: "2026-03-02T13:03:05Z", direction: "outbound",
			actor: "agent", actorID: "7", team: "suporte", text: "Oi Ana, já troquei o tamanho. Chega amanhã."}},
		{"11_conversation_updated_labels.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"12_conversation_status_changed_resolved.json", want{outcome: "event", typ: event.TypeResolved, at: "2026-03-02T13:10:00.123Z",
			actor: "agent", actorID: "7", team: "suporte"}},
		// meta.assignee is Conversation#assigned_entity, an AgentBot when
		// assignee_agent_bot_id is set, with meta.assignee_type "AgentBot"
		// (app/models/conversation.rb, app/models/agent_bot.rb
		// push_event_data type "agent_bot",
		// app/presenters/conversations/event_data_presenter.rb push_meta).
		// Agent bot 7 is not user 7.
		{"conversation_status_changed_resolved_by_agent_bot.json", want{outcome: "event", typ: event.TypeResolved, at: "2026-03-02T13:10:00.123Z",
			actor: "bot", actorID: "agent_bot:7"}},
		{"conversation_updated_assignee_agent_bot.json", want{outcome: "event", typ: event.TypeAssigned, at: "2026-03-02T13:01:06.123Z",
			actor: "bot", actorID: "agent_bot:7"}},
		{"13_message_created_csat_survey.json", want{outcome: "event", typ: event.TypeMessage, direction: "outbound", actor: "system",
			text: "Por favor, avalie o atendimento"}},
		{"14_message_updated_csat.json", want{outcome: "event", typ: event.TypeSurvey, eventID: "chatwoot:csat:9007:5", at: "2026-03-02T13:12:00.123Z", csat: 5}},
		{"15_message_created_incoming_after_resolution.json", want{outcome: "event", typ: event.TypeMessage, direction: "inbound", actor: "customer",
			text: "Ainda não recebi o pedido"}},
		{"16_conversation_status_changed_reopened.json", want{outcome: "event", typ: event.TypeReopened, at: "2026-03-02T15:00:01.123Z"}},
		{"17_conversation_status_changed_resolved_again.json", want{outcome: "event", typ: event.TypeResolved, at: "2026-03-02T15:05:00.123Z"}},
		{"contact_updated.json", want{outcome: "event", typ: event.TypeIdentityLink,
			link: &event.Identity{Phone: ana.Phone, Email: "ana.souza@example.com"}}},
		{"contact_created_anonymous.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"conversation_status_changed_snoozed.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"conversation_status_changed_legacy_open.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"message_updated_edit.json", want{outcome: "skip", code: ingest.SkipNoTimelineEvent}},
		{"webwidget_triggered.json", want{outcome: "skip", code: ingest.SkipUnknownEvent}},
		{"bad_conversation_without_inbox.json", want{outcome: "dead", code: event.CodeMissing}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			o := decodeOne(t, testDecoder(), fixture(t, tc.file))
			w := tc.want
			var skipErr *ingest.SkipError
			var rej *event.RejectError
			switch w.outcome {
			case "skip":
				if !errors.As(o.Err, &skipErr) || skipErr.Code != w.code || skipErr.Reason == "" {
					t.Fatalf("outcome %+v, want a %s skip with a reason", o, w.code)
				}
				return
			case "dead":
				if !errors.As(o.Err, &rej) || rej.Code != w.code {
					t.Fatalf("outcome %+v, want a %s dead letter", o, w.code)
				}
				if bytes.Contains(o.Stored, []byte("s76CptSuowp4BDcBom2q7aNX")) {
					t.Fatal("the dead letter keeps the contact's pubsub_token")
				}
				return
			}
			if o.Err != nil || len(o.Events) != 1 {
				t.Fatalf("outcome %+v, want one event", o)
			}
			e := o.Events[0]
			if e.Type != w.typ || e.Source != "chatwoot" {
				t.Fatalf("type %s source %s, want %s from chatwoot", e.Type, e.Source, w.typ)
			}
			if w.eventID != "" && e.EventID != w.eventID {
				t.Errorf("event_id %q, want %q", e.EventID, w.eventID)
			}
			if w.at != "" && e.OccurredAt.Format(time.RFC3339Nano) != w.at {
				t.Errorf("occurred_at %s, want %s", e.OccurredAt.Format(time.RFC3339Nano), w.at)
			}
			if e.Type == event.TypeIdentityLink {
				if e.Contact.IDs["chatwoot"] != "502" || e.Link == nil || e.Link.Phone != w.link.Phone || e.Link.Email != w.link.Email {
					t.Fatalf("identity link %+v -> %+v, want chatwoot 502 -> %+v", e.Contact, e.Link, w.link)
				}
				return
			}
			if e.Channel != "webchat" || e.ConversationID != "chatwoot:1:78" {
				t.Errorf("channel %q conversation %q, want webchat chatwoot:1:78", e.Channel, e.ConversationID)
			}
			if e.Contact.Phone != ana.Phone || e.Contact.Email != ana.Email || e.Contact.IDs["chatwoot"] != "502" {
				t.Errorf("contact %+v, want Ana's phone, email and Chatwoot id", e.Contact)
			}
			if w.actor != "" && (e.Actor.Kind != w.actor || e.Actor.ID != w.actorID || e.Actor.Team != w.team) {
				t.Errorf("actor %+v, want %s %q team %q", e.Actor, w.actor, w.actorID, w.team)
			}
			if e.Type == event.TypeMessage {
				if e.Message.Direction != w.direction || e.Message.Text != w.text || e.Message.Private != w.private {
					t.Errorf("message %+v, want %s %q private=%v", e.Message, w.direction, w.text, w.private)
				}
			}
			if w.toTeam != "" && (e.Handoff == nil || e.Handoff.ToTeam != w.toTeam) {
				t.Errorf("handoff %+v, want to team %s", e.Handoff, w.toTeam)
			}
			if w.csat != 0 && (e.Survey == nil || e.Survey.Kind != "csat" || e.Survey.Score != w.csat || e.Survey.Comment != "Resolveram rápido") {
				t.Errorf("survey %+v, want csat %d with its comment", e.Survey, w.csat)
			}
			if bytes.Contains(e.Raw, []byte("s76CptSuowp4BDcBom2q7aNX")) || !json.Valid(e.Raw) {
				t.Errorf("raw keeps the pubsub_token or is not JSON")
			}
		})
	}
}

// setConversation rewrites the conversation of a fixture (a message's
// conversation, or the payload itself for conversation events).
func setConversation(t *testing.T, raw []byte, f func(c map[string]any)) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if c, ok := p["conversation"].(map[string]any); ok {
		f(c)
	} else {
		f(p)
	}
	b, _ := json.Marshal(p)
	return b
}

func TestChannels(t *testing.T) {
	for _, tc := range []struct {
		inboxType, additionalType, want string
		inboxChannels                   map[string]string
	}{
		{"Channel::Whatsapp", "", "whatsapp", nil},
		{"Channel::WebWidget", "", "webchat", nil},
		{"Channel::Email", "", "email", nil},
		{"Channel::Instagram", "", "instagram", nil},
		{"Channel::FacebookPage", "", "messenger", nil},
		{"Channel::FacebookPage", "instagram_direct_message", "instagram", nil},
		{"Channel::Telegram", "", "telegram", nil},
		{"Channel::Api", "", "app", nil},
		{"Channel::Api", "", "whatsapp", map[string]string{"1": "whatsapp"}}, // an API inbox fed by a WhatsApp bridge
		{"Channel::Sms", "", "sms", nil},
		{"Channel::TwilioSms", "", "sms", nil},
		{"Channel::Tiktok", "", "app", nil},
		{"Channel::Pigeon", "", "", nil},
		{"", "", "", nil},
	} {
		raw := setConversation(t, fixture(t, "03_message_created_incoming.json"), func(c map[string]any) {
			c["channel"] = tc.inboxType
			c["additional_attributes"] = map[string]any{"type": tc.additionalType}
			if tc.want == "" {
				c["inbox_id"] = 4711
			}
		})
		d := New(Config{Secret: "0123456789abcdef0123", InboxChannels: tc.inboxChannels}, event.Decoder{})
		o := decodeOne(t, d, raw)
		if tc.want == "" {
			var rej *event.RejectError
			if !errors.As(o.Err, &rej) || rej.Field != "conversation.channel" {
				t.Errorf("%s: %+v, want a dead letter naming conversation.channel", tc.inboxType, o)
				continue
			}
			// The reason says where the inbox id is, without quoting it
			// or describing it by its length.
			if !strings.Contains(rej.Reason, "conversation.inbox_id") || strings.Contains(rej.Reason, "4711") || strings.Contains(rej.Reason, "characters") {
				t.Errorf("%s: reason %q, want it to name conversation.inbox_id without its value", tc.inboxType, rej.Reason)
			}
			continue
		}
		if o.Err != nil || o.Events[0].Channel != tc.want {
			t.Errorf("%s/%s: %+v, want channel %s", tc.inboxType, tc.additionalType, o, tc.want)
		}
	}
}

func TestMessageTypesAndSenders(t *testing.T) {
	raw := fixture(t, "04_message_created_bot.json")
	var p map[string]any
	json.Unmarshal(raw, &p)
	p["message_type"] = 1 // push_event_data's number for outgoing
	p["sender"] = nil     // an automation, no sender
	b, _ := json.Marshal(p)
	o := decodeOne(t, testDecoder(), b)
	if o.Err != nil || o.Events[0].Actor.Kind != "system" || o.Events[0].Message.Direction != "outbound" {
		t.Fatalf("an outgoing message without sender: %+v, want a system message", o)
	}
	p["message_type"] = "broadcast"
	b, _ = json.Marshal(p)
	var rej *event.RejectError
	if o := decodeOne(t, testDecoder(), b); !errors.As(o.Err, &rej) || rej.Field != "message_type" {
		t.Fatalf("an unknown message_type: %+v, want a dead letter", o)
	}
	// A contact without a phone or email (a web visitor) is named by its Chatwoot id.
	raw = setConversation(t, fixture(t, "03_message_created_incoming.json"), func(c map[string]any) {
		m := c["meta"].(map[string]any)
		m["sender"] = map[string]any{"id": 777, "name": "little-haze-776", "type": "contact", "email": nil, "phone_number": nil}
	})
	if o := decodeOne(t, testDecoder(), raw); o.Err != nil || o.Events[0].Contact.IDs["chatwoot"] != "777" || o.Events[0].Contact.Phone != "" {
		t.Fatalf("visitor: %+v", o)
	}
}

func TestMalformedPayloads(t *testing.T) {
	for name, raw := range map[string]string{
		"not JSON":       `{"event": "message_created", "id": `,
		"no event":       `{"id": 1}`,
		"wrong type":     `{"event": "message_created", "id": 1, "created_at": {"a": 1}, "conversation": {}}`,
		"no contact":     `{"event": "conversation_created", "id": 5, "inbox_id": 1, "channel": "Channel::WebWidget", "meta": {}}`,
		"unknown status": `{"event": "conversation_status_changed", "id": 5, "inbox_id": 1, "channel": "Channel::WebWidget", "status": "archived", "meta": {"sender": {"id": 9, "type": "contact"}}}`,
	} {
		o := decodeOne(t, testDecoder(), []byte(raw))
		var rej *event.RejectError
		if !errors.As(o.Err, &rej) || rej.Reason == "" {
			t.Errorf("%s: %+v, want a dead letter with a reason", name, o)
		}
		if name == "wrong type" && (rej.Field != "created_at" || !strings.Contains(rej.Reason, "created_at is an object")) {
			t.Errorf("wrong type: field %q reason %q, want it to name created_at and say it is an object", rej.Field, rej.Reason)
		}
	}
}

// A deleted message arrives as message_updated with
// content_attributes.deleted (Chatwoot's messages controller, destroy, in
// app/controllers/api/v1/accounts/conversations/messages_controller.rb,
// replaces the content with its "deleted" text): it becomes a deletion of
// the stored message, dated when the webhook reached Kafka, and never an
// event carrying the placeholder text. The same update without the flag
// (an edit) is still skipped.
func TestDecodeDeletedMessage(t *testing.T) {
	o := decodeOne(t, testDecoder(), fixture(t, "message_updated_deleted.json"))
	if o.Err != nil || len(o.Events) != 0 || len(o.Revisions) != 1 {
		t.Fatalf("outcome %+v, want one revision and no event", o)
	}
	r := o.Revisions[0]
	// 10_message_created_agent.json stored message 9006 as chatwoot:msg:9006.
	if r.ID != "chatwoot:msg:9006:delete" || r.EventID != "chatwoot:msg:9006" || !r.Delete || r.Text != "" || !r.At.Equal(kafkaTime) {
		t.Errorf("revision %+v, want the deletion of chatwoot:msg:9006 at %s", r, kafkaTime)
	}
	undeleted := bytes.Replace(fixture(t, "message_updated_deleted.json"), []byte(`"deleted": true`), []byte(`"deleted": false`), 1)
	var skip *ingest.SkipError
	if o := decodeOne(t, testDecoder(), undeleted); len(o.Revisions) != 0 || !errors.As(o.Err, &skip) {
		t.Errorf("an update with deleted false: %+v, want a skip", o)
	}
	noID := bytes.Replace(fixture(t, "message_updated_deleted.json"), []byte(`"id": 9006`), []byte(`"id": null`), 1)
	var rej *event.RejectError
	if o := decodeOne(t, testDecoder(), noID); !errors.As(o.Err, &rej) || rej.Code != event.CodeMissing {
		t.Errorf("a deletion without an id: %+v, want a missing-field dead letter", o)
	}
}
