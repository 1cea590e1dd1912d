package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fill opens a log in a new directory and appends n records, checkpointing
// after every 7th and at the end.
func fill(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), Dir)
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		idx, err := l.Append(ctx, Record{Kind: KindIngestBatch, Actor: "ingest",
			Detail: map[string]any{"batch_id": i + 1, "accepted": 100 + i}})
		if err != nil {
			t.Fatal(err)
		}
		if idx != int64(i) {
			t.Fatalf("append %d returned index %d", i, idx)
		}
		if i%7 == 6 {
			if _, err := l.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	return dir
}

func lines(t *testing.T, dir string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, recordsFile))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(raw, []byte("\n"))[:bytes.Count(raw, []byte("\n"))]
}

func writeLines(t *testing.T, dir string, ls [][]byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, recordsFile), bytes.Join(ls, nil), 0o640); err != nil {
		t.Fatal(err)
	}
}

func wantTamper(t *testing.T, dir string, index int64) *TamperError {
	t.Helper()
	_, err := Verify(context.Background(), dir, VerifyOptions{})
	var te *TamperError
	if !errors.As(err, &te) {
		t.Fatalf("Verify = %v, want a TamperError at record %d", err, index)
	}
	if te.Index != index {
		t.Fatalf("Verify named record %d (%s), want %d", te.Index, te.Problem, index)
	}
	return te
}

func TestUntouchedLogVerifies(t *testing.T) {
	dir := fill(t, 30)
	rep, err := Verify(context.Background(), dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 30 || rep.Latest.N != 30 || rep.Uncovered != 0 || rep.Checkpoints < 5 {
		t.Fatalf("report %+v", rep)
	}
}

func TestChangingAnyByteIsFoundAndNamed(t *testing.T) {
	dir := fill(t, 20)
	orig := lines(t, dir)
	for i := range orig {
		for _, pos := range []int{0, len(orig[i]) / 2, len(orig[i]) - 2} {
			ls := lines(t, dir)
			ls[i] = bytes.Clone(ls[i])
			ls[i][pos] ^= 0x01
			writeLines(t, dir, ls)
			te := wantTamper(t, dir, int64(i))
			if !strings.Contains(te.Problem, "altered") {
				t.Fatalf("record %d byte %d: problem %q", i, pos, te.Problem)
			}
			writeLines(t, dir, orig)
		}
	}
	if _, err := Verify(context.Background(), dir, VerifyOptions{}); err != nil {
		t.Fatalf("restored log: %v", err)
	}
}

func TestRemovingARecordIsFoundAndNamed(t *testing.T) {
	dir := fill(t, 20)
	orig := lines(t, dir)
	for _, i := range []int{0, 5, 13, 19} {
		ls := append(append([][]byte{}, orig[:i]...), orig[i+1:]...)
		writeLines(t, dir, ls)
		te := wantTamper(t, dir, int64(i))
		if !strings.Contains(te.Problem, "missing") && !strings.Contains(te.Problem, "removed") {
			t.Fatalf("removed %d: problem %q", i, te.Problem)
		}
	}
}

func TestSwappingTwoRecordsIsFoundAndNamed(t *testing.T) {
	dir := fill(t, 20)
	orig := lines(t, dir)
	for _, p := range [][2]int{{0, 1}, {3, 17}, {18, 19}} {
		ls := append([][]byte{}, orig...)
		ls[p[0]], ls[p[1]] = ls[p[1]], ls[p[0]]
		writeLines(t, dir, ls)
		wantTamper(t, dir, int64(p[0]))
	}
}

func TestRewritingRecordsAndHashesBreaksTheCheckpoint(t *testing.T) {
	dir := fill(t, 20)
	// An attacker edits record 9 and rebuilds the hashes file consistently,
	// but cannot sign: the checkpoint covering 9 no longer matches.
	ls := lines(t, dir)
	ls[9] = bytes.Replace(ls[9], []byte(`"accepted":109`), []byte(`"accepted":999`), 1)
	writeLines(t, dir, ls)
	os.Remove(filepath.Join(dir, hashesFile))
	l := &Log{dir: dir}
	var err error
	if l.hashes, err = os.OpenFile(filepath.Join(dir, hashesFile), os.O_RDWR|os.O_CREATE, 0o640); err != nil {
		t.Fatal(err)
	}
	for i, line := range ls {
		hs, err := storedHashes(int64(i), bytes.TrimSuffix(line, []byte("\n")), l)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.writeHashes(int64(i), hs); err != nil {
			t.Fatal(err)
		}
	}
	l.hashes.Close()
	te := wantTamper(t, dir, 7) // the checkpoint before covers 0..6
	if !strings.Contains(te.Problem, "checkpoint") {
		t.Fatalf("problem %q", te.Problem)
	}
}

func TestRemovingTheUncheckpointedTailIsFound(t *testing.T) {
	dir := fill(t, 10)
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), Record{Kind: KindModelRefresh}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	ls := lines(t, dir)
	writeLines(t, dir, ls[:len(ls)-1])
	wantTamper(t, dir, 10)
	if _, err := Open(dir); err == nil {
		t.Fatal("Open accepted a log whose last record was removed")
	}
}

