package evolution

import (
	"encoding/json"
	"slices"

	"github.com/cxlake/cxlake/ingest"

	"github.com/cxlake/cxlake/event"
)

// messages decodes messages.upsert (a message received, or sent from
// another device of the account: the phone, WhatsApp Web), send.message (a
// message sent through the API) and messages.set (the history the phone
// sends when the instance connects, a list of the same messages). data is
// the message as prepareMessage builds it in whatsapp.baileys.service.ts:
//
//	{"key": {"remoteJid": "5511...@s.whatsapp.net", "fromMe": false, "id": "3EB0...",
//	         "participant": "...", "remoteJidAlt": "..."},
//	 "pushName": "Ana", "message": {"conversation": "Oi"}, "messageType": "conversation",
//	 "messageTimestamp": 1717000000, "instanceId": "...", "source": "android"}
//
// Evolution sends one message per envelope (messages.set a list); an array
// is accepted for every event.
func (d *Decoder) messages(env envelope) ([]draft, error) {
	items, err := asList(env.event, "data", env.data)
	if err != nil {
		return nil, err
	}
	var out []draft
	var skipped error
	for i, it := range items {
		path := "data"
		if len(items) > 1 {
			path = "data[" + itoa(i) + "]"
		}
		dr, err := d.message(env, path, it)
		if err != nil {
			if isSkip(err) {
				skipped = err
				continue
			}
			return nil, err
		}
		out = append(out, dr)
	}
	if len(out) == 0 {
		if skipped == nil {
			skipped = reasons.Skip(env.event, "data holds no message")
		}
		return nil, skipped
	}
	return out, nil
}

func (d *Decoder) message(env envelope, path string, m obj) (draft, error) {
	ev := env.event
	key, ok, err := m.object(ev, path, "key")
	if err != nil {
		return draft{}, err
	}
	if !ok {
		return draft{}, reasons.Missing(ev, path+".key")
	}
	kp := path + ".key"
	remoteJid, err := key.str(ev, kp, "remoteJid")
	if err != nil {
		return draft{}, err
	}
	if remoteJid == "" {
		return draft{}, reasons.Missing(ev, kp+".remoteJid")
	}
	id, err := key.str(ev, kp, "id")
	if err != nil {
		return draft{}, err
	}
	if id == "" {
		return draft{}, reasons.Missing(ev, kp+".id")
	}
	fromMe, err := key.boolean(ev, kp, "fromMe")
	if err != nil {
		return draft{}, err
	}
	remote := parseJID(remoteJid)
	switch remote.kind {
	case jidBroadcast:
		return draft{}, reasons.Skip(ev, "a status update (status@broadcast) is not part of a conversation")
	case jidNewsletter:
		return draft{}, reasons.Skip(ev, "a channel (newsletter) post is not part of a conversation")
	case jidInvalid:
		return draft{}, reasons.Reject(event.CodeInvalidValue, ev, kp+".remoteJid", "%s.remoteJid is not a WhatsApp JID (user@s.whatsapp.net, @lid or @g.us)", kp)
	}

	content, _, err := m.object(ev, path, "message")
	if err != nil {
		return draft{}, err
	}
	messageType, err := m.str(ev, path, "messageType")
	if err != nil {
		return draft{}, err
	}
	kind, text := contentOf(content, messageType)
	switch kind {
	case "":
		return draft{}, reasons.Skip(ev, "the message has no content (a notice WhatsApp sends about a chat, not a message)")
	case "protocolMessage", "editedMessage", "senderKeyDistributionMessage", "messageContextInfo":
		return draft{}, reasons.Skip(ev, "message type %s edits, deletes or sets up another message; it is not a new message", ingest.QuoteName(kind))
	case "reactionMessage", "encReactionMessage", "pollUpdateMessage":
		// An emoji on a message, or a vote: no message was written, so it
		// opens no conversation and answers nothing.
		return draft{}, reasons.Skip(ev, "message type %s reacts to another message; it is not a message", ingest.QuoteName(kind))
	}

	at, ok, err := m.unixTime(ev, path, "messageTimestamp")
	if err != nil {
		return draft{}, err
	}
	if !ok {
		at = env.at
	}
	if at.IsZero() {
		return draft{}, reasons.Reject(event.CodeBadTime, ev, path+".messageTimestamp", "no time: %s.messageTimestamp, timestamp and date_time are all absent", path)
	}

	var contact event.Identity
	group := ""
	if remote.kind == jidGroup {
		group = remote.full
		if fromMe {
			// The business writes in the group: no person sent it, the group is named instead.
			contact.IDs = map[string]string{groupKey: remote.user}
		} else {
			participant, err := key.str(ev, kp, "participant")
			if err != nil {
				return draft{}, err
			}
			alt, err := key.str(ev, kp, "participantAlt")
			if err != nil {
				return draft{}, err
			}
			if !person(&contact, participant, alt) {
				return draft{}, reasons.Reject(event.CodeMissing, ev, kp+".participant", "a group message needs %s.participant, the member who wrote it, as a WhatsApp JID", kp)
			}
		}
	} else {
		alt, err := key.str(ev, kp, "remoteJidAlt")
		if err != nil {
			return draft{}, err
		}
		person(&contact, remoteJid, alt)
	}

	e := event.Event{
		EventID:    "evolution:" + env.instance + ":" + id,
		Type:       event.TypeMessage,
		OccurredAt: at,
		Source:     "evolution",
		Channel:    "whatsapp",
		Contact:    contact,
		Actor:      event.Actor{Kind: "customer"},
		Message:    &event.Message{Direction: "inbound", Text: text},
	}
	if fromMe {
		e.Actor = event.Actor{Kind: d.ownKind(env.instance, ev), ID: env.instance}
		e.Message.Direction = "outbound"
	} else if e.ContactName, err = m.str(ev, path, "pushName"); err != nil {
		return draft{}, err
	}
	if e.Extra, err = extraOf(env, kind, group); err != nil {
		return draft{}, err
	}
	return draft{ev: e, chat: chatOf(group, contact)}, nil
}

