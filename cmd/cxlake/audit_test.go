package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cxlake/cxlake/governance/audit"
)

// TestAuditVerifyFindsARollback: verify prints the head to keep, proves a
// grown log extends it (--since and the witness), and fails when the audit
// directory is put back to an earlier, consistent copy.
func TestAuditVerifyFindsARollback(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	witness := filepath.Join(t.TempDir(), "w.checkpoint")
	t.Setenv(audit.EnvWitnessFile, witness)
	dir := filepath.Join(data, audit.Dir)
	grow := func(n int) {
		t.Helper()
		l, err := audit.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if err := l.UseWitness(witness); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if _, err := l.Append(ctx, audit.Record{Kind: audit.KindIngestBatch, Actor: "ingest", Detail: map[string]any{"batch_id": i}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	grow(3)
	out, err := capture(t, func() error { return runAudit(ctx, []string{"verify", "--data", data}) })
	head := regexp.MustCompile(`(?m)^head: (3:[0-9a-f]{64})$`).FindStringSubmatch(out)
	if err != nil || head == nil || !strings.Contains(out, "extends the remembered head 3:") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	saved := map[string][]byte{}
	for _, name := range []string{"records.jsonl", "hashes", "checkpoint", "checkpoints.log"} {
		if saved[name], err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	grow(4)
	out, err = capture(t, func() error { return runAudit(ctx, []string{"verify", "--data", data, "--since", head[1]}) })
	if err != nil || !strings.Contains(out, "head: 7:") || !strings.Contains(out, "extends the remembered head "+head[1]) {
		t.Fatalf("verify --since after a normal append: %v\n%s", err, out)
	}
	later := regexp.MustCompile(`(?m)^head: (7:[0-9a-f]{64})$`).FindStringSubmatch(out)

	for name, b := range saved {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	out, err = capture(t, func() error { return runAudit(ctx, []string{"verify", "--data", data}) })
	if !errors.As(err, new(*audit.RollbackError)) || !strings.Contains(out, "FAILED") || !strings.Contains(out, "records 3 to 6 were removed") {
		t.Fatalf("verify of the rolled-back log with its witness: %v\n%s", err, out)
	}
	// Without the witness, the head the operator kept finds it.
	t.Setenv(audit.EnvWitnessFile, "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	out, err = capture(t, func() error { return runAudit(ctx, []string{"verify", "--data", data, "--since", later[1]}) })
	if !errors.As(err, new(*audit.RollbackError)) || !strings.Contains(out, "records 3 to 6 were removed") {
		t.Fatalf("verify --since of the rolled-back log: %v\n%s", err, out)
	}
	if _, err := capture(t, func() error { return runAudit(ctx, []string{"verify", "--data", data, "--since", "7:zz"}) }); err == nil {
		t.Error("verify accepted --since 7:zz")
	}
}

// TestRolledBackAuditRefusesToStart: a command that opens the warehouse
// refuses a data directory whose audit chain was put back behind its
// witness, and says what to do.
func TestRolledBackAuditRefusesToStart(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	witness := filepath.Join(t.TempDir(), "w.checkpoint")
	t.Setenv(audit.EnvWitnessFile, witness)
	load := func(n int) error {
		t.Helper()
		f := filepath.Join(t.TempDir(), "e.ndjson")
		line := fmt.Sprintf(`{"schema":"cx.event/v1","event_id":"wit-%d","type":"message","occurred_at":"2026-12-01T10:00:00Z","source":"test","channel":"webchat","conversation_id":"w-1","contact":{"ids":{"webchat":"v-1"}},"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"oi"}}`+"\n", n)
		if err := os.WriteFile(f, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := capture(t, func() error { return runLoad(ctx, []string{"--data", data, f}) })
		return err
	}
	if err := load(1); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, audit.Dir)
	saved := map[string][]byte{}
	for _, name := range []string{"records.jsonl", "hashes", "checkpoint", "checkpoints.log"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		saved[name] = b
	}
	if err := load(2); err != nil {
		t.Fatal(err)
	}
	for name, b := range saved {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	err := load(3)
	if !errors.As(err, new(*audit.RollbackError)) || !strings.Contains(err.Error(), "move "+witness+" away") {
		t.Fatalf("load on a rolled-back audit chain: %v, want a RollbackError saying to move the witness", err)
	}
	// Moved away on purpose: it starts, and a new witness is kept.
	if err := os.Rename(witness, witness+".old"); err != nil {
		t.Fatal(err)
	}
	if err := load(3); err != nil {
		t.Fatalf("after moving the witness away: %v", err)
	}
	if _, err := os.Stat(witness); err != nil {
		t.Errorf("no new witness: %v", err)
	}
}
