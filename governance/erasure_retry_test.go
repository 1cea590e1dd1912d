package governance_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
)

// TestErasureRetriesAfterThePointOfNoReturn: a CHECKPOINT that meets
// another write transaction ("Cannot CHECKPOINT: there are other write
// transactions active") is retried until it passes, and the erasure
// completes; and a re-scan that still finds the person (a lake file put
// back behind the erasure's back) ends the request failed, not completed,
// and the compliance mart does not count it as completed.
func TestErasureRetriesAfterThePointOfNoReturn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	e.background(200)
	at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4).Add(15 * time.Hour)
	e.produce(anaMessages(at)...)
	e.produce(canonical("bia-1", "message", at, "whatsapp", "bia-wa-1", `{"phone":"+5521988887777"}`,
		`,"message":{"direction":"inbound","text":"oi"}`))
	e.consume("g", 211)
	e.refresh()

	// A long write transaction is open when the erasure reaches its
	// checkpoint; it ends after the first refused attempt.
	conn, err := e.wh.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	refused := make(chan struct{})
	governance.SetErasureStepHook(func(step string) {
		if step != "lake_rewritten" {
			return
		}
		if _, err := conn.ExecContext(ctx, `begin transaction`); err != nil {
			t.Error(err)
		}
		if _, err := conn.ExecContext(ctx, `create table long_query_scratch as select 1 as x`); err != nil {
			t.Error(err)
		}
		go func() {
			// The log says when the checkpoint was refused once.
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				b, _ := os.ReadFile(filepath.Join(e.dir, "cxlake.log"))
				if strings.Contains(string(b), "step=checkpointed") && strings.Contains(string(b), "CHECKPOINT") {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			conn.ExecContext(ctx, `commit`)
			close(refused)
		}()
	})
	defer governance.SetErasureStepHook(func(string) {})
	id := mustParse(t, "email", anaEmail)
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Actor: "test"})
	<-refused
	if err != nil || rc.Status != governance.StatusCompleted || !rc.Verification.Passed {
		t.Fatalf("erasure with a checkpoint refused once: %v, status %s", err, rc.Status)
	}
	log, _ := os.ReadFile(filepath.Join(e.dir, "cxlake.log"))
	if !strings.Contains(string(log), "an erasure step failed; retrying") || !strings.Contains(string(log), "step=checkpointed") {
		t.Fatal("the checkpoint was never refused: the test proves nothing")
	}

	// A lake file put back after the rewrite: the re-scan finds her.
	files, err := filepath.Glob(filepath.Join(e.dir, "lake/events/*/channel=whatsapp/*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no whatsapp lake files: %v", err)
	}
	var biaFile string
	for _, f := range files {
		if e.count(`select count(*) from read_parquet('`+f+`') where event_id = 'bia-1'`) == 1 {
			biaFile = f
		}
	}
	saved, err := os.ReadFile(biaFile)
	if err != nil {
		t.Fatal(err)
	}
	governance.SetErasureStepHook(func(step string) {
		if step == "lake_rewritten" {
			if err := os.WriteFile(biaFile, saved, 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	rc, err = e.gov.Erase(ctx, governance.ErasureRequest{Identifier: mustParse(t, "phone", "+5521988887777"), Actor: "test"})
	if err == nil || rc.Status != governance.StatusFailed || rc.Verification.Passed || rc.Verification.Remaining["lake"] != 1 {
		t.Fatalf("an erasure whose re-scan finds her: %v, status %s, remaining %v", err, rc.Status, rc.Verification.Remaining)
	}
	if n := e.count(`select count(*) from privacy_requests where request_id = ? and status = 'failed' and completed_at is null
		and error like '%re-scan%'`, rc.RequestID); n != 1 {
		t.Error("privacy_requests does not record the erasure as failed")
	}
	if !strings.Contains(rc.Text(), "FAILED") {
		t.Errorf("the receipt does not say it failed:\n%s", rc.Text())
	}
	e.refresh()
	if n := e.count(`select coalesce(sum(completed_on_time + completed_late), 0) from privacy_requests_daily
		where kind = 'erasure' and status = 'failed'`); n != 0 {
		t.Errorf("the compliance mart counts %d failed erasures as completed", n)
	}
	if n := e.count(`select coalesce(sum(failed), 0) from privacy_requests_daily where kind = 'erasure'`); n != 1 {
		t.Errorf("the compliance mart shows %d failed erasures, want 1", n)
	}
}

// TestErasureFindsAPersonLeftOnlyInTheLake: a person whose DuckDB rows are
// gone but whose rows remain in the lake (an erasure of an older version
// stopped between its delete and its lake rewrite) is found, and erased
// from the lake, not answered "no data is held".
func TestErasureFindsAPersonLeftOnlyInTheLake(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	e.background(100)
	at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4).Add(15 * time.Hour)
	e.produce(anaMessages(at)...)
	e.consume("g", 110)
	e.refresh()
	lakeAna := `select count(*) from read_parquet('` + e.dir + `/lake/events/**/*.parquet') where event_id like 'ana-%'`
	if n := e.count(lakeAna); n != 8 {
		t.Fatalf("the lake holds %d of her events, want 8", n)
	}
	for _, q := range []string{`delete from events where event_id like 'ana-%'`, `delete from identifiers`, `delete from int_identifiers_resolved`} {
		if _, err := e.wh.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: mustParse(t, "phone", anaPhone), Actor: "test"})
	if err != nil || rc.Status != governance.StatusCompleted || rc.RowsRemoved["lake"] == 0 {
		t.Fatalf("erasing a person left in the lake: %v, status %s, rows %v", err, rc.Status, rc.RowsRemoved)
	}
	// Every row naming her phone is gone; rows naming only her e-mail or
	// chat id were never linked to it once DuckDB forgot them.
	phone := e.wh.Hasher().Identifier("phone", anaPhone)
	if n := e.count(`select count(*) from read_parquet('`+e.dir+`/lake/events/**/*.parquet') where subject_hash = ? or contact_phone_hash = ?`, phone, phone); n != 0 {
		t.Errorf("%d lake rows still name her phone", n)
	}
	if n := e.count(lakeAna); n >= 8 {
		t.Errorf("the lake still holds %d of her events", n)
	}
}
