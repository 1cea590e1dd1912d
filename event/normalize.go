package event

import (
	"net/url"
	"strings"
)

// This file is the one home of identifier normalization: the function of
// each identifier kind that ingest applies when it decodes an event, and
// that erasure, export and suppression apply to the identifier a request
// names, so that the two always agree on when two values are one
// identifier. Phone country rules are in phone.go.

// NormalizePhone returns phone in E.164 ("+5511987654321"), in the
// canonical form of its line (phone.go: Brazil's 9th digit). It accepts the
// usual punctuation ("+55 (11) 98765-4321"), an international "00" prefix,
// bare digits that already include the country code, and WhatsApp JIDs
// ("5511987654321@s.whatsapp.net", "...@c.us"). ok is false when the value is
// not a phone number, for example a group JID ("...@g.us"), or a national
// number written with a trunk prefix ("011 98765-4321": no country code).
func NormalizePhone(phone string) (e164 string, ok bool) {
	var buf [17]byte
	b, ok := appendPhone(buf[:0], phone)
	if !ok {
		return "", false
	}
	return string(b), true
}

// appendPhone appends phone in E.164 to dst, as NormalizePhone returns it.
// Decode uses it to normalize without allocating.
func appendPhone(dst []byte, phone string) ([]byte, bool) {
	p := strings.TrimSpace(phone)
	if at := strings.IndexByte(p, '@'); at >= 0 {
		switch strings.ToLower(p[at+1:]) {
		case "s.whatsapp.net", "c.us":
			p = p[:at]
			if colon := strings.IndexByte(p, ':'); colon >= 0 { // device suffix "5511...:12"
				p = p[:colon]
			}
		default:
			return dst, false
		}
	}
	if rest, ok := strings.CutPrefix(p, "00"); ok {
		p = "+" + rest
	}
	start := len(dst)
	dst = append(dst, '+')
	for i, r := range p {
		switch {
		case r >= '0' && r <= '9':
			// E.164 allows at most 15 digits.
			if len(dst)-start > 15 {
				return dst[:start], false
			}
			dst = append(dst, byte(r))
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return dst[:start], false
		}
	}
	// Fewer than 8 digits cannot hold a country code and a subscriber
	// number, and no country code starts with 0 (a leading 0 is a national
	// trunk prefix: the country is unknown).
	if digits := dst[start+1:]; len(digits) < 8 || digits[0] == '0' {
		return dst[:start], false
	}
	return canonicalPhone(dst, start), true
}

// NormalizeEmail trims and lower-cases an email address. A value with no
// "@" but a percent-encoded one ("ana%40example.org", as URLs and some
// form posts carry it) is percent-decoded first. ok is false when the value
// does not look like an address (one "@" with text on both sides).
func NormalizeEmail(email string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(email))
	if !strings.Contains(e, "@") && strings.Contains(e, "%40") {
		d, err := url.PathUnescape(e)
		if err != nil {
			return "", false
		}
		e = strings.TrimSpace(d)
	}
	at := strings.IndexByte(e, '@')
	if at <= 0 || at != strings.LastIndexByte(e, '@') || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n") {
		return "", false
	}
	return e, true
}

// Keys of contact.ids and link.ids besides the channels: ids that sources
// derive from their own payloads.
const (
	IDChatwoot           = "chatwoot"            // a Chatwoot contact id
	IDChatwootIdentifier = "chatwoot_identifier" // the identifier a business sets on a Chatwoot contact
	IDWhatsAppLID        = "whatsapp_lid"        // a WhatsApp linked id (LID)
	IDWhatsAppGroup      = "whatsapp_group"      // a WhatsApp group, when the business writes in it
)

// idKeys are the keys accepted in contact.ids and link.ids, sorted: the
// channels and the source ids above. Any other key is rejected, so that a
// producer cannot make up identifier kinds.
var idKeys = []string{
	"app", IDChatwoot, IDChatwootIdentifier, "email", "instagram", "messenger", "sms",
	"telegram", "voice", "webchat", "whatsapp", IDWhatsAppGroup, IDWhatsAppLID,
}

// MaxIDs is the most entries one contact.ids or link.ids object may have.
// A person has one id per channel; the limit leaves room for every known key.
const MaxIDs = 16

// NormalizeID normalizes value, sent as contact.ids[key] (key lower case),
// by the rule of the channel it names:
//
//   - whatsapp, sms, voice: these channels address a person by phone
//     number. A value that is a phone (NormalizePhone) is that phone: it is
//     returned as phone, the same identifier as contact.phone. Any other
//     value is an id, lower-cased (WhatsApp JIDs are lower case).
//   - email: a value that is an e-mail address (NormalizeEmail) is returned
//     as email, the same identifier as contact.email.
//   - instagram, telegram, messenger: usernames are case-insensitive on
//     these platforms (Instagram and Telegram usernames, Facebook usernames;
//     the numeric ids Chatwoot uses, IGSIDs and PSIDs, have no case), so the
//     id is lower-cased, without a leading "@".
//   - whatsapp_lid, whatsapp_group: numeric WhatsApp ids, lower-cased.
//   - webchat, app, chatwoot, chatwoot_identifier: opaque ids chosen by a
//     widget, an app or a business (tokens, UUIDs, user ids), which may be
//     case-sensitive: kept as sent.
//
// Every value is trimmed of surrounding white space. ok is false when
// nothing is left.
func NormalizeID(key, value string) (id, phone, email string, ok bool) {
	v := strings.TrimSpace(value)
	switch key {
	case "whatsapp", "sms", "voice":
		if p, ok := NormalizePhone(v); ok {
			return "", p, "", true
		}
		v = strings.ToLower(v)
	case "email":
		if e, ok := NormalizeEmail(v); ok {
			return "", "", e, true
		}
	case "instagram", "telegram", "messenger":
		v = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(v, "@")))
	case IDWhatsAppLID, IDWhatsAppGroup:
		v = strings.ToLower(v)
	}
	return v, "", "", v != ""
}

// KnownIDKey reports whether key (lower case) may name an id in
// contact.ids or link.ids.
func KnownIDKey(key string) bool {
	for _, k := range idKeys {
		if k == key {
			return true
		}
	}
	return false
}
