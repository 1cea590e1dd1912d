package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cxlake/cxlake/warehouse"
)

// Two loads give each partition two files; `lake compact` merges them into
// one, `lake verify` agrees, then names a deleted file and fails.
func TestLakeCompactThenVerifyCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	line := `{"schema":"cx.event/v1","event_id":"K%d","type":"message","occurred_at":"2026-11-2%dT10:00:00Z","channel":"%s","conversation_id":"c%d","contact":{"email":"p%d@x.co"},"actor":{"kind":"customer"},"message":{"text":"oi"}}`
	for load := 0; load < 2; load++ {
		var b bytes.Buffer
		for i := 0; i < 4; i++ { // 2 days x 2 channels
			n := load*4 + i
			fmt.Fprintf(&b, line+"\n", n, i%2, []string{"email", "sms"}[i/2], n, n)
		}
		file := filepath.Join(t.TempDir(), "events.ndjson")
		if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := capture(t, func() error { return runLoad(ctx, []string{"--data", dir, file}) }); err != nil {
			t.Fatalf("load: %v\n%s", err, out)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, warehouse.LakeDir, "events", "*", "*", "*.parquet"))
	if len(files) != 8 {
		t.Fatalf("%d lake files after two loads, want 8", len(files))
	}
	out, err := capture(t, func() error { return runLake(ctx, []string{"compact", "--data", dir}) })
	if err != nil || !strings.Contains(out, "compacted 4 partition(s): 8 files into 4, 8 rows") {
		t.Fatalf("lake compact: %v\n%s", err, out)
	}
	out, err = capture(t, func() error { return runLake(ctx, []string{"verify", "--data", dir}) })
	if err != nil || !strings.Contains(out, "lake ok: 4 files, 8 rows") {
		t.Fatalf("lake verify: %v\n%s", err, out)
	}
	files, _ = filepath.Glob(filepath.Join(dir, warehouse.LakeDir, "events", "date=2026-11-21", "channel=sms", "*.parquet"))
	if len(files) != 1 {
		t.Fatalf("partition holds %d files after compaction", len(files))
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	out, err = capture(t, func() error { return runLake(ctx, []string{"verify", "--data", dir}) })
	rel := "events/date=2026-11-21/channel=sms/" + filepath.Base(files[0])
	if err == nil || !strings.Contains(out, `"`+rel+`": missing`) {
		t.Fatalf("verify of a deleted file: %v\n%s", err, out)
	}
	if strings.Contains(out, "@x.co") {
		t.Fatalf("verify printed personal data:\n%s", out)
	}
}
