package warehouse

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance/keys"
)

// sealV1 seals c in content layout 1 (before producer free text was
// sealed), as an older cxlake did, under the event's keys.
func sealV1(t *testing.T, w *Warehouse, eventID, subject string, at time.Time, c Content) []byte {
	t.Helper()
	b := []byte{contentV1}
	for _, v := range [][]byte{[]byte(c.ContactName), []byte(c.MessageText), []byte(c.HandoffSummary), c.HandoffFields,
		[]byte(c.SurveyComment), c.Extra, c.Raw} {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	a, err := w.contentAEAD(subject, at)
	if err != nil {
		t.Fatal(err)
	}
	var n keys.Nonces
	sealed, err := keys.Seal(a, &n, nil, b, contentAAD(eventID))
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
	v1 := sealV1(t, w, "old-1", subject, at, Content{ContactName: "Zebedeu", MessageText: "texto antigo"})
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
	var c Content
	var sealed []byte
	if err := w.DB.QueryRow(`select content from events where event_id = 'old-1'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if c, err = w.OpenContent("old-1", subject, at, sealed); err != nil {
		t.Fatal(err)
	}
	if c.MessageText != "texto antigo" || c.ContactName != "Zebedeu" || c.ActorID != "agente-velho-4471" || c.MessageIntent != "intencao-velha-4471" ||
		c.HandoffReason != "motivo-velho-4471" || c.HandoffNextAction != "ligar no +5511911110001" || c.HandoffOwner != "Dono Velho-4471" {
		t.Errorf("resealed content %+v", c)
	}
	if n := count(t, w, `select count(*) from read_parquet('`+dir+`/lake/events/**/*.parquet')`); n != 2 {
		t.Errorf("the lake holds %d rows after it was published again, want 2", n)
	}
	// The manifest follows the lake it published again: it lists the new
	// files, not the removed ones (compaction, erasure and retention go by it).
	if found, err := VerifyLake(ctx, dir); err != nil || len(found) != 0 {
		t.Errorf("the lake manifest after the lake was published again: %v %v", found, err)
	}
	if n := manifestRows(t, dir); n != 2 {
		t.Errorf("the lake manifest records %d rows, want 2", n)
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
