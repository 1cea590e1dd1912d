package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Prune drops the records appended before cutoff (the audit data class of
// the retention policy). Only records covered by a signed checkpoint are
// dropped, and their hashes stay, so the tree and every checkpoint still
// verify; Verify reports them as pruned. Prune first appends an
// audit_pruned record naming the first kept index, then rewrites the
// records file without the dropped lines. It returns how many were dropped.
func (l *Log) Prune(ctx context.Context, cutoff time.Time, actor string) (int64, error) {
	l.mu.Lock()
	limit := l.last.N // only signed records may go
	first := l.first
	l.mu.Unlock()
	keepFrom, err := l.firstAtOrAfter(cutoff, limit)
	if err != nil {
		return 0, err
	}
	if keepFrom <= first {
		return 0, nil
	}
	if _, err := l.Append(ctx, Record{Kind: KindAuditPruned, Actor: actor,
		Detail: map[string]any{"first_index": keepFrom, "cutoff": cutoff.UTC().Format(time.RFC3339), "dropped": keepFrom - first}}); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	path := filepath.Join(l.dir, recordsFile)
	tmp := path + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return 0, fmt.Errorf("pruning audit records: %w", err)
	}
	defer os.Remove(tmp)
	in := bufio.NewReaderSize(io.NewSectionReader(l.records, 0, 1<<62), MaxRecordBytes+2)
	w := bufio.NewWriterSize(out, 1<<20)
	idx := first
	for {
		line, err := in.ReadSlice('\n')
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Close()
			return 0, fmt.Errorf("pruning audit records: %w", err)
		}
		if idx >= keepFrom {
			if _, err := w.Write(line); err != nil {
				out.Close()
				return 0, fmt.Errorf("pruning audit records: %w", err)
			}
		}
		idx++
	}
	if err := errors.Join(w.Flush(), out.Sync(), out.Close()); err != nil {
		return 0, fmt.Errorf("pruning audit records: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("pruning audit records: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		return 0, err
	}
	l.records.Close()
	if l.records, err = os.OpenFile(path, os.O_RDWR, 0o640); err != nil {
		return 0, fmt.Errorf("reopening audit records: %w", err)
	}
	dropped := keepFrom - l.first
	l.first = keepFrom
	return dropped, nil
}

// firstAtOrAfter returns the index of the first record appended at or after
// cutoff, at most limit.
func (l *Log) firstAtOrAfter(cutoff time.Time, limit int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := bufio.NewReaderSize(io.NewSectionReader(l.records, 0, 1<<62), MaxRecordBytes+2)
	idx := l.first
	for idx < limit {
		line, err := in.ReadSlice('\n')
		if err != nil {
			break
		}
		var r struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return 0, &CorruptError{File: recordsFile, Reason: fmt.Sprintf("record %d is not valid JSON", idx)}
		}
		if !r.Time.Before(cutoff) {
			break
		}
		idx++
	}
	return idx, nil
}

// ReadRecords calls fn for each record in dir from index from on, in order,
// until fn returns false. It only reads, so it works while a server appends;
// a record being written is not returned.
func ReadRecords(ctx context.Context, dir string, from int64, fn func(Record) bool) error {
	f, err := os.Open(filepath.Join(dir, recordsFile))
	if err != nil {
		return fmt.Errorf("opening audit records: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, MaxRecordBytes+2)
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading audit records: %w", err)
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return &CorruptError{File: recordsFile, Reason: fmt.Sprintf("line %d is not a record", n+1)}
		}
		if rec.Index < from {
			continue
		}
		if !fn(rec) {
			return nil
		}
	}
}
