package warehouse

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

// filesContaining returns the files under dir whose bytes contain needle.
func filesContaining(t *testing.T, dir string, needle string) []string {
	t.Helper()
	var hits []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(needle)) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func personalEvent(id, phone, email, text string, at time.Time) event.Event {
	return event.Event{
		EventID: id, Type: event.TypeMessage, OccurredAt: at, Source: "test", Channel: "whatsapp",
		ConversationID: "conv-" + id, ContactName: "Zebedeu Quixabeira",
		Contact: event.Identity{Phone: phone, Email: email, IDs: map[string]string{"webchat": "visitor-8f3a1c"}},
		Actor:   event.Actor{Kind: "customer", Team: "team-marker-7731"},
		Message: &event.Message{Direction: "inbound", Text: text},
		Raw:     []byte(`{"contact":{"phone":"` + phone + `"},"message":{"text":"` + text + `"}}`),
	}
}

func TestNothingPersonalIsStoredInClear(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour)
	b := &Batch{StartedAt: time.Now(), Records: []Record{
		{Event: personalEvent("ev-1", "+5511955501234", "zebedeu.q@example.org", "meu cartao 4111-2222 foi recusado", at), Topic: "t"},
		{Event: personalEvent("ev-2", "+5511955501234", "zebedeu.q@example.org", "segunda mensagem sigilosa", at), Topic: "t", Offset: 1},
	}, DeadLetters: []DeadLetter{{Topic: "t", Offset: 2, Key: []byte("+5511955501234"),
		Raw: []byte(`{"contact":{"email":"zebedeu.q@example.org"},"occurred_at":"yesterday"}`), ReasonCode: "bad_timestamp", Reason: "occurred_at"}},
		Spans: []Span{{Topic: "t", FirstOffset: 0, LastOffset: 2, Messages: 3}}}
	if _, err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"+5511955501234", "5511955501234", "zebedeu.q@example.org", "visitor-8f3a1c", "Zebedeu", "4111-2222", "sigilosa"}
	check := func(when string) {
		for _, s := range secrets {
			if hits := filesContaining(t, dir, s); len(hits) > 0 {
				t.Errorf("%s: %q found in %v", when, s, hits)
			}
		}
	}
	// Positive control: the WAL holds this batch uncompressed, and a
	// non-personal value of it is found there by the same search.
	if hits := filesContaining(t, dir, "team-marker-7731"); len(hits) == 0 {
		t.Fatal("the byte search does not see the batch in the WAL; the test would prove nothing")
	}
	check("in the WAL")

	// Compliance reads it back through the unsealing functions.
	var text, email string
	if err := w.DB.QueryRow(`select cx_content(event_id, subject_hash, occurred_at, content)::json->>'message_text' from events where event_id = 'ev-1'`).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if err := w.DB.QueryRow(`select cx_identifier_value(identifier_hash, sealed_value) from identifiers where identifier_kind = 'email'`).Scan(&email); err != nil {
		t.Fatal(err)
	}
	if text != "meu cartao 4111-2222 foi recusado" || email != "zebedeu.q@example.org" {
		t.Fatalf("unsealed %q, %q", text, email)
	}
	if n := count(t, w, `select count(*) from identifiers`); n != 3 {
		t.Fatalf("identifiers = %d, want 3 (each stored once)", n)
	}
	var raw []byte
	if err := w.DB.QueryRow(`select cx_dead_letter_raw(topic, "partition", "offset", raw) from dead_letters`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("zebedeu.q@example.org")) {
		t.Fatalf("dead letter unsealed to %q", raw)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check("after checkpoint")
}

