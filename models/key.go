package models

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// KeyFile is the name of the hash key's file inside a data directory.
const KeyFile = "contact_key.secret"

// keyBytes is the size of a key made by LoadOrCreateKey.
const keyBytes = 32

// LoadOrCreateKey returns the hash key kept in dataDir/contact_key.secret,
// creating it with 32 random bytes (mode 0600) when the file does not exist.
// The key never goes into DuckDB: whoever holds the database alone cannot
// recompute a contact_key from an identifier. Losing the file changes every
// contact_key on the next rebuild.
func LoadOrCreateKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFile)
	key, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(key) < minKeyBytes {
			return nil, fmt.Errorf("hash key %s is %d bytes, under %d: restore it from a backup, or delete it to make a new one (every contact_key changes)", path, len(key), minKeyBytes)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading hash key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory for the hash key: %w", err)
	}
	key = make([]byte, keyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("making hash key: %w", err)
	}
	// O_EXCL: when two processes race, one wins and the other reads its key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("creating hash key file: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("writing hash key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("syncing hash key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("closing hash key file: %w", err)
	}
	return key, nil
}

// canonical encodes an identifier unambiguously for hashing: the kind's
// length, the kind, then the value ("5:phone+5511987654321").
func canonical(kind, value string) []byte {
	b := make([]byte, 0, 4+len(kind)+len(value))
	b = strconv.AppendInt(b, int64(len(kind)), 10)
	b = append(b, ':')
	b = append(b, kind...)
	return append(b, value...)
}

// hasher computes keyed hashes; it is not safe for concurrent use.
type hasher struct {
	key []byte
	buf []byte
}

func (h *hasher) sum(domain string, kind, value string) string {
	m := hmac.New(sha256.New, h.key)
	h.buf = append(h.buf[:0], domain...)
	h.buf = append(h.buf, 0)
	h.buf = append(h.buf, canonical(kind, value)...)
	m.Write(h.buf)
	return hex.EncodeToString(m.Sum(nil))
}

// Hash domains keep a contact_key from ever equalling an identifier_hash.
const (
	domainContact    = "cxlake/contact_key/v1"
	domainIdentifier = "cxlake/identifier/v1"
)

// IdentifierHash returns the keyed hash of one identifier, as stored in
// contact_identities.identifier_hash: hex HMAC-SHA256 under key. Kind is
// "phone", "email" or "id:<channel>"; value is normalized as at ingest (E.164
// phone, trimmed lower-case email). Governance uses it to suppress erased
// identifiers without keeping them.
func IdentifierHash(key []byte, kind, value string) string {
	h := hasher{key: key}
	return h.sum(domainIdentifier, kind, value)
}

// ContactKey returns the contact_key of a person whose representative
// identifier (see docs/models.md, "Identity") is kind:value.
func ContactKey(key []byte, kind, value string) string {
	h := hasher{key: key}
	return h.sum(domainContact, kind, value)
}

// keyCheck is a fingerprint of the key, safe to store: an HMAC of a constant.
func keyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cxlake/key_check/v1"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}