// ownKind is the actor kind of a message the instance's own account sent,
// by upstream's signals (docs/sources/evolution.md, "Who wrote it"):
//
//   - an instance in Config.BotInstances: every such message is a bot's; in
//     Config.HumanInstances: every one is an agent's;
//   - send.message: sent through Evolution's API. The bot integrations
//     (Evolution Bot, Typebot, OpenAI, Dify, Flowise, n8n, EvoAI) send
//     this way (base-chatbot.service.ts sendSingleMessage ->
//     textMessage -> sendMessageWithTyping -> SEND_MESSAGE): a bot's;
//   - messages.upsert and messages.set with key.fromMe: typed on another
//     device of the account (the phone, WhatsApp Web). Evolution's own
//     sends never come back as messages.upsert (its Baileys socket has
//     emitOwnEvents: false): an agent's.
func (d *Decoder) ownKind(instance, ev string) string {
	switch {
	case slices.Contains(d.cfg.BotInstances, instance):
		return "bot"
	case slices.Contains(d.cfg.HumanInstances, instance):
		return "agent"
	case ev == "send.message":
		return "bot"
	}
	return "agent"
}

// extra is what an Evolution event keeps in the events table's extra column.
type extra struct {
	Instance    string `json:"instance"`
	Event       string `json:"event"`
	MessageType string `json:"message_type,omitempty"`
	Group       bool   `json:"group,omitempty"` // a group chat
}

func extraOf(env envelope, messageType, group string) (json.RawMessage, error) {
	b, err := json.Marshal(map[string]extra{"evolution": {Instance: env.instance, Event: env.event, MessageType: messageType, Group: group != ""}})
	if err != nil {
		return nil, reasons.Reject(event.CodeInvalidValue, env.event, "", "cannot encode the event's extra fields")
	}
	return b, nil
}

// wrappers hold another message: their content is the inner one's.
var wrappers = []string{"ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension", "documentWithCaptionMessage"}

// contentOf returns the kind of a WhatsApp message (imageMessage,
// conversation, ...) and its text: the text of a text message, the caption
// of a medium, the chosen option of a button or list reply. Audio, stickers,
// locations, contacts, reactions and polls have no text. kind is "" when
// msg holds no content.
func contentOf(msg obj, messageType string) (kind, text string) {
	for range 3 { // unwrap nested wrappers
		unwrapped := false
		for _, w := range wrappers {
			inner, ok, _ := msg.object("", "", w)
			if !ok {
				continue
			}
			if in, ok, _ := inner.object("", "", "message"); ok {
				msg, unwrapped = in, true
				if messageType == w {
					messageType = ""
				}
				break
			}
		}
		if !unwrapped {
			break
		}
	}
	if s, _ := msg.str("", "", "conversation"); s != "" {
		return "conversation", s
	}
	for _, f := range []struct{ kind, path string }{
		{"extendedTextMessage", "text"},
		{"imageMessage", "caption"},
		{"videoMessage", "caption"},
		{"ptvMessage", "caption"},
		{"documentMessage", "caption"},
		{"buttonsResponseMessage", "selectedDisplayText"},
		{"templateButtonReplyMessage", "selectedDisplayText"},
		{"listResponseMessage", "title"},
	} {
		if o, ok, _ := msg.object("", "", f.kind); ok {
			s, _ := o.str("", "", f.path)
			return f.kind, s
		}
	}
	if messageType != "" && messageType != "unknown" && messageType != "conversation" {
		return messageType, ""
	}
	// The first member that is a message kind: audioMessage, stickerMessage, ...
	keys := make([]string, 0, len(msg))
	for k := range msg {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k != "messageContextInfo" && len(k) > len("Message") && k[len(k)-len("Message"):] == "Message" {
			return k, ""
		}
	}
	if _, ok := msg["messageContextInfo"]; ok {
		return "messageContextInfo", ""
	}
	return "", ""
}
