package privacy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// sealVersion is the first byte of every sealed value.
const sealVersion = 1

// Overhead is what sealing adds to a value: version, nonce and tag.
const Overhead = 1 + 12 + 16

// Derive combines a subject key with a day key: a value sealed under the
// result is unreadable once either is destroyed (erasure destroys subject
// keys, retention destroys day keys).
func Derive(subject, day DataKey) DataKey {
	var buf [len(deriveDomain) + 64]byte
	copy(buf[:], deriveDomain)
	copy(buf[len(deriveDomain):], subject[:])
	copy(buf[len(deriveDomain)+32:], day[:])
	return sha256.Sum256(buf[:])
}

const deriveDomain = "cxlake/keys/derive/v1\x00"

// AEAD returns AES-256-GCM under k.
func AEAD(k DataKey) (cipher.AEAD, error) {
	b, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("making a cipher: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("making a cipher: %w", err)
	}
	return g, nil
}

// Nonces hands out random 12-byte nonces from a buffer filled by
// crypto/rand a few kilobytes at a time. Not safe for concurrent use.
type Nonces struct {
	buf []byte
}

func (n *Nonces) next() ([]byte, error) {
	if len(n.buf) < 12 {
		n.buf = make([]byte, 12*512)
		if _, err := rand.Read(n.buf); err != nil {
			return nil, fmt.Errorf("reading random nonces: %w", err)
		}
	}
	out := n.buf[:12:12]
	n.buf = n.buf[12:]
	return out, nil
}

// Seal appends to dst the sealed form of plaintext: a version byte, a
// random nonce and the AES-GCM ciphertext with its tag. aad binds it to its
// place (e.g. the event id and data class) so it cannot be moved to another row.
func Seal(a cipher.AEAD, nonces *Nonces, dst, plaintext, aad []byte) ([]byte, error) {
	nonce, err := nonces.next()
	if err != nil {
		return nil, err
	}
	dst = append(dst, sealVersion)
	dst = append(dst, nonce...)
	return a.Seal(dst, nonce, plaintext, aad), nil
}

// Open returns the plaintext of a sealed value, or ErrUnreadable when it
// does not open under a (wrong or re-made key, or altered bytes).
func Open(a cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < Overhead || sealed[0] != sealVersion {
		return nil, ErrUnreadable
	}
	out, err := a.Open(nil, sealed[1:13], sealed[13:], aad)
	if err != nil {
		return nil, ErrUnreadable
	}
	return out, nil
}
