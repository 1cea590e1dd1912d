package pseudonym

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
