package governance_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// publishEach consumes and publishes each group of messages in turn, so
// that each group is a publication of its own: one small lake file per
// partition it touches, as `run` leaves them minute after minute.
func publishEach(e *env, groups ...[]kafka.Message) {
	e.t.Helper()
	for _, g := range groups {
		e.produce(g...)
		e.consume("pubs", int64(len(g)))
		if _, err := e.wh.Publish(context.Background()); err != nil {
			e.t.Fatal(err)
		}
	}
}

// partitionFiles counts the Parquet files of each lake partition
// ("date=D/channel=C").
func partitionFiles(t *testing.T, dir string) map[string]int {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(dir, warehouse.LakeDir, "events", "*", "*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range found {
		out[filepath.Base(filepath.Dir(filepath.Dir(f)))+"/"+filepath.Base(filepath.Dir(f))]++
	}
	return out
}

// TestErasureOnACompactedLake: Ana's events come in four publications, so
// her partitions hold several small files; compaction merges each into
// one; erasing her then leaves no byte of her anywhere under the data
// directory (lake files, cxlake.duckdb, its WAL, the log), no lake row of
// hers, and a manifest that still matches the files.
func TestErasureOnACompactedLake(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	e.background(300)
	e.consume("pubs", 300)
	if _, err := e.wh.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4).Add(15 * time.Hour)
	ana := anaMessages(at)
	// ana-1 | ana-2, ana-3 | ana-4, ana-5 | the rest: her WhatsApp partition
	// (ana-1, -5, -6, -7) gets a file from three publications, her webchat
	// partition (ana-3, -4) from two.
	publishEach(e, ana[:1], ana[1:3], ana[3:5], ana[5:])
	wa := "date=" + at.Format(time.DateOnly) + "/channel=whatsapp"
	wc := "date=" + at.Format(time.DateOnly) + "/channel=webchat"
	before := partitionFiles(t, e.dir)
	if before[wa] < 3 || before[wc] < 2 {
		t.Fatalf("fixture: %d files in her WhatsApp partition, %d in her webchat one; want 3 and 2 at least", before[wa], before[wc])
	}
	res, err := e.wh.CompactLake(ctx, warehouse.CompactOptions{Now: time.Now(), Grace: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	after := partitionFiles(t, e.dir)
	if after[wa] != 1 || after[wc] != 1 || res.Partitions < 2 {
		t.Fatalf("compaction left %d and %d files in her partitions (%+v)", after[wa], after[wc], res)
	}
	if f, err := warehouse.VerifyLake(ctx, e.dir); err != nil || len(f) != 0 {
		t.Fatalf("after compaction the manifest does not match: %v %v", f, err)
	}
	lakeAna := `select count(*) from read_parquet('` + e.dir + `/lake/events/**/*.parquet') where event_id like 'ana-%'`
	if n := e.count(lakeAna); n != 8 {
		t.Fatalf("the compacted lake holds %d of Ana's rows, want her 8 events", n)
	}
	if _, err := models.Refresh(ctx, e.wh.DB, models.Config{HashKey: e.wh.HashKey()}); err != nil {
		t.Fatal(err)
	}
	if hits := grep(t, e.dir, []string{"marker-team-5150"}); len(hits) == 0 {
		t.Fatal("the byte search finds nothing in clear; it would prove nothing")
	}

	id, err := governance.ParsePhone(anaPhone)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Reason: "data subject request", Actor: "test", VerifyBytes: true})
	if err != nil {
		t.Fatalf("Erase: %v\n%s", err, rc.Text())
	}
	if rc.RowsRemoved["lake"] != 8 || !rc.Verification.Passed || rc.Verification.Bytes == nil || len(rc.Verification.Bytes.Hits) != 0 {
		t.Errorf("receipt: lake rows %d, verification %+v", rc.RowsRemoved["lake"], rc.Verification)
	}
	if got := listingsFrom(t, e, "erasure"); got["manifest"] != 3 || got["folders"] != 0 {
		t.Errorf("listings %v: the compacted lake's manifest should have served all three", got)
	}
	if n := e.count(lakeAna); n != 0 {
		t.Errorf("%d of Ana's rows left in the compacted lake", n)
	}
	hashes := []string{e.wh.Hasher().Identifier("phone", anaPhone), e.wh.Hasher().Identifier("email", anaEmail),
		e.wh.Hasher().Identifier("id:webchat", anaWebchat)}
	if n, err := (governance.Lake{Dir: e.dir, Q: e.wh.DB}).Count(ctx, hashes, time.Time{}); err != nil || n != 0 {
		t.Errorf("%d lake rows name her hashes (%v)", n, err)
	}
	if f, err := warehouse.VerifyLake(ctx, e.dir); err != nil || len(f) != 0 {
		t.Errorf("after erasure the manifest does not match: %v %v", f, err)
	}
	// Every byte of the data directory: the lake, cxlake.duckdb and its
	// WAL (if any), the staging folder, the log.
	var files []string
	filepath.Walk(e.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, filepath.Base(p))
		}
		return nil
	})
	if !strings.Contains(strings.Join(files, " "), "cxlake.duckdb") {
		t.Fatalf("the byte search would miss the database: %v", files)
	}
	if hits := grep(t, e.dir, anaSecrets); len(hits) > 0 {
		t.Fatalf("after erasure on a compacted lake: %v", hits)
	}
}