func TestGateSuppressesPseudonymizesAndExpires(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h := w.Hasher()
	erased := h.Identifier("email", "gone@example.org")
	withdrawn := h.Identifier("phone", "+5511900000002")
	rules := []IdentifierRule{
		{Hash: erased, Rule: RuleSuppress, Reason: "erasure", Ref: "r1"},
		{Hash: MentionHash(h, "gone@example.org"), Rule: RuleSuppress, Reason: "erasure", Ref: "r1"},
		{Hash: withdrawn, Rule: RulePseudonymize, Reason: "consent_withdrawn", Ref: "c1"},
	}
	tx, _ := w.DB.BeginTx(ctx, nil)
	if err := AddRules(ctx, tx, rules, time.Now()); err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	w.ApplyRules(rules)
	w.SetRetention(90*24*time.Hour, 30*24*time.Hour)

	now := time.Now().UTC()
	ev := func(id, phone, email string, at time.Time) Record {
		return Record{Event: personalEvent(id, phone, email, "texto "+id, at), Topic: "t"}
	}
	b := &Batch{StartedAt: now, Records: []Record{
		ev("keep", "+5511900000001", "", now),
		ev("erased", "+5511900000009", "gone@example.org", now), // links the erased email: dropped
		ev("withdrawn", "+5511900000002", "", now),
		ev("old", "+5511900000003", "", now.AddDate(0, 0, -45)),
		ev("ancient", "+5511900000004", "", now.AddDate(0, 0, -100)),
	}, DeadLetters: []DeadLetter{
		{Topic: "t", Offset: 10, Raw: []byte(`{"contact":{"email":"GONE@example.org"}`), ReasonCode: "not_json", Reason: "x"},
		{Topic: "t", Offset: 11, Raw: []byte(`{"contact":{"email":"other@example.org"}`), ReasonCode: "not_json", Reason: "x"},
	}, Spans: []Span{{Topic: "t", FirstOffset: 0, LastOffset: 11, Messages: 7}}}
	res, err := w.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || res.Suppressed != 2 || res.Expired != 1 || res.DeadLetters != 1 || res.Duplicates != 0 {
		t.Fatalf("result %+v", res)
	}
	if n := count(t, w, `select count(*) from events where event_id = 'keep' and content is not null`); n != 1 {
		t.Error("a consented, recent event lost its content")
	}
	if n := count(t, w, `select count(*) from events where event_id in ('withdrawn', 'old') and content is null`); n != 2 {
		t.Error("withdrawn or past-text-retention events kept content")
	}
	if n := count(t, w, `select count(*) from identifiers where identifier_hash = '`+withdrawn+`'`); n != 0 {
		t.Error("a withdrawn person's identifier was stored")
	}
	if n := count(t, w, `select count(*) from identifiers where identifier_hash = '`+h.Identifier("phone", "+5511900000003")+`'`); n != 1 {
		t.Error("an identifier of an old event was not stored")
	}
	if n := count(t, w, `select count(*) from ingest_batches where messages = accepted + duplicates + dead_letters + suppressed + expired and suppressed = 2 and expired = 1`); n != 1 {
		t.Error("ingest_batches does not reconcile with suppressed and expired")
	}
	// A replay drops the suppressed event again (it is not remembered as seen).
	res, _ = w.Write(ctx, &Batch{StartedAt: now, Records: []Record{ev("erased", "+5511900000009", "gone@example.org", now)}})
	if res.Suppressed != 1 || res.Duplicates != 0 {
		t.Fatalf("replay %+v", res)
	}
	// Rules survive a restart.
	w.Close()
	w2, err := Open(ctx, w.Dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	res, _ = w2.Write(ctx, &Batch{StartedAt: now, Records: []Record{ev("erased2", "", "gone@example.org", now)}})
	if res.Suppressed != 1 {
		t.Fatalf("after reopen %+v", res)
	}
}

func TestForgottenEventsAreStoredAgain(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(ctx, batchOf(0, 4, "t")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`delete from events where event_id = 'ev-0000001'`); err != nil {
		t.Fatal(err)
	}
	res, _ := w.Write(ctx, batchOf(0, 4, "t"))
	if res.Accepted != 0 {
		t.Fatalf("before Forget, a replay stored %d", res.Accepted)
	}
	w.Exclusive(ctx, func(context.Context, *sql.DB) error { w.ForgetEvents([]string{"ev-0000001"}); return nil })
	res, _ = w.Write(ctx, batchOf(0, 4, "t"))
	if res.Accepted != 1 || res.Duplicates != 3 {
		t.Fatalf("after Forget: %+v", res)
	}
}

// TestProducerFreeTextIsSealed is issue 24 item 3: every free text a
// producer writes (actor id, intent, handoff reason, next action, owner) is
// sealed with the content, and a conversation id built from a phone is
// stored keyed; in no file of the data directory (cxlake.duckdb after a
// checkpoint, the lake) is any of them in clear, and compliance reads them
// back through cx_content.
func TestProducerFreeTextIsSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	sla := int64(900)
	handoff := func(id, conv string) event.Event {
		e := personalEvent(id, "+5511987650099", "", "preciso de ajuda", at)
		e.Type, e.ConversationID, e.Message = event.TypeHandoff, conv, nil
		e.Actor = event.Actor{Kind: "bot", ID: "bot-operadora-zelia-5521", Team: "team-marker-7731"}
		e.Handoff = &event.Handoff{Reason: "cliente-irritado-rosalinda", ToTeam: "suporte", Summary: "resumo",
			Fields: json.RawMessage(`{"pedido":"1"}`), NextAction: "ligar para Rosalinda no +5511911110001",
			Owner: "Rosalinda Pereira Owner", SLASeconds: &sla}
		return e
	}
	msg := personalEvent("ev-msg", "+5511987650099", "", "oi", at)
	msg.ConversationID = "wa-5511987650099"
	msg.Message.Intent = "intencao-divida-rosalinda"
	b := &Batch{StartedAt: time.Now(), Records: []Record{
		{Event: handoff("ev-h1", "wa-5511987650099"), Topic: "t"},
		{Event: msg, Topic: "t", Offset: 1},
		{Event: handoff("ev-h2", "opaque-conv-17"), Topic: "t", Offset: 2},
	}, Spans: []Span{{Topic: "t", FirstOffset: 0, LastOffset: 2, Messages: 3}}}
	if _, err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"bot-operadora-zelia", "cliente-irritado-rosalinda", "ligar para Rosalinda", "5511911110001",
		"Rosalinda Pereira", "intencao-divida", "5511987650099", "98765-0099"}
	check := func(when string) {
		t.Helper()
		for _, s := range secrets {
			if hits := filesContaining(t, dir, s); len(hits) > 0 {
				t.Errorf("%s: %q found in %v", when, s, hits)
			}
		}
	}
	if hits := filesContaining(t, dir, "team-marker-7731"); len(hits) == 0 {
		t.Fatal("the byte search does not see the batch; the test would prove nothing")
	}
	check("in the WAL")

	// The clear columns hold nothing; the two events of the phone-built
	// conversation share one keyed id, worked out here from the rule; the
	// opaque id is stored as given.
	if n := count(t, w, `select count(*) from events where coalesce(actor_id, message_intent, handoff_reason, handoff_next_action, handoff_owner) is not null`); n != 0 {
		t.Errorf("%d events keep producer free text in clear columns", n)
	}
	keyed := w.Hasher().ConversationID("wa-5511987650099")
	if len(keyed) != 3+32 || keyed[:3] != "cv-" {
		t.Fatalf("keyed conversation id %q", keyed)
	}
	if n := count(t, w, `select count(*) from events where conversation_id = '`+keyed+`' and event_id in ('ev-h1', 'ev-msg')`); n != 2 {
		t.Errorf("%d events under the keyed conversation id, want 2", n)
	}
	if n := count(t, w, `select count(*) from events where conversation_id = 'opaque-conv-17'`); n != 1 {
		t.Error("an opaque conversation id was changed")
	}
	// Compliance reads every field back.
	var got struct {
		ActorID, Reason, Next, Owner, Intent string
	}
	if err := w.DB.QueryRow(`select c->>'actor_id', c->>'handoff_reason', c->>'handoff_next_action', c->>'handoff_owner'
		from (select cx_content(event_id, subject_hash, occurred_at, content)::json as c from events where event_id = 'ev-h1')`).
		Scan(&got.ActorID, &got.Reason, &got.Next, &got.Owner); err != nil {
		t.Fatal(err)
	}
	if err := w.DB.QueryRow(`select cx_content(event_id, subject_hash, occurred_at, content)::json->>'message_intent' from events where event_id = 'ev-msg'`).Scan(&got.Intent); err != nil {
		t.Fatal(err)
	}
	if got.ActorID != "bot-operadora-zelia-5521" || got.Reason != "cliente-irritado-rosalinda" || got.Next != "ligar para Rosalinda no +5511911110001" ||
		got.Owner != "Rosalinda Pereira Owner" || got.Intent != "intencao-divida-rosalinda" {
		t.Errorf("unsealed %+v", got)
	}
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, w, `select count(*) from read_parquet('`+dir+`/lake/events/**/*.parquet') where conversation_id = '`+keyed+`'`); n != 2 {
		t.Errorf("the lake has %d rows under the keyed conversation id, want 2", n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check("after checkpoint and publication")
}
