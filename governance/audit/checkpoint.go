package audit

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Files of the signer key pair inside the audit directory. The verifier key
// is public: copy it out of the data directory (and pass it to Verify) so
// that someone who can rewrite the directory cannot also re-sign it.
const (
	SignerKeyFile   = "signer.key"
	VerifierKeyFile = "signer.vkey"
	checkpointFile  = "checkpoint"
	checkpointsLog  = "checkpoints.log"
)

// signerName names the key in checkpoints' signature lines.
const signerName = "cxlake-audit"

// origin is the first line of every checkpoint: which log it belongs to.
const origin = "cxlake audit log v1"

// Checkpoint is a signed statement of the log's size and tree hash at a time.
type Checkpoint struct {
	N    int64     // records covered
	Hash tlog.Hash // RFC 6962 tree hash of records [0, N)
	Time time.Time
	Note []byte // the signed note as written
}

// loadOrCreateSigner returns the signer of dir, generating an Ed25519 key
// pair the first time (private key mode 0600).
func loadOrCreateSigner(dir string) (note.Signer, note.Verifier, error) {
	skPath, vkPath := filepath.Join(dir, SignerKeyFile), filepath.Join(dir, VerifierKeyFile)
	sk, err := os.ReadFile(skPath)
	if errors.Is(err, fs.ErrNotExist) {
		skey, vkey, gerr := note.GenerateKey(rand.Reader, signerName)
		if gerr != nil {
			return nil, nil, fmt.Errorf("generating the audit signer key: %w", gerr)
		}
		if err := writeFileSync(vkPath, []byte(vkey+"\n"), 0o644); err != nil {
			return nil, nil, err
		}
		if err := writeFileSync(skPath, []byte(skey+"\n"), 0o600); err != nil {
			return nil, nil, err
		}
		sk = []byte(skey)
	} else if err != nil {
		return nil, nil, fmt.Errorf("reading the audit signer key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(sk)))
	if err != nil {
		return nil, nil, &CorruptError{File: skPath, Reason: err.Error()}
	}
	vk, err := os.ReadFile(vkPath)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the audit verifier key: %w", err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vk)))
	if err != nil {
		return nil, nil, &CorruptError{File: vkPath, Reason: err.Error()}
	}
	return signer, verifier, nil
}

// ReadVerifierKey reads a verifier key file (signer.vkey or a copy).
func ReadVerifierKey(path string) (note.Verifier, error) {
	vk, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the audit verifier key: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vk)))
	if err != nil {
		return nil, fmt.Errorf("audit verifier key %s: %w", path, err)
	}
	return v, nil
}

// formatCheckpoint is the signed text: origin, size, base64 tree hash, time.
func formatCheckpoint(c Checkpoint) string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", origin, c.N, base64.StdEncoding.EncodeToString(c.Hash[:]),
		c.Time.UTC().Format(time.RFC3339Nano))
}

func signCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	msg, err := note.Sign(&note.Note{Text: formatCheckpoint(c)}, s)
	if err != nil {
		return nil, fmt.Errorf("signing the audit checkpoint: %w", err)
	}
	return msg, nil
}

// openCheckpoint verifies a signed checkpoint and parses it.
func openCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, err
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 4 || lines[0] != origin || !strings.HasPrefix(lines[3], "time ") {
		return Checkpoint{}, errors.New("not a cxlake audit checkpoint")
	}
	c := Checkpoint{Note: msg}
	if c.N, err = strconv.ParseInt(lines[1], 10, 64); err != nil || c.N < 0 {
		return Checkpoint{}, fmt.Errorf("bad size %q", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("bad tree hash %q", lines[2])
	}
	copy(c.Hash[:], h)
	if c.Time, err = time.Parse(time.RFC3339Nano, strings.TrimPrefix(lines[3], "time ")); err != nil {
		return Checkpoint{}, fmt.Errorf("bad time %q", lines[3])
	}
	return c, nil
}

// readCheckpoints returns every checkpoint in the history file, in order,
// verified under v, plus the latest-checkpoint file's one.
func readCheckpoints(dir string, v note.Verifier) ([]Checkpoint, error) {
	var out []Checkpoint
	raw, err := os.ReadFile(filepath.Join(dir, checkpointsLog))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading audit checkpoints: %w", err)
	}
	for i, line := range bytes.Split(raw, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		msg, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			return nil, &CheckpointError{File: fmt.Sprintf("%s line %d", checkpointsLog, i+1), Err: err}
		}
		c, err := openCheckpoint(msg, v)
		if err != nil {
			return nil, &CheckpointError{File: fmt.Sprintf("%s line %d", checkpointsLog, i+1), Err: err}
		}
		out = append(out, c)
	}
	latest, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the audit checkpoint: %w", err)
	}
	if len(latest) > 0 {
		c, err := openCheckpoint(latest, v)
		if err != nil {
			return nil, &CheckpointError{File: checkpointFile, Err: err}
		}
		// It is normally the history's last one too; count it once.
		if len(out) == 0 || !bytes.Equal(out[len(out)-1].Note, c.Note) {
			out = append(out, c)
		}
	}
	return out, nil
}

// writeFileSync writes a whole file durably: temporary file, fsync, rename,
// fsync of the directory.
func writeFileSync(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", filepath.Base(path), err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s to sync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