// TestRetentionOnACompactedLake: days -70 and -5 come in three
// publications each and are compacted to one file per partition; a raw
// event retention of 60 days removes day -70 whole (its rows counted from
// the manifest, which matches the folders) and leaves day -5.
func TestRetentionOnACompactedLake(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	now := time.Now().UTC()
	var groups [][]kafka.Message
	for pub := range 3 {
		var g []kafka.Message
		for _, age := range []int{5, 70} {
			at := now.AddDate(0, 0, -age).Truncate(24 * time.Hour).Add(time.Duration(10+pub) * time.Hour)
			for i, ch := range []string{"whatsapp", "email"} {
				g = append(g, canonical(fmt.Sprintf("age%d-p%d-%d", age, pub, i), "message", at.Add(time.Duration(i)*time.Minute), ch,
					fmt.Sprintf("conv-%d-%d-%d", age, pub, i), fmt.Sprintf(`{"phone":"+55119%04d%04d"}`, age, pub*10+i),
					fmt.Sprintf(`,"message":{"direction":"inbound","text":"texto-velho-%d-%d-%d"}`, age, pub, i)))
			}
		}
		groups = append(groups, g)
	}
	publishEach(e, groups...)
	old := "date=" + now.AddDate(0, 0, -70).Format(time.DateOnly)
	young := "date=" + now.AddDate(0, 0, -5).Format(time.DateOnly)
	if pf := partitionFiles(t, e.dir); pf[old+"/channel=whatsapp"] != 3 || pf[young+"/channel=email"] != 3 {
		t.Fatalf("fixture: files per partition %v, want 3 each", pf)
	}
	if _, err := e.wh.CompactLake(ctx, warehouse.CompactOptions{Now: now, Grace: 6 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	pf := partitionFiles(t, e.dir)
	for _, p := range []string{old + "/channel=whatsapp", old + "/channel=email", young + "/channel=whatsapp", young + "/channel=email"} {
		if pf[p] != 1 {
			t.Fatalf("compaction left %d files in %s, want 1", pf[p], p)
		}
	}
	lakeCount := func(age int) int64 {
		return e.count(fmt.Sprintf(`select count(*) from read_parquet('%s/lake/events/**/*.parquet') where event_id like 'age%d-%%'`, e.dir, age))
	}
	if lakeCount(70) != 6 || lakeCount(5) != 6 {
		t.Fatalf("fixture: %d and %d lake rows, want 6 and 6", lakeCount(70), lakeCount(5))
	}
	cfg := governance.Defaults()
	cfg.Retention = governance.Retention{MessageText: 30 * governance.Day, RawEvents: 60 * governance.Day}
	gov, err := governance.New(ctx, e.wh, e.audit, cfg, models.Config{}, e.log)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := gov.RunRetention(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	var lake *governance.RetentionRun
	for i, r := range rep.Runs {
		if r.Class == governance.ClassRawEvents && r.Location == "lake" {
			lake = &rep.Runs[i]
		}
	}
	// Day -70: 3 publications x 2 channels, compacted to 2 files of 3 rows.
	if lake == nil || lake.RowsRemoved != 6 || lake.FilesRemoved != 2 {
		t.Fatalf("the lake's retention run is %+v, want 6 rows and 2 files removed", lake)
	}
	if got := listingsFrom(t, e, "retention"); got["manifest"] != 1 || got["folders"] != 0 {
		t.Errorf("retention listings %v, want day -70's from the manifest", got)
	}
	if lakeCount(70) != 0 || lakeCount(5) != 6 {
		t.Errorf("after retention: %d rows of day -70, %d of day -5; want 0 and 6", lakeCount(70), lakeCount(5))
	}
	if _, err := os.Stat(filepath.Join(e.dir, warehouse.LakeDir, "events", old)); !os.IsNotExist(err) {
		t.Errorf("day -70's folder is still there (%v)", err)
	}
	if f, err := warehouse.VerifyLake(ctx, e.dir); err != nil || len(f) != 0 {
		t.Errorf("after retention the manifest does not match: %v %v", f, err)
	}
	if _, err := e.wh.DB.Exec("checkpoint"); err != nil {
		t.Fatal(err)
	}
	if hits := grep(t, e.dir, []string{"texto-velho-70-", "+551190070"}); len(hits) > 0 {
		t.Errorf("day -70 in clear after retention: %v", hits)
	}
	if hits := grep(t, e.dir, []string{"marker-team-5150"}); len(hits) == 0 {
		t.Error("the byte search finds nothing in clear; it proves nothing")
	}
}