func TestForgedCheckpointIsRefused(t *testing.T) {
	dir := fill(t, 5)
	path := filepath.Join(dir, checkpointFile)
	raw, _ := os.ReadFile(path)
	forged := bytes.Replace(raw, []byte("\n5\n"), []byte("\n4\n"), 1)
	if err := os.WriteFile(path, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Verify(context.Background(), dir, VerifyOptions{})
	var ce *CheckpointError
	if !errors.As(err, &ce) {
		t.Fatalf("Verify = %v, want a CheckpointError", err)
	}
}

func TestAnotherVerifierKeyRejectsTheLog(t *testing.T) {
	dir := fill(t, 3)
	other := fill(t, 1)
	v, err := ReadVerifierKey(filepath.Join(other, VerifierKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), dir, VerifyOptions{Verifier: v}); err == nil {
		t.Fatal("a log signed by another key verified")
	}
}

func TestTornTailIsRepairedOnOpen(t *testing.T) {
	dir := fill(t, 5)
	f, _ := os.OpenFile(filepath.Join(dir, recordsFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"i":5,"time":"2026-`)
	f.Close()
	// A verifier running meanwhile ignores the record being written.
	if _, err := Verify(context.Background(), dir, VerifyOptions{}); err != nil {
		t.Fatalf("verify with a partial tail: %v", err)
	}
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := l.Append(context.Background(), Record{Kind: KindRetentionRun})
	if err != nil || idx != 5 {
		t.Fatalf("append after repair = %d, %v", idx, err)
	}
	if _, err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := Verify(context.Background(), dir, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestMissingHashesAreRecomputedOnOpen(t *testing.T) {
	dir := fill(t, 9)
	// A crash after the record was synced but before its hashes were written.
	l, _ := Open(dir)
	before, _ := os.Stat(filepath.Join(dir, hashesFile))
	l.Append(context.Background(), Record{Kind: KindModelRefresh})
	l.Close()
	os.Truncate(filepath.Join(dir, hashesFile), before.Size())
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 10 {
		t.Fatalf("Len = %d after recovery, want 10", l.Len())
	}
	l.Checkpoint(context.Background())
	l.Close()
	if _, err := Verify(context.Background(), dir, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestRecordsWithPersonalDataAreRefused(t *testing.T) {
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	for _, r := range []Record{
		{Kind: KindPrivacyRequest, Detail: map[string]any{"note": "asked by ana@example.com"}},
		{Kind: KindPrivacyRequest, Detail: map[string]any{"phone": "+5511987654321"}},
		{Kind: KindPrivacyRequest, Subject: "ana@example.com"},
		{Kind: KindPrivacyRequest, Actor: "ana@example.com"},
		{Kind: "Bad Kind"},
	} {
		if _, err := l.Append(ctx, r); err == nil {
			t.Errorf("Append(%+v) accepted", r)
		}
	}
	if l.Len() != 0 {
		t.Fatalf("refused records were appended: %d", l.Len())
	}
	ok := Record{Kind: KindPrivacyRequest, Subject: strings.Repeat("ab", 32), Detail: map[string]any{"rows": 12}}
	if _, err := l.Append(ctx, ok); err != nil {
		t.Fatal(err)
	}
}

func TestPruneKeepsTheChainVerifiable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), Dir)
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { clock = clock.Add(time.Hour); return clock }
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		l.Append(ctx, Record{Kind: KindGatewayQuery, Detail: map[string]any{"n": i}})
	}
	l.Checkpoint(ctx)
	cut := time.Date(2020, 1, 1, 6, 30, 0, 0, time.UTC) // records 0..5 are older
	n, err := l.Prune(ctx, cut, "retention")
	if err != nil || n != 6 {
		t.Fatalf("Prune = %d, %v; want 6", n, err)
	}
	l.Checkpoint(ctx)
	idx, err := l.Append(ctx, Record{Kind: KindGatewayQuery})
	if err != nil || idx != 13 {
		t.Fatalf("append after prune = %d, %v", idx, err)
	}
	l.Checkpoint(ctx)
	l.Close()
	rep, err := Verify(ctx, dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pruned != 6 || rep.Records != 14 {
		t.Fatalf("report %+v", rep)
	}
	// Reopen works from the pruned file.
	l, err = Open(dir)
	if err != nil || l.Len() != 14 {
		t.Fatalf("reopen: %v, len %d", err, l.Len())
	}
	l.Close()
	// Dropping a record at the head without an audit_pruned record is tampering.
	ls := lines(t, dir)
	writeLines(t, dir, ls[1:])
	if _, err := Verify(ctx, dir, VerifyOptions{}); err == nil {
		t.Fatal("removing the first kept record verified")
	}
}

func TestNoCheckpoint(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir)
	l.Append(context.Background(), Record{Kind: KindModelRefresh})
	l.Close()
	if _, err := Verify(context.Background(), dir, VerifyOptions{}); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("Verify = %v, want ErrNoCheckpoint", err)
	}
}

func TestRootStackMatchesTlog(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir)
	defer l.Close()
	var s rootStack
	for i := 0; i < 70; i++ {
		data := []byte(fmt.Sprintf("record %d", i))
		hs, err := storedHashes(int64(i), data, l)
		if err != nil {
			t.Fatal(err)
		}
		l.writeHashes(int64(i), hs)
		s.push(hs[0])
		want, err := treeHash(int64(i+1), l)
		if err != nil {
			t.Fatal(err)
		}
		if s.root() != want {
			t.Fatalf("root of %d leaves differs from tlog.TreeHash", i+1)
		}
	}
}

func TestAppendAll(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir)
	ctx := context.Background()
	l.Append(ctx, Record{Kind: KindModelRefresh})
	first, err := l.AppendAll(ctx, []Record{{Kind: KindConsentChange}, {Kind: KindConsentChange}, {Kind: KindConsentChange}})
	if err != nil || first != 1 || l.Len() != 4 {
		t.Fatalf("AppendAll = %d, %v; len %d", first, err, l.Len())
	}
	if _, err := l.AppendAll(ctx, []Record{{Kind: KindConsentChange}, {Kind: "Bad"}}); err == nil || l.Len() != 4 {
		t.Fatal("a refused record let others in")
	}
	l.Checkpoint(ctx)
	l.Close()
	if _, err := Verify(ctx, dir, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}
