package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Report is what a successful Verify found.
type Report struct {
	Records     int64      // records in the log, pruned ones included
	Pruned      int64      // records dropped by retention (their hashes remain)
	Checkpoints int        // signed checkpoints verified against the tree
	Latest      Checkpoint // the latest of them
	// Uncovered counts records after the latest checkpoint: their hashes
	// match what was recorded at append time, but no signature covers them yet.
	Uncovered int64
	Signer    string // the verifier key's name
	// Heads are the remembered heads (the witness's, --since) the log was
	// found to extend.
	Heads []Head
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Verifier checks the checkpoints' signatures. Nil means the
	// directory's own signer.vkey; pass a copy kept elsewhere to catch a
	// rewrite of the whole directory.
	Verifier note.Verifier
	// Since are heads remembered earlier (Head.String, as verify prints
	// them): the log must extend each, else a *RollbackError.
	Since []Head
	// Witness is a witness file (WitnessFile): when it exists, the log
	// must extend the checkpoint it holds, else a *RollbackError.
	Witness string
}

// remembered is a head and where it was remembered.
type remembered struct {
	Head
	from string
}

// Verify checks the audit log in dir: every checkpoint's signature, and
// every record against the hash recorded when it was appended and against
// the tree hash of every signed checkpoint, and that it extends every
// remembered head (opts.Since, opts.Witness). It only reads, so it can run
// while a server appends. A log that fails returns a *TamperError naming
// the first bad record, a *RollbackError naming the records a rollback
// removed or replaced, or a *CheckpointError; a log with no checkpoint
// returns ErrNoCheckpoint.
func Verify(ctx context.Context, dir string, opts VerifyOptions) (Report, error) {
	var rep Report
	v := opts.Verifier
	if v == nil {
		var err error
		if v, err = ReadVerifierKey(filepath.Join(dir, VerifierKeyFile)); err != nil {
			return rep, err
		}
	}
	rep.Signer = v.Name()
	cps, err := readCheckpoints(dir, v)
	if err != nil {
		return rep, err
	}
	if len(cps) == 0 {
		return rep, ErrNoCheckpoint
	}
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].N < cps[j].N })
	rep.Latest = cps[len(cps)-1]
	var heads []remembered
	for _, h := range opts.Since {
		heads = append(heads, remembered{h, "--since"})
	}
	if opts.Witness != "" {
		// Read before the records: a checkpoint signed meanwhile covers
		// records already written.
		w, ok, err := ReadWitness(opts.Witness, v)
		if err != nil {
			return rep, err
		}
		if ok {
			heads = append(heads, remembered{w.Head(), "the witness " + opts.Witness})
		}
	}
	sort.SliceStable(heads, func(i, j int) bool { return heads[i].N < heads[j].N })
	nextHead := 0

	hashes, err := os.Open(filepath.Join(dir, hashesFile))
	if err != nil {
		return rep, fmt.Errorf("opening audit hashes: %w", err)
	}
	defer hashes.Close()
	hstat, err := hashes.Stat()
	if err != nil {
		return rep, fmt.Errorf("reading audit hashes: %w", err)
	}
	storedN := int64(0)
	for tlog.StoredHashCount(storedN+1)*tlog.HashSize <= hstat.Size() {
		storedN++
	}
	leaf := func(i int64) (tlog.Hash, bool) {
		var h tlog.Hash
		if i >= storedN {
			return h, false
		}
		if _, err := hashes.ReadAt(h[:], tlog.StoredHashIndex(0, i)*tlog.HashSize); err != nil {
			return h, false
		}
		return h, true
	}

	recs, err := os.Open(filepath.Join(dir, recordsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return rep, &TamperError{Index: 0, Problem: "records.jsonl is missing"}
	}
	if err != nil {
		return rep, fmt.Errorf("opening audit records: %w", err)
	}
	defer recs.Close()
	r := bufio.NewReaderSize(recs, MaxRecordBytes+2)

	var tree rootStack
	next := 0 // next checkpoint to check
	check := func(count int64) error {
		for next < len(cps) && cps[next].N == count {
			if tree.root() != cps[next].Hash {
				from := int64(0)
				if next > 0 {
					from = cps[next-1].N
				}
				return &TamperError{Index: from, Problem: fmt.Sprintf(
					"records %d to %d no longer match the checkpoint signed at %s for %d records (their recorded hashes were rewritten too)",
					from, count-1, cps[next].Time.Format("2006-01-02T15:04:05Z"), count)}
			}
			rep.Checkpoints++
			next++
		}
		for nextHead < len(heads) && heads[nextHead].N == count {
			if tree.root() != heads[nextHead].Hash {
				return &RollbackError{Witnessed: heads[nextHead].Head, From: heads[nextHead].from, Records: count}
			}
			rep.Heads = append(rep.Heads, heads[nextHead].Head)
			nextHead++
		}
		return nil
	}
	if err := check(0); err != nil {
		return rep, err
	}
	var count int64
	first := true
	for {
		if count%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, io.EOF) {
			break // a partial last line is a record being written: not yet in the log
		}
		if err != nil {
			return rep, &TamperError{Index: count, Problem: fmt.Sprintf("unreadable (%v)", err)}
		}
		line = line[:len(line)-1]
		idx, ierr := lineIndex(line)
		if first {
			first = false
			if ierr == nil && idx > 0 {
				// Records before idx must have been pruned by retention, as an
				// audit_pruned record declares; take their leaf hashes as recorded.
				declared, err := declaredPrunes(ctx, filepath.Join(dir, recordsFile))
				if err != nil {
					return rep, err
				}
				if !declared[idx] {
					from := int64(0)
					for k := range declared {
						if k < idx && k > from {
							from = k
						}
					}
					return rep, &TamperError{Index: from, Problem: describe(line, idx, nil, from)}
				}
				for ; count < idx; count++ {
					h, ok := leaf(count)
					if !ok {
						return rep, &TamperError{Index: count, Problem: "missing, and its hash is not recorded either"}
					}
					tree.push(h)
					if err := check(count + 1); err != nil {
						return rep, err
					}
				}
				rep.Pruned = idx
			}
		}
		h := tlog.RecordHash(line)
		if want, ok := leaf(count); ok && want != h {
			return rep, &TamperError{Index: count, Problem: describe(line, idx, ierr, count)}
		} else if !ok && (ierr != nil || idx != count) {
			return rep, &TamperError{Index: count, Problem: describe(line, idx, ierr, count)}
		}
		tree.push(h)
		count++
		if err := check(count); err != nil {
			return rep, err
		}
	}
	if next < len(cps) {
		return rep, &TamperError{Index: count, Problem: fmt.Sprintf(
			"the log ends after %d records but a signed checkpoint covers %d: records were removed from the end", count, cps[len(cps)-1].N)}
	}
	if nextHead < len(heads) {
		h := heads[len(heads)-1]
		return rep, &RollbackError{Witnessed: h.Head, From: h.from, Records: count}
	}
	if count < storedN {
		return rep, &TamperError{Index: count, Problem: fmt.Sprintf(
			"missing: the log ends after %d records but the hashes of %d were recorded when they were appended", count, storedN)}
	}
	rep.Records = count
	rep.Uncovered = count - rep.Latest.N
	return rep, nil
}

