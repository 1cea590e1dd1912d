package evolution

import (
	"strings"

	"github.com/cxlake/cxlake/event"
)

// WhatsApp addresses people and groups by JID, user@server:
//
//	5511987654321@s.whatsapp.net   a person, by phone (c.us in older clients)
//	123456789012345@lid            a person, by a privacy-preserving "linked id"
//	120363025246125486@g.us        a group
//	status@broadcast               status updates (stories)
//	123@newsletter                 a channel
//
// A device suffix ("5511987654321:12@s.whatsapp.net") names the same person.

type jidKind int

const (
	jidInvalid jidKind = iota
	jidPhone
	jidLID
	jidGroup
	jidBroadcast
	jidNewsletter
)

type jid struct {
	kind jidKind
	user string // the part before '@', without a device suffix
	full string // lower-case user@server, for groups
}

func parseJID(s string) jid {
	s = strings.ToLower(strings.TrimSpace(s))
	user, server, ok := strings.Cut(s, "@")
	if !ok || user == "" {
		return jid{}
	}
	if i := strings.IndexByte(user, ':'); i >= 0 {
		user = user[:i]
	}
	j := jid{user: user, full: user + "@" + server}
	switch server {
	case "s.whatsapp.net", "c.us":
		if _, ok := event.NormalizePhone(user + "@s.whatsapp.net"); ok {
			j.kind = jidPhone
		}
	case "lid":
		j.kind = jidLID
	case "g.us":
		j.kind = jidGroup
	case "broadcast":
		j.kind = jidBroadcast
	case "newsletter":
		j.kind = jidNewsletter
	}
	return j
}

// lidKey is the contact.ids key of a WhatsApp linked id.
const lidKey = event.IDWhatsAppLID

// groupKey is the contact.ids key that names a group when the business
// itself writes in it (no person is the sender).
const groupKey = event.IDWhatsAppGroup

// person adds the identifiers of the person JIDs to id: a phone, and a
// linked id. A JID of another kind adds nothing. It reports whether id
// names anyone afterwards.
func person(id *event.Identity, jids ...string) bool {
	for _, s := range jids {
		j := parseJID(s)
		switch j.kind {
		case jidPhone:
			if id.Phone == "" {
				id.Phone, _ = event.NormalizePhone(j.user + "@s.whatsapp.net")
			}
		case jidLID:
			if id.IDs == nil {
				id.IDs = map[string]string{}
			}
			if id.IDs[lidKey] == "" {
				id.IDs[lidKey] = j.user
			}
		}
	}
	return !id.Empty()
}

// chatOf names the chat an event belongs to, whose messages the models cut
// into conversations: the group, else the person's phone, else their
// linked id. Only its keyed hash is kept (Decoder.chatID).
func chatOf(group string, id event.Identity) string {
	switch {
	case group != "":
		return "g:" + group
	case id.Phone != "":
		return "pn:" + id.Phone
	default:
		return "lid:" + id.IDs[lidKey]
	}
}
