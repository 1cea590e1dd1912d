// Package audit owns cxlake's tamper-evident audit log: an append-only file
// of records (one JSON line each) whose hashes form an RFC 6962 Merkle tree
// (golang.org/x/mod/sumdb/tlog), with Ed25519-signed checkpoints of the tree
// (golang.org/x/mod/sumdb/note). Any stage appends with (*Log).Append;
// Verify checks every record against the signed checkpoints and names the
// first bad one; a witness file outside the data directory (witness.go)
// remembers the latest checkpoint, so that a log rolled back to an earlier
// one is found too. The log lives in its own directory (DATA/audit), outside
// DuckDB, so it can be verified while a server holds the warehouse.
//
// Files in the directory:
//
//	records.jsonl    one record per line; line k is record first+k
//	hashes           the tree's stored hashes (tlog layout), 32 bytes each
//	checkpoint       the latest signed checkpoint
//	checkpoints.log  every signed checkpoint, base64, one a line
//	signer.key       the Ed25519 signer key (0600); signer.vkey its public key
//
// Records never carry raw personal data (keyed hashes at most), so erasure
// never has to rewrite the chain.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Dir is the audit log's folder inside a data directory.
const Dir = "audit"

const (
	recordsFile = "records.jsonl"
	hashesFile  = "hashes"
)

// Log is an open audit log. It is safe for concurrent use; one process
// should hold a log open for writing at a time (cxlake's writers hold the
// warehouse lock of the same data directory first).
type Log struct {
	dir string

	mu       sync.Mutex
	records  *os.File
	hashes   *os.File
	n        int64 // records in the log (including pruned ones)
	first    int64 // index of the first record still in records.jsonl
	last     Checkpoint
	signer   note.Signer
	verifier note.Verifier
	now      func() time.Time
	// witness is the file outside the data directory that remembers the
	// latest checkpoint ("" for none); witnessed is the size it holds.
	witness   string
	witnessed int64
}

// Open opens the audit log in dir (DATA/audit), creating it and its signer
// key on first use, and repairs the tail a crash may have left: a partly
// written last line is dropped, and hashes missing for complete records are
// computed.
func Open(dir string) (*Log, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating audit directory: %w", err)
	}
	signer, verifier, err := loadOrCreateSigner(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, signer: signer, verifier: verifier, now: time.Now}
	if l.records, err = os.OpenFile(filepath.Join(dir, recordsFile), os.O_RDWR|os.O_CREATE, 0o640); err != nil {
		return nil, fmt.Errorf("opening audit records: %w", err)
	}
	if l.hashes, err = os.OpenFile(filepath.Join(dir, hashesFile), os.O_RDWR|os.O_CREATE, 0o640); err != nil {
		l.records.Close()
		return nil, fmt.Errorf("opening audit hashes: %w", err)
	}
	if err := l.recover(); err != nil {
		l.Close()
		return nil, err
	}
	cps, err := readCheckpoints(dir, verifier)
	if err != nil {
		l.Close()
		return nil, err
	}
	for _, c := range cps {
		if c.N >= l.last.N {
			l.last = c
		}
	}
	return l, nil
}

// Close closes the log's files. It does not write a checkpoint.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	if l.records != nil {
		errs = append(errs, l.records.Close())
		l.records = nil
	}
	if l.hashes != nil {
		errs = append(errs, l.hashes.Close())
		l.hashes = nil
	}
	return errors.Join(errs...)
}

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Len is the number of records appended so far (pruned ones included).
func (l *Log) Len() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// AppendAll adds records in order, with one sync for all, and returns the
// index of the first. If one is refused, none is appended.
func (l *Log) AppendAll(ctx context.Context, rs []Record) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.records == nil {
		return 0, errors.New("audit log is closed")
	}
	first := l.n
	now := l.now().UTC()
	datas := make([][]byte, len(rs))
	for i, r := range rs {
		r.Index, r.Time = first+int64(i), now
		var err error
		if datas[i], err = encode(r); err != nil {
			return 0, err
		}
	}
	end, err := l.records.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("appending audit records: %w", err)
	}
	var buf []byte
	for _, d := range datas {
		buf = append(append(buf, d...), '\n')
	}
	if _, err := l.records.Write(buf); err != nil {
		_ = l.records.Truncate(end)
		return 0, fmt.Errorf("appending audit records: %w", err)
	}
	if err := l.records.Sync(); err != nil {
		_ = l.records.Truncate(end)
		return 0, fmt.Errorf("syncing audit records: %w", err)
	}
	for i, d := range datas {
		hs, err := tlog.StoredHashes(first+int64(i), d, l.reader())
		if err != nil {
			return 0, fmt.Errorf("hashing audit record %d: %w", first+int64(i), err)
		}
		if err := l.writeHashes(first+int64(i), hs); err != nil {
			return 0, err
		}
	}
	if err := l.hashes.Sync(); err != nil {
		return 0, fmt.Errorf("syncing audit hashes: %w", err)
	}
	l.n += int64(len(rs))
	return first, nil
}