// describe says what is wrong with a record whose hash does not match.
func describe(line []byte, idx int64, ierr error, want int64) string {
	switch {
	case ierr != nil:
		return "altered: it is no longer a valid record"
	case idx > want:
		return fmt.Sprintf("missing: record %d is where record %d belongs (removed or reordered)", idx, want)
	case idx < want:
		return fmt.Sprintf("reordered or duplicated: record %d appears where record %d belongs", idx, want)
	default:
		return "altered: its content no longer matches the hash recorded when it was appended"
	}
}

// prunedTo reads the first kept index declared by an audit_pruned record.
func prunedTo(line []byte) (int64, bool) {
	var r struct {
		Kind   string `json:"kind"`
		Detail struct {
			FirstIndex *int64 `json:"first_index"`
		} `json:"detail"`
	}
	if json.Unmarshal(line, &r) != nil || r.Kind != KindAuditPruned || r.Detail.FirstIndex == nil {
		return 0, false
	}
	return *r.Detail.FirstIndex, true
}

// rootStack computes RFC 6962 tree hashes of a growing list of leaves with
// O(log n) memory: the hashes of the maximal complete subtrees, largest first.
type rootStack struct {
	hashes []tlog.Hash
	sizes  []int64
}

func (s *rootStack) push(h tlog.Hash) {
	s.hashes = append(s.hashes, h)
	s.sizes = append(s.sizes, 1)
	for n := len(s.sizes); n >= 2 && s.sizes[n-1] == s.sizes[n-2]; n = len(s.sizes) {
		s.hashes[n-2] = tlog.NodeHash(s.hashes[n-2], s.hashes[n-1])
		s.sizes[n-2] *= 2
		s.hashes, s.sizes = s.hashes[:n-1], s.sizes[:n-1]
	}
}

func (s *rootStack) root() tlog.Hash {
	if len(s.hashes) == 0 {
		h, _ := tlog.TreeHash(0, nil)
		return h
	}
	h := s.hashes[len(s.hashes)-1]
	for i := len(s.hashes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(s.hashes[i], h)
	}
	return h
}

// declaredPrunes returns the first kept indexes that audit_pruned records
// in the records file declare.
func declaredPrunes(ctx context.Context, path string) (map[int64]bool, error) {
	out := map[int64]bool{}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening audit records: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, MaxRecordBytes+2)
	marker := []byte(`"kind":"` + KindAuditPruned + `"`)
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		line, err := r.ReadSlice('\n')
		if err != nil {
			return out, nil
		}
		if bytes.Contains(line, marker) {
			if k, ok := prunedTo(line[:len(line)-1]); ok {
				out[k] = true
			}
		}
	}
}
