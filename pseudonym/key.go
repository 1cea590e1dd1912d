// Package pseudonym owns cxlake's keyed hashing: the data directory's secret
// key, and the hashes that stand in for a person's identifiers everywhere
// past ingest (identifier hashes, contact keys). Whoever holds the database
// but not the key cannot recompute a hash from a phone number or an email.
package pseudonym

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFile is the name of the hash key's file inside a data directory.
const KeyFile = "contact_key.secret"

// KeyBytes is the size of a key made by LoadOrCreateKey.
const KeyBytes = 32

// MinKeyBytes is the shortest key accepted.
const MinKeyBytes = 16

// LoadOrCreateKey returns the hash key kept in dataDir/contact_key.secret,
// creating it with 32 random bytes (mode 0600) when the file does not exist.
// The key never goes into DuckDB. Losing the file makes every stored
// identifier hash unusable: the warehouse refuses to open with another key.
func LoadOrCreateKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFile)
	key, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(key) < MinKeyBytes {
			return nil, fmt.Errorf("hash key %s is %d bytes, under %d: restore it from a backup", path, len(key), MinKeyBytes)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading hash key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory for the hash key: %w", err)
	}
	key = make([]byte, KeyBytes)
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