// Append adds r to the log and returns its index. Index and Time are set
// here. The record and its hashes are on disk (fsynced) when Append returns.
// A record that looks like it holds personal data is refused with
// ErrPersonalData; a malformed one with a *RecordError.
func (l *Log) Append(ctx context.Context, r Record) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.records == nil {
		return 0, errors.New("audit log is closed")
	}
	r.Index = l.n
	r.Time = l.now().UTC()
	data, err := encode(r)
	if err != nil {
		return 0, err
	}
	hashes, err := tlog.StoredHashes(l.n, data, l.reader())
	if err != nil {
		return 0, fmt.Errorf("hashing audit record %d: %w", l.n, err)
	}
	end, err := l.records.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("appending audit record: %w", err)
	}
	if _, err := l.records.Write(append(data, '\n')); err != nil {
		_ = l.records.Truncate(end)
		return 0, fmt.Errorf("appending audit record: %w", err)
	}
	// The record is durable before its hashes are written, so after a
	// crash the hashes file is never ahead of the records (recover relies on it).
	if err := l.records.Sync(); err != nil {
		_ = l.records.Truncate(end)
		return 0, fmt.Errorf("syncing audit records: %w", err)
	}
	if err := l.writeHashes(l.n, hashes); err != nil {
		_ = l.records.Truncate(end)
		return 0, err
	}
	if err := l.hashes.Sync(); err != nil {
		return 0, fmt.Errorf("syncing audit hashes: %w", err)
	}
	l.n++
	return r.Index, nil
}

// Checkpoint signs the current tree and writes it as the latest checkpoint
// (and to the history, and to the witness when the log has one). With no
// record since the last checkpoint it returns that one unchanged.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == l.last.N && l.last.Note != nil {
		// A witness a failed write left behind catches up.
		return l.last, l.writeWitness(l.last)
	}
	h, err := tlog.TreeHash(l.n, l.reader())
	if err != nil {
		return Checkpoint{}, fmt.Errorf("computing the audit tree hash: %w", err)
	}
	c := Checkpoint{N: l.n, Hash: h, Time: l.now().UTC()}
	if c.Note, err = signCheckpoint(c, l.signer); err != nil {
		return Checkpoint{}, err
	}
	hist, err := os.OpenFile(filepath.Join(l.dir, checkpointsLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("opening audit checkpoint history: %w", err)
	}
	line := make([]byte, 0, len(c.Note)*2)
	line = fmt.Appendf(line, "%s\n", encodeB64(c.Note))
	_, werr := hist.Write(line)
	serr := hist.Sync()
	cerr := hist.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return Checkpoint{}, fmt.Errorf("writing audit checkpoint history: %w", err)
	}
	if err := writeFileSync(filepath.Join(l.dir, checkpointFile), c.Note, 0o644); err != nil {
		return Checkpoint{}, err
	}
	l.last = c
	if err := l.writeWitness(c); err != nil {
		return c, err
	}
	return c, nil
}

// LastCheckpoint is the latest signed checkpoint (N is 0 when none).
func (l *Log) LastCheckpoint() Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// reader reads stored hashes from the hashes file.
func (l *Log) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if _, err := l.hashes.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
				return nil, fmt.Errorf("reading audit hash %d: %w", x, err)
			}
		}
		return out, nil
	})
}

