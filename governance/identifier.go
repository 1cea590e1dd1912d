package governance

import (
	"regexp"
	"strings"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/privacy"
)

// Identifier names a person in a privacy request: a phone, an e-mail, a
// per-channel id, or a contact_key. Values are normalized as ingest stores
// them. It is personal data: it is never logged, stored or audited; only
// its keyed hash is.
type Identifier struct {
	Kind  string // privacy.KindPhone, privacy.KindEmail, "id:<channel>", or KindContactKey
	Value string
}

// KindContactKey names a person by the contact_key of the models.
const KindContactKey = "contact_key"

// ParsePhone accepts a phone number with its country code, in any form
// ingest accepts: E.164 with punctuation (+55 (11) 98765-4321), 00 and the
// country code, a WhatsApp JID. A number without a country code, such as
// a national (51) 9xxxx-xxxx, is refused, not guessed: read as E.164
// it is another country's number, and "no data is held" would be a false
// answer to a regulator.
func ParsePhone(s string) (Identifier, error) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "+") && !strings.HasPrefix(t, "00") && !strings.Contains(t, "@") {
		return Identifier{}, &IdentifierError{Kind: "phone", Reason: "a phone number needs its country code: give it in E.164, with + and the country code, such as +55 11 98765-4321 (Brazil, area 11)"}
	}
	p, ok := event.NormalizePhone(t)
	if !ok {
		return Identifier{}, &IdentifierError{Kind: "phone", Reason: "not a phone number; give E.164 such as +5511987654321"}
	}
	return Identifier{Kind: privacy.KindPhone, Value: p}, nil
}

// ParseEmail accepts an e-mail address.
func ParseEmail(s string) (Identifier, error) {
	e, ok := event.NormalizeEmail(s)
	if !ok {
		return Identifier{}, &IdentifierError{Kind: "email", Reason: "not an e-mail address (it needs one @ with text on both sides)"}
	}
	return Identifier{Kind: privacy.KindEmail, Value: e}, nil
}

var (
	contactKeyRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	channelRE    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// ParseContact accepts a per-channel id as channel:id (webchat:c0ffee-42),
// or a contact_key (32 hex characters).
func ParseContact(s string) (Identifier, error) {
	s = strings.TrimSpace(s)
	if contactKeyRE.MatchString(s) {
		return Identifier{Kind: KindContactKey, Value: s}, nil
	}
	ch, id, ok := strings.Cut(s, ":")
	ch = strings.ToLower(ch)
	if !ok || !channelRE.MatchString(ch) || id == "" {
		return Identifier{}, &IdentifierError{Kind: "contact", Reason: "give a per-channel id as channel:id (e.g. webchat:c0ffee-42) or a contact_key (32 hex characters)"}
	}
	// Normalized as ingest normalizes contact.ids: a WhatsApp number is a
	// phone, an Instagram handle has no case, and so on.
	norm, phone, email, ok := event.NormalizeID(ch, id)
	switch {
	case !ok:
		return Identifier{}, &IdentifierError{Kind: "contact", Reason: "the id after the channel is empty"}
	case phone != "":
		return Identifier{Kind: privacy.KindPhone, Value: phone}, nil
	case email != "":
		return Identifier{Kind: privacy.KindEmail, Value: email}, nil
	}
	return Identifier{Kind: privacy.KindIDPrefix + ch, Value: norm}, nil
}

// ParseIdentifier parses value as kind "phone", "email" or "contact".
func ParseIdentifier(kind, value string) (Identifier, error) {
	switch kind {
	case "phone":
		return ParsePhone(value)
	case "email":
		return ParseEmail(value)
	case "contact":
		return ParseContact(value)
	}
	return Identifier{}, &IdentifierError{Kind: kind, Reason: "unknown identifier kind; use phone, email or contact"}
}

// hash returns the identifier's keyed hash (for a contact_key, the key itself).
func (id Identifier) hash(h *privacy.Hasher) string {
	if id.Kind == KindContactKey {
		return id.Value
	}
	return h.Identifier(id.Kind, id.Value)
}
