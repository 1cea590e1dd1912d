package evolution

import (
	"encoding/json"
	"strconv"

	"github.com/cxlake/cxlake/ingest"

	"github.com/cxlake/cxlake/event"
)

// This file decodes the events that are checked and counted but give no
// cx.event/v1 event: delivery receipts, address-book syncs, chat lists.

// receipts decodes messages.update. data is one update as messages.update
// builds it in whatsapp.baileys.service.ts:
//
//	{"keyId": "3EB0...", "remoteJid": "...", "fromMe": true, "participant": null,
//	 "status": "READ", "instanceId": "...", "messageId": "..."}
//
// Older builds send Baileys' {"key": {...}, "update": {"status": 4}}. A
// delivery status is not a timeline event (cx.event/v1 has no receipts), so
// the update is checked and skipped.
func receipts(env envelope) error {
	items, err := asList(env.event, "data", env.data)
	if err != nil {
		return err
	}
	status := ""
	for i, it := range items {
		path := "data"
		if len(items) > 1 {
			path = "data[" + itoa(i) + "]"
		}
		keyID, err := it.str(env.event, path, "keyId")
		if err != nil {
			return err
		}
		remote, err := it.str(env.event, path, "remoteJid")
		if err != nil {
			return err
		}
		if key, ok, err := it.object(env.event, path, "key"); err != nil {
			return err
		} else if ok {
			if keyID == "" {
				if keyID, err = key.str(env.event, path+".key", "id"); err != nil {
					return err
				}
			}
			if remote == "" {
				if remote, err = key.str(env.event, path+".key", "remoteJid"); err != nil {
					return err
				}
			}
		}
		if keyID == "" {
			return reasons.Missing(env.event, path+".keyId")
		}
		if parseJID(remote).kind == jidInvalid {
			return reasons.Reject(event.CodeInvalidValue, env.event, path+".remoteJid", "%s.remoteJid is missing or not a WhatsApp JID", path)
		}
		if status, err = statusOf(env.event, path, it); err != nil {
			return err
		}
	}
	if len(items) == 0 {
		return reasons.Skip(env.event, "data holds no update")
	}
	return reasons.Skip(env.event, "delivery status %s of a message; cx.event/v1 has no delivery receipts, so status updates are counted, not stored", ingest.QuoteName(status))
}

// statusOf reads an update's status, data.status or data.update.status: a
// name (READ) or Baileys' number (4).
func statusOf(ev, path string, it obj) (string, error) {
	if s, ok := statusName(it["status"]); ok {
		return s, nil
	}
	upd, ok, err := it.object(ev, path, "update")
	if err != nil {
		return "", err
	}
	if ok {
		if s, ok := statusName(upd["status"]); ok {
			return s, nil
		}
	}
	return "", reasons.Reject(event.CodeMissing, ev, path+".status", "%s.status, the delivery status, is missing or neither a name nor a number", path)
}

func statusName(raw []byte) (string, bool) {
	if isNull(raw) {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s, true
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		names := []string{"ERROR", "PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED"}
		if n >= 0 && n < len(names) {
			return names[n], true
		}
	}
	return "", false
}

// addressBook decodes contacts.upsert, contacts.update and chats.upsert.
// data is a list (or one) of {"remoteJid": "...", "pushName": "...",
// "profilePicUrl": "...", "instanceId": "..."} for contacts, and of
// {"remoteJid": "...", "name": "...", "unreadMessages": 0} for chats
// (contactHandle and chatHandle in whatsapp.baileys.service.ts). They are
// the phone's address book and chat list: names and pictures of people who
// may never have written to the business. cxlake keeps people only from
// their messages (whose pushName carries the name), so these are checked
// and skipped.
func addressBook(env envelope) error {
	items, err := asList(env.event, "data", env.data)
	if err != nil {
		return err
	}
	for i, it := range items {
		path := "data[" + itoa(i) + "]"
		jidStr, err := it.str(env.event, path, "remoteJid")
		if err != nil {
			return err
		}
		if jidStr == "" {
			if jidStr, err = it.str(env.event, path, "id"); err != nil {
				return err
			}
		}
		if jidStr == "" {
			return reasons.Missing(env.event, path+".remoteJid")
		}
		if parseJID(jidStr).kind == jidInvalid {
			return reasons.Reject(event.CodeInvalidValue, env.event, path+".remoteJid", "%s.remoteJid is not a WhatsApp JID", path)
		}
	}
	what := "contacts"
	if env.event == "chats.upsert" {
		what = "chats"
	}
	return reasons.Skip(env.event, "%d %s from the phone's address book or chat list; people are kept only from their messages, which carry their name", len(items), what)
}

func itoa(i int) string { return strconv.Itoa(i) }
