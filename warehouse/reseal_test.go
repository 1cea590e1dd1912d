package warehouse

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/privacy"
)

// sealV1 seals c in content layout 1 (before producer free text was
// sealed), as an older cxlake did, under the event's keys.
func sealV1(t *testing.T, w *Warehouse, eventID, subject string, at time.Time, c privacy.Content) []byte {
	t.Helper()
	return sealOld(t, w, privacy.ContentV1, eventID, subject, at, [][]byte{[]byte(c.ContactName), []byte(c.MessageText),
		[]byte(c.HandoffSummary), c.HandoffFields, []byte(c.SurveyComment), c.Extra, c.Raw})
}

// sealV2 seals c in content layout 2 (before a consent's basis and source
// were sealed), as warehouse schema 5 did.
func sealV2(t *testing.T, w *Warehouse, eventID, subject string, at time.Time, c privacy.Content) []byte {
	t.Helper()
	return sealOld(t, w, privacy.ContentV2, eventID, subject, at, [][]byte{[]byte(c.ContactName), []byte(c.MessageText),
		[]byte(c.HandoffSummary), c.HandoffFields, []byte(c.SurveyComment), c.Extra, c.Raw, []byte(c.ActorID),
		[]byte(c.MessageIntent), []byte(c.HandoffReason), []byte(c.HandoffNextAction), []byte(c.HandoffOwner)})
}

