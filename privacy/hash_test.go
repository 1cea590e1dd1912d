package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

// The WhatsApp chat token is the HMAC its doc describes (the bytes the
// conversation ids already stored were made with), computed here
// independently.
func TestWhatsAppChatToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cxlake/whatsapp_chat/v1\x00loja\x00pn:+5511987654321"))
	want := hex.EncodeToString(m.Sum(nil))[:16]
	h := NewHasher(key)
	if got := h.WhatsAppChat("loja", "pn:+5511987654321"); got != want {
		t.Errorf("WhatsAppChat = %s, want %s", got, want)
	}
	// The Hasher's state does not leak between calls of either kind.
	_ = h.Identifier(KindPhone, "+5511987654321")
	if got := h.WhatsAppChat("loja", "pn:+5511987654321"); got != want {
		t.Errorf("WhatsAppChat after Identifier = %s, want %s", got, want)
	}
	if h.WhatsAppChat("loja", "pn:+5511987654322") == want {
		t.Error("two chats share a token")
	}
}

// TestConversationOpaque works the rule out on ids whose answer is known
// by hand: a phone in any form, an address, a JID are not opaque.
func TestConversationOpaque(t *testing.T) {
	for id, want := range map[string]bool{
		"wa-8842":                             true,
		"conv-70-1":                           true,
		"01JD3W8Q9S4XKZ7V2M6N8P0R5T":          true,
		"1234567":                             true,  // 7 digits
		"wa-5511987650099":                    false, // a phone
		"12345678":                            false, // 8 digits
		"(11) 98765-0099":                     false, // 11 digits across separators
		"ana@example.com":                     false,
		"5511987650099@s.whatsapp.net":        false,
		"+55 11":                              false,
		"t-1234-x-5678":                       true,  // letters break the run
		"a-1234---5678":                       true,  // three separators break it
		"cv-0123456789abcdef0123456789abcdef": true,  // already keyed
		"cv-0123456789abcdef0123456789abcdeg": false, // not hex: 10 digits
		"wa:loja-centro:e62d440101960cd8:1":   true,  // an older Evolution ingest's keyed form
		"wa:loja-centro:e62d440101960cd8":     true,  // Evolution's chat id
		"wa:loja-centro:1234567890123456":     true,  // a chat whose 16 hex digits are all decimal
		"wa:loja-centro:12345678901234567":    false, // 17 digits: not the keyed form
		"wa:loja:5511987650099:1":             false, // not 16 hex
	} {
		if got := ConversationOpaque(id); got != want {
			t.Errorf("ConversationOpaque(%q) = %v, want %v", id, got, want)
		}
	}
	notOpaque, keyed := regexp.MustCompile(ConversationNotOpaqueRE), regexp.MustCompile(`^(?:`+ConversationKeyedRE+`)$`)
	for _, id := range []string{"wa-8842", "conv-70-1", "1234567", "wa-5511987650099", "12345678", "(11) 98765-0099",
		"ana@example.com", "+55 11", "t-1234-x-5678", "a-1234---5678", "a-1234--5678", "x 1.2.3.4.5.6.7.8 y", "1 2 3 4 5 6 7 8",
		"cv-0123456789abcdef0123456789abcdef", "cv-0123456789abcdef0123456789abcdeg", "12-34-56-7a8", "wa:loja-centro:e62d440101960cd8:1", "wa:loja:5511987650099:1",
		"wa:loja-centro:e62d440101960cd8", "wa:loja-centro:1234567890123456", "wa:loja-centro:12345678901234567"} {
		sqlSays := !(notOpaque.MatchString(id) && !keyed.MatchString(id))
		if sqlSays != ConversationOpaque(id) {
			t.Errorf("%q: the SQL patterns say opaque=%v, ConversationOpaque %v", id, sqlSays, ConversationOpaque(id))
		}
	}
	h := NewHasher([]byte("k1"))
	a, b := h.ConversationID("wa-5511987650099"), NewHasher([]byte("k1")).ConversationID("wa-5511987650099")
	if a != b || a == "wa-5511987650099" || !ConversationOpaque(a) {
		t.Errorf("keyed ids %q, %q: not stable or not opaque", a, b)
	}
	if NewHasher([]byte("k2")).ConversationID("wa-5511987650099") == a {
		t.Error("the keyed id does not depend on the key")
	}
	if h.ConversationID("wa-8842") != "wa-8842" {
		t.Error("an opaque id was keyed")
	}
}

// The actor key is an HMAC under its own domain, worked out here by hand:
// the domain, a zero byte, then source and id each as len ":" value. It
// differs from an identifier hash of the same value, and the same id in
// two sources gives two keys.
func TestActorKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cxlake/actor_key/v1\x008:chatwoot2:17"))
	want := hex.EncodeToString(m.Sum(nil))[:32]
	h := NewHasher(key)
	if got := h.ActorKey("chatwoot", "17"); got != want {
		t.Errorf("ActorKey = %s, want %s", got, want)
	}
	if h.ActorKey("evolution", "17") == want {
		t.Error("the same id in two sources gives one key")
	}
	if h.Identifier("id:chatwoot", "17") == want || h.ActorKey("chatwoo", "t17") == want {
		t.Error("an actor key equals another hash")
	}
}

// A text token's hash is the HMAC its doc describes, 16 hex digits, in its
// own domain: never equal to another kind of hash of the same string.
func TestTextToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cxlake/text_token/v1\x006:pedido"))
	want := hex.EncodeToString(m.Sum(nil))[:16]
	h := NewHasher(key)
	if got := h.TextToken("pedido"); got != want {
		t.Errorf("TextToken = %s, want %s", got, want)
	}
	if NewHasher([]byte("another key, another hash 123456")).TextToken("pedido") == want {
		t.Error("two keys give one hash")
	}
	if h.TextToken("pedidos") == want || h.Identifier("email", "pedido")[:16] == want || h.ActorKey("", "pedido")[:16] == want {
		t.Error("a text token's hash equals another hash")
	}
}
