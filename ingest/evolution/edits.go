package evolution

import (
	"bytes"

	"github.com/cxlake/cxlake/event"
)

// This file decodes the events that change a message already sent: edits
// and deletions. Upstream publishes them as events of their own; it never
// sends an edit inside messages.upsert (the messages.upsert handler of
// whatsapp.baileys.service.ts emits MESSAGES_EDITED for a protocolMessage
// and skips it as a new message).

// edits decodes messages.edited and send.message.update. data is the
// protocolMessage of the edit, as the messages.upsert handler (edits typed
// on the phone) and updateMessage (edits through the API) of
// whatsapp.baileys.service.ts send it:
//
//	{"key": {"remoteJid": "...", "fromMe": true, "id": "3EB0..."},
//	 "type": "MESSAGE_EDIT", "editedMessage": {"conversation": "..."},
//	 "timestampMs": "1772452900000"}
//
// A protocolMessage of type REVOKE (0) in messages.edited is a deletion
// for everyone. Both are checked and skipped: cx.event/v1 has no event
// that changes another, and the stored text of the original is kept as it
// was sent (docs/sources/evolution.md, "Edits and deletions").
func edits(env envelope) error {
	items, err := asList(env.event, "data", env.data)
	if err != nil {
		return err
	}
	revoke := false
	for i, it := range items {
		path := "data"
		if len(items) > 1 {
			path = "data[" + itoa(i) + "]"
		}
		if err := editedKey(env.event, path, it); err != nil {
			return err
		}
		t := bytes.TrimSpace(it["type"])
		revoke = revoke || string(t) == "0" || string(t) == `"REVOKE"`
	}
	if len(items) == 0 {
		return reasons.Skip(env.event, "data holds no edit")
	}
	if revoke {
		return reasons.Skip(env.event, "a message deleted for everyone; the fact it was sent is kept, cx.event/v1 has no deletion event")
	}
	return reasons.Skip(env.event, "an edit of a message already sent; the edit is not a new message and cx.event/v1 has no edit event")
}

// deletion decodes messages.delete. data is the key of the deleted message
// (the messages.update handler of whatsapp.baileys.service.ts, for a
// deletion on the phone), or the stored message with status DELETED
// (deleteMessage, for a deletion through the API).
func deletion(env envelope) error {
	items, err := asList(env.event, "data", env.data)
	if err != nil {
		return err
	}
	for i, it := range items {
		path := "data"
		if len(items) > 1 {
			path = "data[" + itoa(i) + "]"
		}
		key := it
		kp := path
		if k, ok, err := it.object(env.event, path, "key"); err != nil {
			return err
		} else if ok {
			key, kp = k, path+".key"
		}
		id, err := key.str(env.event, kp, "id")
		if err != nil {
			return err
		}
		if id == "" {
			return reasons.Missing(env.event, kp+".id")
		}
	}
	if len(items) == 0 {
		return reasons.Skip(env.event, "data holds no deleted message")
	}
	return reasons.Skip(env.event, "a message deleted for everyone; the fact it was sent is kept, cx.event/v1 has no deletion event")
}

// editedKey checks the key of the message an edit changes.
func editedKey(ev, path string, it obj) error {
	key, ok, err := it.object(ev, path, "key")
	if err != nil {
		return err
	}
	if !ok {
		return reasons.Missing(ev, path+".key")
	}
	id, err := key.str(ev, path+".key", "id")
	if err != nil {
		return err
	}
	if id == "" {
		return reasons.Missing(ev, path+".key.id")
	}
	if r, _ := key.str(ev, path+".key", "remoteJid"); r != "" && parseJID(r).kind == jidInvalid {
		return reasons.Reject(event.CodeInvalidValue, ev, path+".key.remoteJid", "%s.key.remoteJid is not a WhatsApp JID", path)
	}
	return nil
}