// sealOld seals fields in the given older content layout.
func sealOld(t *testing.T, w *Warehouse, layout byte, eventID, subject string, at time.Time, fields [][]byte) []byte {
	t.Helper()
	b := []byte{layout}
	for _, v := range fields {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	a, err := privacy.ContentAEAD(w.keys, subject, at)
	if err != nil {
		t.Fatal(err)
	}
	var n privacy.Nonces
	sealed, err := privacy.SealEncodedContent(a, &n, eventID, b)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// TestOlderDirectoryHasItsFreeTextSealed builds what an older cxlake left
// (content layout 1, producer free text in clear columns, a conversation id
// built from a phone, a lake published from those rows) and opens it: the
// free text is sealed into the content where the content is readable and
// dropped where it is not, the conversation id is keyed, the lake is
// published again without them, and a second Open changes nothing.
func TestOlderDirectoryHasItsFreeTextSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	b := &Batch{StartedAt: time.Now(), Records: []Record{
		{Event: personalEvent("old-1", "+5511987650099", "", "texto antigo", at), Topic: "t"},
		{Event: personalEvent("old-2", "+5511987650099", "", "texto sem chave", at), Topic: "t", Offset: 1},
	}, Spans: []Span{{Topic: "t", FirstOffset: 0, LastOffset: 1, Messages: 2}}}
	if _, err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	var subject string
	if err := w.DB.QueryRow(`select subject_hash from events where event_id = 'old-1'`).Scan(&subject); err != nil {
		t.Fatal(err)
	}
	v1 := sealV1(t, w, "old-1", subject, at, privacy.Content{ContactName: "Zebedeu", MessageText: "texto antigo"})
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`update events set content = ?, conversation_id = 'wa-5511987650099', actor_id = 'agente-velho-4471',
			message_intent = 'intencao-velha-4471', handoff_reason = 'motivo-velho-4471',
			handoff_next_action = 'ligar no +5511911110001', handoff_owner = 'Dono Velho-4471' where event_id = 'old-1'`, []any{v1}},
		// old-2: its content is gone (as after retention): the free text goes too
		{`update events set content = null, conversation_id = 'wa-5511987650099', handoff_next_action = 'recado-sem-conteudo-4471' where event_id = 'old-2'`, nil},
		{`delete from warehouse_meta where name = ?`, []any{metaFreeTextSealed}},
	} {
		if _, err := w.DB.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	clear := []string{"agente-velho-4471", "intencao-velha-4471", "motivo-velho-4471", "5511911110001", "Dono Velho-4471", "recado-sem-conteudo", "5511987650099"}
	if hits := filesContaining(t, dir+"/lake", "agente-velho-4471"); len(hits) == 0 {
		t.Fatal("the older lake does not hold the clear free text: the test would prove nothing")
	}
	w.Close()

	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if n := count(t, w, `select count(*) from events where coalesce(actor_id, message_intent, handoff_reason, handoff_next_action, handoff_owner) is not null`); n != 0 {
		t.Errorf("%d events keep free text in clear columns", n)
	}
	keyed := w.Hasher().ConversationID("wa-5511987650099")
	if n := count(t, w, `select count(*) from events where conversation_id = '`+keyed+`'`); n != 2 {
		t.Errorf("%d events under the keyed conversation id, want 2", n)
	}
	var c privacy.Content
	var sealed []byte
	if err := w.DB.QueryRow(`select content from events where event_id = 'old-1'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if c, err = privacy.OpenContent(w.keys, "old-1", subject, at, sealed); err != nil {
		t.Fatal(err)
	}
	if c.MessageText != "texto antigo" || c.ContactName != "Zebedeu" || c.ActorID != "agente-velho-4471" || c.MessageIntent != "intencao-velha-4471" ||
		c.HandoffReason != "motivo-velho-4471" || c.HandoffNextAction != "ligar no +5511911110001" || c.HandoffOwner != "Dono Velho-4471" {
		t.Errorf("resealed content %+v", c)
	}
	if n := count(t, w, `select count(*) from read_parquet('`+dir+`/lake/events/**/*.parquet')`); n != 2 {
		t.Errorf("the lake holds %d rows after it was published again, want 2", n)
	}
	// The manifest follows the republished lake: no file it lists is
	// missing, none on disk is unlisted (compaction and erasure read it).
	if findings, err := VerifyLake(ctx, dir); err != nil || len(findings) > 0 {
		t.Errorf("lake verify after the lake was published again: %v %v", findings, err)
	}
	for _, s := range clear {
		if hits := filesContaining(t, dir+"/lake", s); len(hits) > 0 {
			t.Errorf("%q still in the lake: %v", s, hits)
		}
	}
	if n := count(t, w, `select count(*) from warehouse_meta where name = '`+metaFreeTextSealed+`'`); n != 1 {
		t.Error("the upgrade is not recorded as done")
	}
	// A second open finds nothing to do: the content is not sealed again.
	w.Close()
	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var again []byte
	if err := w.DB.QueryRow(`select content from events where event_id = 'old-1'`).Scan(&again); err != nil {
		t.Fatal(err)
	}
	if string(again) != string(sealed) {
		t.Error("a second open sealed the content again")
	}
}

// TestVersion5DirectoryHasItsConsentTermsSealed builds what warehouse
// schema 5 left (a consent's basis and source in clear columns of events,
// copied into consent_state, content in layout 2, a lake published from
// those rows, the free-text step recorded as done) and opens it: migration
// 0006 makes the step run again, the basis and source move into the
// sealed content where it opens and are dropped where it does not,
// consent_state keeps no copy, and a byte search of every file of the
// directory, cxlake.duckdb included, finds none of them. A new consent
// event is written sealed from the start, and a second Open changes
// nothing.
func TestVersion5DirectoryHasItsConsentTermsSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	consent := func(id, basis, source string, off int64) Record {
		e := personalEvent(id, "+5511987658813", "", "", at)
		e.Type, e.Message, e.ConversationID = event.TypeConsent, nil, ""
		e.Consent = &event.Consent{Purpose: "analytics", Granted: true, Basis: basis, Source: source}
		return Record{Event: e, Topic: "t", Offset: off}
	}
	b := &Batch{StartedAt: time.Now(), Records: []Record{
		consent("new-1", "base-nova-8813", "fonte-nova-8813", 0),
		consent("old-1", "", "", 1),
		consent("old-2", "", "", 2),
	}, Spans: []Span{{Topic: "t", FirstOffset: 0, LastOffset: 2, Messages: 3}}}
	if _, err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	var subject string
	if err := w.DB.QueryRow(`select subject_hash from events where event_id = 'old-1'`).Scan(&subject); err != nil {
		t.Fatal(err)
	}
	v2 := sealV2(t, w, "old-1", subject, at, privacy.Content{ContactName: "Zebedeu", ActorID: "agente-8813"})
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`update events set content = ?, consent_basis = 'interesse-legitimo-8813', consent_source = 'balcao da loja Vila 8813'
			where event_id = 'old-1'`, []any{v2}},
		// old-2: its content is gone (consent withdrawn): basis and source go too
		{`update events set content = null, consent_basis = 'base-sem-conteudo-8813', consent_source = 'fonte-sem-conteudo-8813'
			where event_id = 'old-2'`, nil},
		// governance's table, as schema 5 filled it (the warehouse's tests do not register governance)
		{`create table consent_state (contact_key varchar, purpose varchar, basis varchar, source varchar, event_id varchar)`, nil},
		{`insert into consent_state values ('k1', 'analytics', 'interesse-legitimo-8813', 'balcao da loja Vila 8813', 'old-1')`, nil},
		// schema 5: migration 0006 not applied, the layout-2 step recorded as done
		{`delete from schema_migrations where component = 'warehouse' and version = 6`, nil},
		{`insert or replace into warehouse_meta values (?, '1')`, []any{metaFreeTextSealed}},
	} {
		if _, err := w.DB.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`checkpoint`); err != nil {
		t.Fatal(err)
	}
	clear := []string{"interesse-legitimo-8813", "balcao da loja Vila 8813", "base-sem-conteudo-8813", "fonte-sem-conteudo-8813",
		"base-nova-8813", "fonte-nova-8813"}
	for _, s := range clear[:4] {
		if len(filesContaining(t, dir+"/lake", s)) == 0 || len(filesContaining(t, dir+"/cxlake.duckdb", s)) == 0 {
			t.Fatalf("the schema-5 directory does not hold %q in clear in the lake and cxlake.duckdb: the test would prove nothing", s)
		}
	}
	w.Close()

	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, w, `select count(*) from schema_migrations where component = 'warehouse' and version = 6`); n != 1 {
		t.Fatalf("warehouse migration 6 recorded %d times after the upgrade, want once", n)
	}
	if n := count(t, w, `select count(*) from events where coalesce(consent_basis, consent_source) is not null`); n != 0 {
		t.Errorf("%d events keep a consent's basis or source in clear", n)
	}
	if n := count(t, w, `select count(*) from consent_state where coalesce(basis, source) is not null`); n != 0 {
		t.Errorf("%d consent_state rows keep a basis or source in clear", n)
	}
	if n := count(t, w, `select count(*) from events where event_id = 'old-2' and content is null`); n != 1 {
		t.Error("old-2's content came back")
	}
	opened := func(id string) (privacy.Content, []byte) {
		t.Helper()
		var sealed []byte
		if err := w.DB.QueryRow(`select content from events where event_id = ?`, id).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		c, err := privacy.OpenContent(w.keys, id, subject, at, sealed)
		if err != nil {
			t.Fatalf("opening %s: %v", id, err)
		}
		return c, sealed
	}
	c, sealed := opened("old-1")
	if c.ContactName != "Zebedeu" || c.ActorID != "agente-8813" || c.ConsentBasis != "interesse-legitimo-8813" || c.ConsentSource != "balcao da loja Vila 8813" {
		t.Errorf("old-1's resealed content %+v", c)
	}
	if c, _ := opened("new-1"); c.ConsentBasis != "base-nova-8813" || c.ConsentSource != "fonte-nova-8813" {
		t.Errorf("new-1's content %+v", c)
	}
	w.Close()
	for _, s := range clear {
		if hits := filesContaining(t, dir, s); len(hits) > 0 {
			t.Errorf("%q still in clear in %v", s, hits)
		}
	}

	// A second open finds nothing to do.
	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, again := opened("old-1"); string(again) != string(sealed) {
		t.Error("a second open sealed the content again")
	}
}

// TestKilledRewriteIsFinishedByTheNextOpen leaves a directory as a kill
// after the step's chunks but before its copy replaced the file would: the
// rows converted, the old clear value still in the file's free blocks, the
// step pending and a half-written copy beside it. The next Open rewrites
// the file: the value is gone from every file, the stray copy too, and the
// step is recorded as done.
func TestKilledRewriteIsFinishedByTheNextOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	b := &Batch{StartedAt: time.Now(), Records: []Record{{Event: personalEvent("k-1", "+5511987651177", "", "", at), Topic: "t"}},
		Spans: []Span{{Topic: "t", FirstOffset: 0, LastOffset: 0, Messages: 1}}}
	if _, err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`update events set consent_basis = 'base-interrompida-1177'`,
		`checkpoint`,
		// what the step's chunk did before the kill
		`update events set consent_basis = null`,
		`insert or replace into warehouse_meta values ('` + metaFreeTextSealed + `', '` + freeTextRewritePending + `')`,
		`checkpoint`,
	} {
		if _, err := w.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if len(filesContaining(t, dir, "base-interrompida-1177")) == 0 {
		t.Fatal("the old value is not in the file's free blocks: the test would prove nothing")
	}
	if err := os.WriteFile(filepath.Join(dir, DBFile+".rewrite"), []byte("half a copy"), 0o600); err != nil {
		t.Fatal(err)
	}

	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var done string
	if err := w.DB.QueryRow(`select value from warehouse_meta where name = ?`, metaFreeTextSealed).Scan(&done); err != nil || done != "1" {
		t.Errorf("the step is recorded as %q (%v), want 1", done, err)
	}
	if n := count(t, w, `select count(*) from events where event_id = 'k-1'`); n != 1 {
		t.Error("the event did not survive the rewrite")
	}
	if hits := filesContaining(t, dir, "base-interrompida-1177"); len(hits) > 0 {
		t.Errorf("the old value is still in %v", hits)
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile+".rewrite")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stray copy is still there (%v)", err)
	}
}
