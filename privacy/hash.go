package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"regexp"
	"strconv"
)

// Identifier kinds. A per-channel id's kind is "id:" and the channel.
const (
	KindPhone    = "phone"
	KindEmail    = "email"
	KindIDPrefix = "id:"
)

// HashLen is the length of every hash this package returns: 32 hex
// characters, the first 128 bits of an HMAC-SHA256.
const HashLen = 32

// Hash domains keep a contact_key from ever equalling an identifier hash.
const (
	domainIdentifier = "cxlake/identifier/v1"
	domainContact    = "cxlake/contact_key/v1"
	domainCheck      = "cxlake/key_check/v1"
	domainContent    = "cxlake/event_content/v1"
	// domainWhatsAppChat keys the chat part of WhatsApp conversation ids
	// (ingest/evolution). Its message is the domain, instance and chat
	// joined by NUL bytes, not length-prefixed as the others: that is how
	// the ids already stored were made, and neither an instance (a Kafka
	// topic name part) nor the domain can hold a NUL, so the encoding is
	// unambiguous.
	domainWhatsAppChat = "cxlake/whatsapp_chat/v1"
	domainConversation = "cxlake/conversation/v1"
	domainActor        = "cxlake/actor_key/v1"
	domainTextToken    = "cxlake/text_token/v1"
)

// Hasher computes keyed hashes. It reuses one HMAC state, so it is cheap
// to call in a loop; it is not safe for concurrent use (make one per goroutine).
type Hasher struct {
	mac hash.Hash
	buf []byte
	sum []byte
	// memo remembers identifier hashes: one person's events repeat their
	// identifiers, and a map lookup costs a fraction of an HMAC. It is
	// emptied when it reaches memoMax entries, so memory stays bounded.
	memo map[string]string
}

// memoMax bounds a Hasher's memo: about 10 MB of identifiers and hashes.
const memoMax = 1 << 16

// NewHasher returns a Hasher for key.
func NewHasher(key []byte) *Hasher {
	return &Hasher{mac: hmac.New(sha256.New, key)}
}

func (h *Hasher) hex(domain string, parts ...string) string {
	h.buf = append(h.buf[:0], domain...)
	h.buf = append(h.buf, 0)
	for _, p := range parts {
		// Each part is length-prefixed, so no two part lists encode alike.
		h.buf = strconv.AppendInt(h.buf, int64(len(p)), 10)
		h.buf = append(h.buf, ':')
		h.buf = append(h.buf, p...)
	}
	h.mac.Reset()
	h.mac.Write(h.buf)
	h.sum = h.mac.Sum(h.sum[:0])
	return hex.EncodeToString(h.sum[:HashLen/2])
}

var contentPrefix = []byte(domainContent + "\x00")

// Content returns the keyed hash of an event's canonical content
// (event.Event.AppendCanonical), 64 bits, never 0 (0 stands for "not known" in
// the warehouse). It is keyed because the content holds identifiers and
// texts that the warehouse keeps only sealed: an unkeyed hash would let
// whoever holds the database confirm a guess of them.
func (h *Hasher) Content(canonical []byte) uint64 {
	h.mac.Reset()
	h.mac.Write(contentPrefix)
	h.mac.Write(canonical)
	h.sum = h.mac.Sum(h.sum[:0])
	return max(binary.BigEndian.Uint64(h.sum), 1)
}

// Identifier returns the keyed hash of one identifier: kind is KindPhone,
// KindEmail or "id:<channel>", value is normalized as at ingest (E.164
// phone, trimmed lower-case email). It is what events, contact_identities
// and the suppression list store instead of the identifier.
func (h *Hasher) Identifier(kind, value string) string {
	h.buf = append(append(append(h.buf[:0], kind...), 0), value...)
	if v, ok := h.memo[string(h.buf)]; ok { // no allocation for the lookup
		return v
	}
	k := string(h.buf)
	v := h.hex(domainIdentifier, kind, value)
	if h.memo == nil || len(h.memo) >= memoMax {
		h.memo = make(map[string]string, 1024)
	}
	h.memo[k] = v
	return v
}

// ContactKey returns the contact_key of a person whose representative
// identifier has the given kind and identifier hash.
func (h *Hasher) ContactKey(kind, identifierHash string) string {
	return h.hex(domainContact, kind, identifierHash)
}