// writeHashes stores the hashes StoredHashes returned for record n.
func (l *Log) writeHashes(n int64, hs []tlog.Hash) error {
	buf := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		buf = append(buf, h[:]...)
	}
	if _, err := l.hashes.WriteAt(buf, tlog.StoredHashIndex(0, n)*tlog.HashSize); err != nil {
		return fmt.Errorf("writing audit hashes: %w", err)
	}
	return nil
}

// recover makes the records and hashes files agree after a crash. Records
// are written before their hashes, so the records file may be ahead by a
// record; a torn last line is dropped.
func (l *Log) recover() error {
	size, err := l.records.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("reading audit records: %w", err)
	}
	tail, tailStart, err := readTail(l.records, size)
	if err != nil {
		return err
	}
	if i := bytes.LastIndexByte(tail, '\n'); i != len(tail)-1 {
		// A torn last line (or a file with no complete line).
		keep := tailStart + int64(i+1)
		if err := l.records.Truncate(keep); err != nil {
			return fmt.Errorf("dropping a torn audit record: %w", err)
		}
		tail = tail[:i+1]
		size = keep
	}
	lines := bytes.Split(bytes.TrimSuffix(tail, []byte("\n")), []byte("\n"))
	if len(tail) == 0 {
		lines = nil
	}
	if tailStart > 0 && len(lines) > 0 {
		lines = lines[1:] // the first may be cut
	}
	// The first record's index (after pruning) from the head of the file.
	if size > 0 {
		head, err := readHead(l.records)
		if err != nil {
			return err
		}
		if l.first, err = lineIndex(head); err != nil {
			return &CorruptError{File: recordsFile, Reason: "first line: " + err.Error()}
		}
	}
	var lastIdx int64 = l.first - 1
	if len(lines) > 0 {
		if lastIdx, err = lineIndex(lines[len(lines)-1]); err != nil {
			return &CorruptError{File: recordsFile, Reason: "last line: " + err.Error()}
		}
	}
	hsize, err := l.hashes.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("reading audit hashes: %w", err)
	}
	stored := hsize / tlog.HashSize
	n := int64(0)
	for tlog.StoredHashCount(n+1) <= stored {
		n++
	}
	switch {
	case lastIdx+1 < n:
		// Records are synced before their hashes are written: fewer records
		// than hashes means records were removed.
		return &CorruptError{File: recordsFile, Reason: fmt.Sprintf("ends at record %d but hashes of %d records were recorded", lastIdx, n)}
	case lastIdx+1 > n: // records whose hashes were not written
		missing := lastIdx + 1 - n
		if missing > int64(len(lines)) {
			return &CorruptError{File: hashesFile, Reason: fmt.Sprintf("holds hashes of %d records but records.jsonl has %d", n, lastIdx+1)}
		}
		for _, line := range lines[int64(len(lines))-missing:] {
			hs, err := tlog.StoredHashes(n, line, l.reader())
			if err != nil {
				return fmt.Errorf("re-hashing audit record %d: %w", n, err)
			}
			if err := l.writeHashes(n, hs); err != nil {
				return err
			}
			n++
		}
	}
	if err := l.hashes.Truncate(tlog.StoredHashCount(n) * tlog.HashSize); err != nil {
		return fmt.Errorf("trimming audit hashes: %w", err)
	}
	if err := l.hashes.Sync(); err != nil {
		return fmt.Errorf("syncing audit hashes: %w", err)
	}
	l.n = n
	return nil
}

// readTail returns the last bytes of f (up to two maximal records) and
// where they start.
func readTail(f *os.File, size int64) ([]byte, int64, error) {
	start := max(0, size-2*MaxRecordBytes-2)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("reading audit records: %w", err)
	}
	return buf, start, nil
}

func readHead(f *os.File) ([]byte, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), MaxRecordBytes+2)
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, &CorruptError{File: recordsFile, Reason: "first line is not a complete record"}
	}
	return bytes.TrimSuffix(line, []byte("\n")), nil
}

// lineIndex reads the "i" field of a stored record.
func lineIndex(line []byte) (int64, error) {
	var r struct {
		I *int64 `json:"i"`
	}
	if err := json.Unmarshal(line, &r); err != nil || r.I == nil {
		return 0, errors.New("not an audit record")
	}
	return *r.I, nil
}
