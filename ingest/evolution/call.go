package evolution

import (
	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
)

// call decodes a call event. data is Baileys' WACallEvent:
//
//	{"id": "...", "chatId": "5511...@s.whatsapp.net", "from": "5511...@s.whatsapp.net",
//	 "isGroup": false, "groupJid": "...", "date": "2026-...", "isVideo": false,
//	 "status": "offer", "offline": false}
//
// An offer is a person calling the business: an inbound WhatsApp message
// with no text (message_type "call" in extra), so an unanswered call is
// waiting for a response like any message. The other statuses (ringing,
// accept, reject, timeout, terminate) follow an offer and are skipped.
func (d *Decoder) call(env envelope) ([]draft, error) {
	ev := env.event
	c, ok, err := asObject(ev, "data", env.data)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, reasons.Missing(ev, "data")
	}
	id, err := c.str(ev, "data", "id")
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, reasons.Missing(ev, "data.id")
	}
	status, err := c.str(ev, "data", "status")
	if err != nil {
		return nil, err
	}
	if status != "offer" {
		return nil, reasons.Skip(ev, "call status %s; only the offer, the person calling, is recorded", ingest.QuoteName(status))
	}
	from, err := c.str(ev, "data", "from")
	if err != nil {
		return nil, err
	}
	callerPn, err := c.str(ev, "data", "callerPn")
	if err != nil {
		return nil, err
	}
	var contact event.Identity
	if !person(&contact, from, callerPn) {
		return nil, reasons.Reject(event.CodeMissing, ev, "data.from", "data.from, the caller, is missing or not a person's WhatsApp JID")
	}
	group := ""
	if isGroup, err := c.boolean(ev, "data", "isGroup"); err != nil {
		return nil, err
	} else if isGroup {
		g, err := c.str(ev, "data", "groupJid")
		if err != nil {
			return nil, err
		}
		if j := parseJID(g); j.kind == jidGroup {
			group = j.full
		}
	}
	at, ok, err := c.isoTime(ev, "data", "date")
	if err != nil {
		return nil, err
	}
	if !ok {
		at = env.at
	}
	if at.IsZero() {
		return nil, reasons.Reject(event.CodeBadTime, ev, "data.date", "no time: data.date, timestamp and date_time are all absent")
	}
	kind := "call"
	if video, err := c.boolean(ev, "data", "isVideo"); err != nil {
		return nil, err
	} else if video {
		kind = "video_call"
	}
	e := event.Event{
		EventID:    "evolution:" + env.instance + ":call:" + id,
		Type:       event.TypeMessage,
		OccurredAt: at,
		Source:     "evolution",
		Channel:    "whatsapp",
		Contact:    contact,
		Actor:      event.Actor{Kind: "customer"},
		Message:    &event.Message{Direction: "inbound"},
	}
	if e.Extra, err = extraOf(env, kind, group); err != nil {
		return nil, err
	}
	return []draft{{ev: e, chat: chatOf(group, contact)}}, nil
}