// ActorKey returns the actor_key of an agent or a bot: the keyed hash of
// the producer's id for it (event.Actor.ID) within the source that sent it
// (event.Event.Source), since two systems number their agents apart. It is
// what the warehouse stores and the per-agent figures group by: the id
// itself stays sealed in the event's content, so only a role that can
// unseal content (compliance) can tie a key to an id.
func (h *Hasher) ActorKey(source, id string) string {
	return h.hex(domainActor, source, id)
}

// TextToken returns the keyed hash of one informative token of a message
// text (warehouse.InformativeTokens), 16 hex digits: what the repetition
// models compare instead of the token. It is keyed because tokens are
// pieces of sealed texts (order numbers, e-mail addresses, words): an
// unkeyed hash of a short token is reversed by guessing. It is computed
// while a build reads the texts and is never stored (docs/governance.md).
func (h *Hasher) TextToken(token string) string {
	return h.hex(domainTextToken, token)[:16]
}

// WhatsAppChat returns the token of a WhatsApp chat in the conversation
// ids of instance: 16 hex digits of an HMAC-SHA256, so that the id does not
// reveal the phone number or group it is made from.
func (h *Hasher) WhatsAppChat(instance, chat string) string {
	h.buf = append(h.buf[:0], domainWhatsAppChat...)
	h.buf = append(append(append(append(h.buf, 0), instance...), 0), chat...)
	h.mac.Reset()
	h.mac.Write(h.buf)
	h.sum = h.mac.Sum(h.sum[:0])
	return hex.EncodeToString(h.sum[:8])
}

// ConversationPrefix starts every keyed conversation id.
const ConversationPrefix = "cv-"

// ConversationID returns the conversation id the warehouse stores for a
// producer's id: the id itself when it is opaque, else ConversationPrefix
// and the id's keyed hash (32 hex digits). Sources build ids from phone
// numbers and addresses ("wa-5511987650099", Chatwoot's e-mail threads),
// and an analyst sees conversation ids in the conversations and timeline
// marts, so an id that may carry an identifier is never stored as given.
// The same id under the same key always gives the same result, so the
// events of a conversation still group, on every rebuild.
func (h *Hasher) ConversationID(id string) string {
	if ConversationOpaque(id) {
		return id
	}
	return ConversationPrefix + h.hex(domainConversation, id)
}

// ConversationOpaque reports whether a conversation id can be stored as
// given. It is not when it holds an '@' (an address or a WhatsApp JID), a
// '+', or a run of 8 or more decimal digits, counting digits across one or two
// separators (' ', '-', '.', '(', ')', '/'), so that "(11) 98765-0099" is one
// run of 11: a phone number in any national or international form has at
// least 8. Over-inclusion is safe: an opaque id that looks like a number
// (a date, a long counter) is only keyed too. Ids already in a keyed form
// (ConversationPrefix and 32 hex digits; Evolution's chat id
// wa:<instance>:<16 hex>, and an older ingest's conversation id
// wa:<instance>:<16 hex>:<n>) are opaque.
func ConversationOpaque(id string) bool {
	if isKeyedConversation(id) {
		return true
	}
	run, seps := 0, 0 // digits in the run; separators since its last digit
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c == '@' || c == '+':
			return false
		case c >= '0' && c <= '9':
			run++
			seps = 0
			if run >= 8 {
				return false
			}
		case run > 0 && seps < 2 && (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/'):
			seps++
		default:
			run, seps = 0, 0
		}
	}
	return true
}

// ConversationNotOpaqueRE and ConversationKeyedRE are ConversationOpaque
// as RE2 patterns, for SQL (regexp_matches, regexp_full_match): an id is
// not opaque when it matches the first and does not fully match the
// second. The privacy tests check that both agree with the function.
const (
	ConversationNotOpaqueRE = `[@+]|[0-9](?:[ .()/-]{0,2}[0-9]){7}`
	ConversationKeyedRE     = `cv-[0-9a-f]{32}|wa:[^:@+]*:[0-9a-f]{16}(?::[0-9]{1,7})?`
)

var keyedConversation = regexp.MustCompile(`^(?:` + ConversationKeyedRE + `)$`)

// isKeyedConversation reports whether id is in a keyed form: ours, or the
// WhatsApp form ingest/evolution builds (instance, WhatsAppChat token; an
// older ingest added a serial), whose 16 hex digits may hold a run of digits by chance. The
// instance is an operator's name from the configuration, not customer data.
func isKeyedConversation(id string) bool {
	return keyedConversation.MatchString(id)
}

// KeyCheck returns a fingerprint of the key, safe to store: an HMAC of a
// constant. It tells whether data was hashed under the key in hand.
func (h *Hasher) KeyCheck() string {
	return h.hex(domainCheck)
}
