package audit

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cxlake/cxlake/privacy"
)

// A signed checkpoint proves what the log held when it was signed, but not
// that it is the latest: whoever can write the data directory can cut the
// records, the hashes and the checkpoint history back to an earlier
// checkpoint, and the shorter log verifies. A witness remembers the latest
// head outside the data directory (the sumdb way): every checkpoint the log
// signs is also written to the witness file, and Open and Verify refuse a
// log that does not extend the head it holds. An operator can keep heads
// elsewhere too (`cxlake audit verify` prints the current one) and check
// them with VerifyOptions.Since.

// EnvWitnessFile names the audit witness file. Unset, a deployment keeps it
// in DefaultWitnessFile.
const EnvWitnessFile = "CXLAKE_AUDIT_WITNESS"

// DefaultWitnessFile returns the default witness file of dataDir:
// os.UserConfigDir()/cxlake/witness/<16 hex digits of the SHA-256 of the
// absolute data directory>.checkpoint, beside the hash key.
func DefaultWitnessFile(dataDir string) (string, error) {
	p, err := privacy.UserFile(dataDir, "witness", ".checkpoint")
	if err != nil {
		return "", fmt.Errorf("%w; set %s", err, EnvWitnessFile)
	}
	return p, nil
}

// WitnessFile returns the witness file of dataDir: the one
// CXLAKE_AUDIT_WITNESS names, else DefaultWitnessFile. It refuses a file
// inside the data directory (symbolic links resolved): whoever rolls the
// log back could roll the witness back with it.
func WitnessFile(dataDir string) (string, error) {
	p := os.Getenv(EnvWitnessFile)
	if p == "" {
		var err error
		if p, err = DefaultWitnessFile(dataDir); err != nil {
			return "", err
		}
	}
	if err := privacy.CheckOutside("audit witness", p, dataDir); err != nil {
		return "", err
	}
	return p, nil
}

// FindWitness returns the witness file of dataDir when one is in use: the
// one CXLAKE_AUDIT_WITNESS names, else the default file when it exists;
// "" when there is none. cxlake run makes the default one (WitnessFile);
// every other command that opens the directory then keeps it up to date.
func FindWitness(dataDir string) (string, error) {
	if os.Getenv(EnvWitnessFile) != "" {
		return WitnessFile(dataDir)
	}
	def, err := DefaultWitnessFile(dataDir)
	if err != nil {
		return "", nil // no config directory: no default witness either
	}
	if _, err := os.Lstat(def); err != nil {
		return "", nil
	}
	return WitnessFile(dataDir)
}

// Head is the size of the log and its tree hash: what a witness or an
// operator keeps to check later that the log only grew.
type Head struct {
	N    int64
	Hash tlog.Hash
}

// String is the head's text form, N:HEX, as ParseHead reads it.
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.N, hex.EncodeToString(h.Hash[:])) }

// Head returns the checkpoint's head.
func (c Checkpoint) Head() Head { return Head{N: c.N, Hash: c.Hash} }

// ParseHead reads a head written as N:HEX (the size, a colon, the 64 hex
// digits of the tree hash).
func ParseHead(s string) (Head, error) {
	n, hx, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Head{}, errors.New("a head is SIZE:HASH (as cxlake audit verify prints it)")
	}
	var h Head
	var err error
	if h.N, err = strconv.ParseInt(n, 10, 64); err != nil || h.N < 0 {
		return Head{}, errors.New("a head's size is a record count (0 or more)")
	}
	b, err := hex.DecodeString(hx)
	if err != nil || len(b) != tlog.HashSize {
		return Head{}, fmt.Errorf("a head's hash is %d hex digits", 2*tlog.HashSize)
	}
	copy(h.Hash[:], b)
	return h, nil
}

// RollbackError means the log does not extend a head remembered before:
// records were removed from its end (it has fewer than the head), or its
// history was replaced (its first Witnessed.N records hash otherwise).
type RollbackError struct {
	Witnessed Head   // the head remembered
	From      string // where it was remembered: a file, or "--since"
	Records   int64  // records the log holds now
}

func (e *RollbackError) Error() string {
	if e.Records < e.Witnessed.N {
		return fmt.Sprintf("audit log rolled back: it ends after %d records but %s remembers %d (head %s): records %d to %d were removed",
			e.Records, e.From, e.Witnessed.N, e.Witnessed, e.Records, e.Witnessed.N-1)
	}
	return fmt.Sprintf("audit log rolled back: its records 0 to %d no longer hash to the head %s that %s remembers: its history was replaced",
		e.Witnessed.N-1, e.Witnessed, e.From)
}

// ReadWitness reads the signed checkpoint in a witness file, verified under
// v. ok is false when the file does not exist.
func ReadWitness(path string, v note.Verifier) (c Checkpoint, ok bool, err error) {
	msg, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("reading the audit witness: %w", err)
	}
	if c, err = openCheckpoint(msg, v); err != nil {
		return Checkpoint{}, false, &CheckpointError{File: path, Err: err}
	}
	return c, true, nil
}

// UseWitness makes path the log's witness: the log must extend the head
// it holds (else a *RollbackError, and the log is not to be used), and
// from now on every checkpoint is written to it too. A missing witness is
// made from the latest checkpoint.
func (l *Log) UseWitness(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok, err := ReadWitness(path, l.verifier)
	if err != nil {
		return err
	}
	if ok {
		if l.n < w.N {
			return &RollbackError{Witnessed: w.Head(), From: path, Records: l.n}
		}
		h, err := tlog.TreeHash(w.N, l.reader())
		if err != nil {
			return fmt.Errorf("computing the audit tree hash at the witnessed head: %w", err)
		}
		if h != w.Hash {
			return &RollbackError{Witnessed: w.Head(), From: path, Records: l.n}
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the audit witness's folder: %w", err)
	}
	l.witness, l.witnessed = path, w.N
	if l.last.Note != nil && (!ok || l.last.N > w.N) {
		return l.writeWitness(l.last)
	}
	return nil
}

// WitnessPath is the log's witness file ("" when it has none).
func (l *Log) WitnessPath() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.witness
}

// writeWitness writes c to the witness file when it is newer than what it
// holds. l.mu is held.
func (l *Log) writeWitness(c Checkpoint) error {
	if l.witness == "" || c.N < l.witnessed {
		return nil
	}
	if err := writeFileSync(l.witness, c.Note, 0o600); err != nil {
		return fmt.Errorf("writing the audit witness: %w", err)
	}
	l.witnessed = c.N
	return nil
}
