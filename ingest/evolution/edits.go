package evolution

import (
	"bytes"
	"strconv"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/warehouse"
)

// This file decodes the events that change a message already sent: edits
// and deletions. Upstream publishes them as events of their own; it never
// sends an edit inside messages.upsert (the messages.upsert handler of
// whatsapp.baileys.service.ts emits MESSAGES_EDITED for a protocolMessage
// and skips it as a new message). They become warehouse.Revisions of the
// stored message "evolution:<instance>:<key.id>", which replace or remove
// its sealed text (warehouse/revise.go; docs/sources/evolution.md, "Edits
// and deletions").

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
// for everyone. The revision's time is timestampMs, else the envelope's.
func edits(env envelope) ([]warehouse.Revision, error) {
	items, err := asList(env.event, "data", env.data)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, reasons.Skip(env.event, "data holds no edit")
	}
	out := make([]warehouse.Revision, 0, len(items))
	for i, it := range items {
		path := "data"
		if len(items) > 1 {
			path = "data[" + itoa(i) + "]"
		}
		id, err := editedKey(env.event, path, it)
		if err != nil {
			return nil, err
		}
		at, ok, err := it.unixTime(env.event, path, "timestampMs")
		if err != nil {
			return nil, err
		}
		if !ok {
			if at = env.at; at.IsZero() {
				return nil, reasons.Missing(env.event, path+".timestampMs")
			}
		}
		target := "evolution:" + env.instance + ":" + id
		t := bytes.TrimSpace(it["type"])
		if string(t) == "0" || string(t) == `"REVOKE"` {
			out = append(out, deleted(target, at))
			continue
		}
		edited, ok, err := it.object(env.event, path, "editedMessage")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, reasons.Missing(env.event, path+".editedMessage")
		}
		_, text := contentOf(edited, "")
		out = append(out, warehouse.Revision{ID: target + ":edit:" + strconv.FormatInt(at.UnixMilli(), 10),
			EventID: target, Text: text, At: at})
	}
	return out, nil
}

// deleted is the deletion of message target at at.
func deleted(target string, at time.Time) warehouse.Revision {
	return warehouse.Revision{ID: target + ":delete", EventID: target, Delete: true, At: at}
}

// deletion decodes messages.delete. data is the key of the deleted message
// (the messages.update handler of whatsapp.baileys.service.ts, for a
// deletion on the phone), or the stored message with status DELETED
// (deleteMessage, for a deletion through the API). Neither carries the
// time of the deletion: it is the envelope's.
func deletion(env envelope) ([]warehouse.Revision, error) {
	items, err := asList(env.event, "data", env.data)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, reasons.Skip(env.event, "data holds no deleted message")
	}
	if env.at.IsZero() {
		return nil, reasons.Missing(env.event, "timestamp")
	}
	out := make([]warehouse.Revision, 0, len(items))
	for i, it := range items {
		path := "data"
		if len(items) > 1 {
			path = "data[" + itoa(i) + "]"
		}
		key := it
		kp := path
		if k, ok, err := it.object(env.event, path, "key"); err != nil {
			return nil, err
		} else if ok {
			key, kp = k, path+".key"
		}
		id, err := key.str(env.event, kp, "id")
		if err != nil {
			return nil, err
		}
		if id == "" {
			return nil, reasons.Missing(env.event, kp+".id")
		}
		out = append(out, deleted("evolution:"+env.instance+":"+id, env.at))
	}
	return out, nil
}

// editedKey checks the key of the message an edit changes and returns its id.
func editedKey(ev, path string, it obj) (string, error) {
	key, ok, err := it.object(ev, path, "key")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", reasons.Missing(ev, path+".key")
	}
	id, err := key.str(ev, path+".key", "id")
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", reasons.Missing(ev, path+".key.id")
	}
	if r, _ := key.str(ev, path+".key", "remoteJid"); r != "" && parseJID(r).kind == jidInvalid {
		return "", reasons.Reject(event.CodeInvalidValue, ev, path+".key.remoteJid", "%s.key.remoteJid is not a WhatsApp JID", path)
	}
	return id, nil
}
