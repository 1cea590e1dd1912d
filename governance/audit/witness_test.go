package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cxlake/cxlake/privacy"
)

// witnessed opens a log in a new data directory with a witness outside it,
// appends n records, checkpointing after every 7th and at the end, and
// returns the audit directory and the witness file.
func witnessed(t *testing.T, n int) (dir, witness string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data", Dir)
	witness = filepath.Join(t.TempDir(), "witness.checkpoint")
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.UseWitness(witness); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, n)
	return dir, witness
}

func appendN(t *testing.T, l *Log, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if _, err := l.Append(ctx, Record{Kind: KindIngestBatch, Actor: "ingest",
			Detail: map[string]any{"batch_id": i + 1}}); err != nil {
			t.Fatal(err)
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
}

// truncate cuts the log back to its first k records the way an attacker
// who can write the data directory would: records, hashes, and the
// checkpoints up to k, so that everything left is consistent.
func truncate(t *testing.T, dir string, k int) {
	t.Helper()
	writeLines(t, dir, lines(t, dir)[:k])
	if err := os.Truncate(filepath.Join(dir, hashesFile), tlog.StoredHashCount(int64(k))*tlog.HashSize); err != nil {
		t.Fatal(err)
	}
	v, err := ReadVerifierKey(filepath.Join(dir, VerifierKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, checkpointsLog))
	if err != nil {
		t.Fatal(err)
	}
	var kept []byte
	var last []byte
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		msg, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(line)))
		if err != nil {
			t.Fatal(err)
		}
		c, err := openCheckpoint(msg, v)
		if err != nil {
			t.Fatal(err)
		}
		if c.N <= int64(k) {
			kept, last = append(kept, line...), msg
		}
	}
	if last == nil {
		t.Fatalf("no checkpoint at or below %d records", k)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointsLog), kept, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointFile), last, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantRollback checks that err is a *RollbackError remembering n records
// against a log of records.
func wantRollback(t *testing.T, err error, n, records int64) {
	t.Helper()
	var re *RollbackError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a *RollbackError", err)
	}
	if re.Witnessed.N != n || re.Records != records {
		t.Errorf("rollback error remembers %d records against %d, want %d against %d (%v)", re.Witnessed.N, re.Records, n, records, re)
	}
}

func TestWitnessAcceptsANormalAppend(t *testing.T) {
	ctx := context.Background()
	dir, witness := witnessed(t, 10)
	st, err := os.Stat(witness)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("witness file: %v, mode %v, want 0600", err, st.Mode().Perm())
	}
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.UseWitness(witness); err != nil {
		t.Fatalf("reopening an untouched log: %v", err)
	}
	appendN(t, l, 5)
	l.Close()
	rep, err := Verify(ctx, dir, VerifyOptions{Witness: witness})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 15 || len(rep.Heads) != 1 || rep.Heads[0].N != 15 || rep.Heads[0] != rep.Latest.Head() {
		t.Errorf("verified %d records, heads %v (latest %v), want 15 records and the witness at 15", rep.Records, rep.Heads, rep.Latest.Head())
	}
}

func TestWitnessFindsATruncatedLog(t *testing.T) {
	ctx := context.Background()
	dir, witness := witnessed(t, 20)
	truncate(t, dir, 14) // a checkpoint was signed at 14
	// Without a witness the shorter log verifies: that is the attack.
	if _, err := Verify(ctx, dir, VerifyOptions{}); err != nil {
		t.Fatalf("the truncated log fails without a witness (%v): the test does not model the attack", err)
	}
	_, err := Verify(ctx, dir, VerifyOptions{Witness: witness})
	wantRollback(t, err, 20, 14)
	if !strings.Contains(err.Error(), "records 14 to 19 were removed") {
		t.Errorf("error %q does not name the removed records 14 to 19", err)
	}
	// A server does not start on it either.
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wantRollback(t, l.UseWitness(witness), 20, 14)
}

func TestWitnessFindsARollbackToAnEarlierCopy(t *testing.T) {
	ctx := context.Background()
	dir, witness := witnessed(t, 7)
	// The attacker keeps a consistent copy of the directory at 7 records.
	saved := map[string][]byte{}
	for _, name := range []string{recordsFile, hashesFile, checkpointFile, checkpointsLog} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		saved[name] = b
	}
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.UseWitness(witness); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 6) // 13 records, the witness at 13
	l.Close()
	for name, b := range saved {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Verify(ctx, dir, VerifyOptions{}); err != nil {
		t.Fatalf("the restored copy fails without a witness (%v): the test does not model the attack", err)
	}
	_, err = Verify(ctx, dir, VerifyOptions{Witness: witness})
	wantRollback(t, err, 13, 7)

	// The rolled-back log grows past the witness with other records: its
	// first 13 no longer hash to the witnessed head.
	l, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 10) // no witness: the attacker's process
	l.Close()
	if _, err := Verify(ctx, dir, VerifyOptions{}); err != nil {
		t.Fatalf("the forked log fails without a witness: %v", err)
	}
	_, err = Verify(ctx, dir, VerifyOptions{Witness: witness})
	wantRollback(t, err, 13, 13)
	if !strings.Contains(err.Error(), "records 0 to 12 no longer hash") {
		t.Errorf("error %q does not name records 0 to 12", err)
	}
	l, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wantRollback(t, l.UseWitness(witness), 13, 17)
}

func TestVerifySinceAHeadAnOperatorKept(t *testing.T) {
	ctx := context.Background()
	dir := fill(t, 10)
	rep, err := Verify(ctx, dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := ParseHead(rep.Latest.Head().String())
	if err != nil || kept != rep.Latest.Head() {
		t.Fatalf("ParseHead(String()) = %v, %v; want %v", kept, err, rep.Latest.Head())
	}
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 3)
	l.Close()
	if rep, err := Verify(ctx, dir, VerifyOptions{Since: []Head{kept}}); err != nil || len(rep.Heads) != 1 {
		t.Fatalf("the grown log does not extend the kept head: %v (heads %v)", err, rep.Heads)
	}
	other := kept
	other.Hash[0] ^= 1
	_, err = Verify(ctx, dir, VerifyOptions{Since: []Head{other}})
	wantRollback(t, err, 10, 10)
	beyond := Head{N: 14, Hash: kept.Hash}
	_, err = Verify(ctx, dir, VerifyOptions{Since: []Head{beyond}})
	wantRollback(t, err, 14, 13)

	for _, bad := range []string{"", "10", "x:00", "-1:" + strings.Repeat("0", 64), "3:abcd"} {
		if _, err := ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
		}
	}
}

func TestWitnessFileStaysOutsideTheDataDirectory(t *testing.T) {
	conf := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", conf)
	t.Setenv("HOME", conf)
	data := t.TempDir()
	t.Setenv(EnvWitnessFile, "")
	p, err := WitnessFile(data)
	if err != nil || !strings.HasPrefix(p, conf+string(filepath.Separator)) {
		t.Errorf("default witness %s (%v), want one under %s", p, err, conf)
	}
	t.Setenv(EnvWitnessFile, filepath.Join(data, "audit", "w"))
	if _, err := WitnessFile(data); !errors.As(err, new(*privacy.InsideError)) {
		t.Errorf("a witness inside the data directory: %v, want an InsideError", err)
	}
	link := filepath.Join(t.TempDir(), "w")
	if err := os.WriteFile(filepath.Join(data, "w"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(data, "w"), link); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvWitnessFile, link)
	if _, err := WitnessFile(data); !errors.As(err, new(*privacy.InsideError)) {
		t.Errorf("a witness linked into the data directory: %v, want an InsideError", err)
	}
}
