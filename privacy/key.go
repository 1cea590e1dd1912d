package privacy

// The hash key: the secret behind every keyed hash (hash.go). It is kept
// outside the data directory, but for the demo's. Whoever holds the
// database but not the key cannot recompute a hash from a phone number or
// an email.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory for the hash key: %w", err)
	}
	return loadOrCreate(filepath.Join(dataDir, KeyFile))
}

// EnvKeyFile names the file of the hash key, outside the data directory.
const EnvKeyFile = "CXLAKE_KEY_FILE"

// Where the hash key lives. The identifier hashes, and the suppression
// rules of erased people, are HMACs under it: whoever holds the data
// directory and the key can hash every phone number of a country and find
// which were erased. So, except for the demo, the key does not live in the
// data directory:
//
//   - CXLAKE_KEY_FILE names its file, when set;
//   - else cxlake run keeps it in DefaultKeyFile: a file per data
//     directory under the user's config directory, mode 0600, made on the
//     first run;
//   - DATA/contact_key.secret (KeyFile) is the demo's: cxlake demo, and
//     any command opening a data directory without a key elsewhere, make
//     it there, so that the demo needs no setup. cxlake run refuses it.

// DefaultKeyFile returns the default hash key file of dataDir:
// os.UserConfigDir()/cxlake/keys/<16 hex digits of the SHA-256 of the
// absolute data directory>.key.
func DefaultKeyFile(dataDir string) (string, error) {
	p, err := UserFile(dataDir, "keys", ".key")
	if err != nil {
		return "", fmt.Errorf("%w; set %s", err, EnvKeyFile)
	}
	return p, nil
}

// UserFile returns the file of dataDir kept outside it, in the user's
// config directory: os.UserConfigDir()/cxlake/<folder>/<16 hex digits of
// the SHA-256 of the absolute data directory><ext>. The hash key
// (folder "keys") and the audit witness (folder "witness") live there.
func UserFile(dataDir, folder, ext string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("locating the data directory: %w", err)
	}
	conf, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user's config directory: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(conf, "cxlake", folder, hex.EncodeToString(sum[:8])+ext), nil
}

// InsideError means a file that must live outside the data directory (the
// hash key, the audit witness) is inside it.
type InsideError struct{ What, Path, Dir string }

func (e *InsideError) Error() string {
	what := e.What
	if what == "" {
		what = "hash key file"
	}
	return fmt.Sprintf("the %s %s is inside the data directory %s: whoever can write or copy the directory would hold it too; keep it elsewhere", what, e.Path, e.Dir)
}

// CheckOutside returns an *InsideError when path is dataDir or below it,
// symbolic links resolved (the file itself and its folders); what names
// the file in the error.
func CheckOutside(what, path, dataDir string) error {
	in, err := inside(path, dataDir)
	if err != nil {
		return fmt.Errorf("locating the %s: %w", what, err)
	}
	if in {
		return &InsideError{What: what, Path: path, Dir: dataDir}
	}
	return nil
}

// inside reports whether path is dataDir or below it.
func inside(path, dataDir string) (bool, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	d, err := filepath.Abs(dataDir)
	if err != nil {
		return false, err
	}
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	if st, err := os.Lstat(p); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return false, fmt.Errorf("a symbolic link to a missing file: %w", err)
		}
		p = r
	} else if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	} else if r, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		p = filepath.Join(r, filepath.Base(p))
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)), nil
}

// LoadOrCreateKeyFile returns the hash key in path, creating it (32 random
// bytes, mode 0600, its folder 0700) when it does not exist. It refuses a
// path inside dataDir, and a file that others than its owner may read.
func LoadOrCreateKeyFile(path, dataDir string) ([]byte, error) {
	if err := CheckOutside("hash key file", path, dataDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the hash key's folder: %w", err)
	}
	return loadOrCreate(path)
}

// loadOrCreate reads the key in path or makes it.
func loadOrCreate(path string) ([]byte, error) {
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("hash key %s has mode %v: others than its owner may read it; chmod 600 it", path, st.Mode().Perm())
	}
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
	key = make([]byte, KeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("making hash key: %w", err)
	}
	// O_EXCL: when two processes race, one wins and the other reads its key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreate(path)
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

// FindKey returns the hash key of dataDir when one exists, without making
// one: the file CXLAKE_KEY_FILE names (made when missing), else the demo's
// DATA/contact_key.secret, else the default key file. where names the
// file; key is nil when there is none.
func FindKey(dataDir string) (key []byte, where string, err error) {
	if p := os.Getenv(EnvKeyFile); p != "" {
		key, err := LoadOrCreateKeyFile(p, dataDir)
		return key, p, err
	}
	in := filepath.Join(dataDir, KeyFile)
	if _, err := os.Stat(in); err == nil {
		key, err := LoadOrCreateKey(dataDir)
		return key, in, err
	}
	def, err := DefaultKeyFile(dataDir)
	if err != nil {
		return nil, "", nil // no config directory: no default key either
	}
	if _, err := os.Stat(def); err == nil {
		key, err := loadOrCreate(def)
		return key, def, err
	}
	return nil, "", nil
}

// RunKey returns the hash key for a long-running deployment (cxlake run):
// the file CXLAKE_KEY_FILE names, else DefaultKeyFile, made on first use.
// A key inside the data directory is refused, with the way to move it.
func RunKey(dataDir string) ([]byte, string, error) { return RunKeyFile(dataDir, "") }

// RunKeyFile is RunKey with the key file named by the configuration
// (privacy.key_file, where CXLAKE_KEY_FILE is already applied); "" means
// CXLAKE_KEY_FILE, else DefaultKeyFile.
func RunKeyFile(dataDir, path string) ([]byte, string, error) {
	in := filepath.Join(dataDir, KeyFile)
	if _, err := os.Stat(in); err == nil {
		def, _ := DefaultKeyFile(dataDir)
		return nil, "", fmt.Errorf("the hash key %s is inside the data directory: whoever copies the directory can recompute every identifier hash and find erased people. "+
			"Move it out (mv %s %s, or anywhere and set privacy.key_file or %s) and start again; cxlake demo alone keeps it there", in, in, def, EnvKeyFile)
	}
	p := path
	if p == "" {
		p = os.Getenv(EnvKeyFile)
	}
	if p == "" {
		var err error
		if p, err = DefaultKeyFile(dataDir); err != nil {
			return nil, "", err
		}
	}
	key, err := LoadOrCreateKeyFile(p, dataDir)
	return key, p, err
}
