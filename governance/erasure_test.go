package governance_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
)

// Ana has a phone, an email, a webchat id, an identity_link between the
// webchat id and the email, and an event naming her phone and email
// together; two malformed messages mention her.
const (
	anaPhone   = "+5511977771234"
	anaEmail   = "ana.quixabeira@example.org"
	anaWebchat = "wc-4f9a77e1"
)

// anaSecrets are what a byte search of every file of the data directory
// (cxlake.duckdb included) must not find: her identifiers and texts,
// including the free text producers write (a handoff's reason, next
// action and owner, a message's intent) and her WhatsApp conversation id,
// which her phone is part of (issue 24 item 3).
var anaSecrets = []string{anaPhone, "5511977771234", "97777-1234", anaEmail, anaWebchat, "Quixabeira",
	"comprovante-88123", "123.456.789-09", "atendimento-pessimo-ana", "sou-a-ana-do-chat",
	"ana-quer-cancelar-7781", "intencao-ana-44102", "ligar para Ana", "Marcos Owner-Ana"}

// anaWhatsApp is her WhatsApp conversation id, built from her phone as
// Evolution and Chatwoot build them.
const anaWhatsApp = "wa-5511977771234"

func anaMessages(at time.Time) []kafka.Message {
	phone := `{"phone":"` + anaPhone + `","name":"Ana Quixabeira"}`
	email := `{"email":"` + anaEmail + `"}`
	chat := `{"ids":{"webchat":"` + anaWebchat + `"}}`
	both := `{"phone":"` + anaPhone + `","email":"` + anaEmail + `"}`
	msg := func(text string) string {
		return `,"message":{"direction":"inbound","text":"` + text + `"}`
	}
	m := []kafka.Message{
		canonical("ana-1", "message", at, "whatsapp", anaWhatsApp, phone,
			`,"message":{"direction":"inbound","text":"meu pedido comprovante-88123 nao chegou","intent":"intencao-ana-44102"}`),
		canonical("ana-2", "message", at.Add(time.Minute), "email", "ana-em-1", email, msg("segue o comprovante-88123")),
		canonical("ana-3", "message", at.Add(2*time.Minute), "webchat", "ana-wc-1", chat, msg("oi sou-a-ana-do-chat")),
		canonical("ana-4", "identity_link", at.Add(3*time.Minute), "webchat", "ana-wc-1", chat, `,"link":`+email),
		canonical("ana-5", "message", at.Add(4*time.Minute), "whatsapp", anaWhatsApp, both, msg("pode mandar no email")),
		canonical("ana-6", "handoff", at.Add(5*time.Minute), "whatsapp", anaWhatsApp, phone,
			`,"handoff":{"reason":"ana-quer-cancelar-7781","to_team":"billing","summary":"Ana Quixabeira reclama","fields":{"cpf":"123.456.789-09"},`+
				`"next_action":"ligar para Ana no `+anaPhone+`","owner":"Marcos Owner-Ana","sla_seconds":600}`),
		canonical("ana-7", "survey", at.Add(6*time.Minute), "whatsapp", anaWhatsApp, phone,
			`,"survey":{"kind":"csat","score":1,"comment":"atendimento-pessimo-ana"}`),
		canonical("ana-8", "consent", at.Add(7*time.Minute), "", "", email, `,"consent":{"purpose":"analytics","granted":true}`),
		// Dead letters: a bad timestamp, and bytes that are not JSON at all.
		{Key: []byte(anaPhone), Value: []byte(`{"schema":"cx.event/v1","event_id":"ana-9","type":"message","occurred_at":"ontem",` +
			`"contact":{"email":"ANA.Quixabeira@example.org"}}`)},
		{Key: []byte("x"), Value: []byte(`ligar para +55 11 97777-1234 urgente`)},
	}
	// The consent event has no channel: drop the empty channel field.
	m[7].Value = []byte(strings.Replace(string(m[7].Value), `"channel":"",`, "", 1))
	return m
}

func TestErasureEndToEnd(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	e.background(1500)
	at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4).Add(15 * time.Hour)
	// After the handoff (ana-6) she explains it all again: her WhatsApp
	// conversation is repeated_after_handoff, computed from her sealed
	// texts (comprovante, 88123, pedido, chegou shared with ana-1).
	ana := append(anaMessages(at), canonical("ana-10", "message", at.Add(8*time.Minute), "whatsapp", anaWhatsApp,
		`{"phone":"`+anaPhone+`"}`, `,"message":{"direction":"inbound","text":"o comprovante-88123 do pedido ainda nao chegou"}`))
	e.produce(ana...)
	total := int64(1500 + len(ana))
	e.consume("first", total)
	e.refresh()

	// Before: she is everywhere, sealed.
	anaHash := e.wh.Hasher().Identifier("email", anaEmail)
	if n := e.count(`select count(*) from contact_identities where identifier_value in (?, ?, ?)`, anaPhone, anaEmail, anaWebchat); n != 3 {
		t.Fatalf("contact_identities shows %d of Ana's identifiers, want 3", n)
	}
	var key string
	if err := e.wh.DB.QueryRow(`select contact_key from contact_identities where identifier_hash = ?`, anaHash).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`select count(distinct contact_key) from contact_identities where identifier_value in (?, ?, ?)`, anaPhone, anaEmail, anaWebchat); n != 1 {
		t.Fatalf("Ana's identifiers resolve to %d people, want 1", n)
	}
	eventsBefore := e.count(`select count(*) from events where event_id like 'ana-%'`)
	lakeBefore, err := governance.Lake{Dir: e.dir, Q: e.wh.DB}.Count(ctx, []string{anaHash,
		e.wh.Hasher().Identifier("phone", anaPhone), e.wh.Hasher().Identifier("id:webchat", anaWebchat)}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if eventsBefore != 9 || lakeBefore != 9 {
		t.Fatalf("before: %d events, %d lake rows of Ana; want 9 and 9", eventsBefore, lakeBefore)
	}
	if n := e.count(`select count(*) from conversations where contact_key = ? and repeated_after_handoff`, key); n != 1 {
		t.Fatalf("%d of Ana's conversations are repeated_after_handoff, want 1", n)
	}
	// What the repetition computation works on, the keyed hashes of her
	// tokens, is never stored: no file holds them, before or after.
	var tokenHashes []string
	for _, tok := range []string{"comprovante", "88123", "pedido", "chegou"} {
		tokenHashes = append(tokenHashes, e.wh.Hasher().TextToken(tok))
	}
	if hits := grep(t, e.dir, tokenHashes); len(hits) > 0 {
		t.Fatalf("before erasure, her token hashes are stored: %v", hits)
	}
	if n := e.count(`select count(*) from conversations where contact_key = ?`, key); n != 3 {
		t.Fatalf("Ana has %d conversations, want 3", n)
	}
	// Positive control: the byte search does see clear bytes in the store
	// (a non-personal value of her events); her own values it must not see.
	if hits := grep(t, e.dir, []string{"marker-team-5150"}); len(hits) == 0 {
		t.Fatal("the byte search finds nothing in clear; it would prove nothing")
	}
	if hits := grep(t, e.dir, anaSecrets); len(hits) > 0 {
		t.Fatalf("before erasure, personal values in clear: %v", hits)
	}
	dlBefore := e.count(`select count(*) from dead_letters`)

	// Erase by the email alone.
	id, err := governance.ParseEmail("  Ana.Quixabeira@Example.org ")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Reason: "data subject request", Actor: "test", VerifyBytes: true})
	if err != nil {
		t.Fatalf("Erase: %v\n%s", err, rc.Text())
	}
	t.Log("\n" + rc.Text())

	// The receipt's counts match what was there.
	if rc.Identifiers != 3 || rc.RowsRemoved["events"] != eventsBefore || rc.RowsRemoved["lake"] != lakeBefore ||
		rc.RowsRemoved["dead_letters"] != 2 || rc.RowsRemoved["identifiers"] != 3 || rc.RowsRemoved["conversations"] != 3 ||
		rc.RowsRemoved["contacts"] != 1 || rc.RowsRemoved["int_identifiers_resolved"] != 3 {
		t.Errorf("receipt counts %+v, identifiers %d", rc.RowsRemoved, rc.Identifiers)
	}
	if e.count(`select count(*) from dead_letters`) != dlBefore-2 {
		t.Error("dead letter count does not match the receipt")
	}
	if !rc.Verification.Passed || rc.Verification.Bytes == nil || len(rc.Verification.Bytes.Hits) != 0 || rc.KeysDestroyed < 5 {
		t.Errorf("verification %+v, keys destroyed %d", rc.Verification, rc.KeysDestroyed)
	}
	if len(rc.FilesRewritten)+len(rc.FilesRemoved) == 0 {
		t.Error("no lake file rewritten")
	}
	if rc.Subject != anaHash || rc.DueAt.Sub(rc.ReceivedAt) != 15*24*time.Hour {
		t.Errorf("receipt subject %s due %s", rc.Subject, rc.DueAt)
	}
	if strings.Contains(rc.Text(), anaEmail) {
		t.Error("the receipt quotes the email")
	}

	// No query returns anything of hers.
	for _, q := range []string{
		`select count(*) from events where event_id like 'ana-%'`,
		`select count(*) from contact_identities where identifier_value in ('` + anaPhone + `', '` + anaEmail + `', '` + anaWebchat + `')`,
		`select count(*) from contact_identities where contact_key = '` + key + `'`,
		`select count(*) from conversations where contact_key = '` + key + `' or conversation_id like 'ana-%'`,
		`select count(*) from contacts where contact_key = '` + key + `'`,
		`select count(*) from timeline where contact_key = '` + key + `'`,
		`select count(*) from consent_state where contact_key = '` + key + `'`,
		`select count(*) from events where cx_content(event_id, subject_hash, occurred_at, content) like '%Quixabeira%'`,
		`select count(*) from dead_letters where lower(cast(cx_dead_letter_raw(topic, "partition", "offset", raw) as varchar)) like '%quixabeira%' or cast(cx_dead_letter_raw(topic, "partition", "offset", raw) as varchar) like '%97777%'`,
		`select count(*) from read_parquet('` + e.dir + `/lake/events/**/*.parquet') where event_id like 'ana-%'`,
	} {
		if n := e.count(q); n != 0 {
			t.Errorf("%d rows: %s", n, q)
		}
	}
	// An access request now finds only what erasure keeps: the keyed hash
	// in the suppression rules and the request itself.
	x, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: id, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !x.Suppressed || len(x.Events)+len(x.DeadLetters)+len(x.Conversations)+len(x.Identifiers) != 0 || len(x.PrivacyRequests) != 1 {
		t.Errorf("export after erasure: suppressed %v, %d events, %d dead letters, %d conversations, %d identifiers, %d requests",
			x.Suppressed, len(x.Events), len(x.DeadLetters), len(x.Conversations), len(x.Identifiers), len(x.PrivacyRequests))
	}

	// A byte search of every file under the data directory finds nothing.
	if hits := grep(t, e.dir, append(anaSecrets, tokenHashes...)); len(hits) > 0 {
		t.Fatalf("after erasure: %v", hits)
	}
	if n := e.count(`select count(*) from int_conversations_repeated where contact_key = ?`, key); n != 0 {
		t.Errorf("the repetition model keeps %d rows of hers", n)
	}

	// The audit chain holds the request, verifies, and names no identifier.
	rep, err := audit.Verify(ctx, e.dir+"/audit", audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Latest.N <= rc.AuditIndex {
		t.Errorf("checkpoint %d does not cover the record %d", rep.Latest.N, rc.AuditIndex)
	}
	// The receipt's head is one the log extends.
	head, err := audit.ParseHead(rc.CheckpointHead)
	if err != nil || head.N != rc.Checkpoint {
		t.Fatalf("receipt head %q (%v), want one of %d records", rc.CheckpointHead, err, rc.Checkpoint)
	}
	if rep, err := audit.Verify(ctx, e.dir+"/audit", audit.VerifyOptions{Since: []audit.Head{head}}); err != nil || len(rep.Heads) != 1 {
		t.Errorf("verify since the receipt's head: %v", err)
	}
	var rec audit.Record
	audit.ReadRecords(ctx, e.dir+"/audit", rc.AuditIndex, func(r audit.Record) bool { rec = r; return false })
	if rec.Kind != audit.KindPrivacyRequest || rec.Subject != anaHash {
		t.Errorf("audit record %d: %+v", rc.AuditIndex, rec)
	}
	if n := e.count(`select count(*) from privacy_requests where request_id = ? and status = 'completed' and audit_index = ?`, rc.RequestID, rc.AuditIndex); n != 1 {
		t.Error("privacy_requests does not record the completed request")
	}

	// Re-consuming the whole topic from offset 0 leaves her absent.
	st := e.consume("replay", total)
	if got := st.Suppressed.Load(); got != int64(len(ana)) {
		t.Errorf("replay suppressed %d messages, want all %d of Ana's", got, len(ana))
	}
	e.refresh()
	if n := e.count(`select count(*) from events where event_id like 'ana-%'`); n != 0 {
		t.Errorf("replay brought back %d of her events", n)
	}
	if e.count(`select count(*) from dead_letters`) != dlBefore-2 {
		t.Error("replay brought back her dead letters")
	}
	if st.Accepted.Load() != 0 {
		t.Errorf("replay stored %d new events", st.Accepted.Load())
	}
	if hits := grep(t, e.dir, anaSecrets); len(hits) > 0 {
		t.Fatalf("after the replay: %v", hits)
	}

	// The saved receipt holds the timings the printed one shows.
	raw, err := os.ReadFile(filepath.Join(e.dir, governance.ReceiptsDir, rc.RequestID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var saved governance.Receipt
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Took == "" || saved.StepsMS["keys"] < 0 || len(saved.StepsMS) < 6 || saved.Status != governance.StatusCompleted {
		t.Errorf("saved receipt: took %q, steps_ms %v, status %q", saved.Took, saved.StepsMS, saved.Status)
	}
	var stored string
	if err := e.wh.DB.QueryRow(`select receipt::varchar from privacy_requests where request_id = ?`, rc.RequestID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, `"took":"`+saved.Took+`"`) || strings.Contains(stored, `"steps_ms":null`) {
		t.Errorf("privacy_requests.receipt lacks the timings: %.300s", stored)
	}

	// Asking again answers who erased her and when, and is on record.
	auditBefore := e.audit.Len()
	again, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Actor: "test"})
	var ae *governance.AlreadyErasedError
	if !errors.As(err, &ae) || !errors.Is(err, governance.ErrUnknownSubject) || ae.By != rc.RequestID ||
		!strings.Contains(err.Error(), rc.RequestID) || !strings.Contains(err.Error(), time.Now().UTC().Format(time.DateOnly)) {
		t.Fatalf("a second erasure answered %v", err)
	}
	if n := e.count(`select count(*) from privacy_requests where request_id = ? and status = 'no_data' and kind = 'erasure'
		and subject_hash = ? and completed_at is not null`, again.RequestID, anaHash); n != 1 {
		t.Errorf("the second erasure is not on record as no_data")
	}
	if e.audit.Len() != auditBefore+1 {
		t.Errorf("the second erasure added %d audit records, want 1", e.audit.Len()-auditBefore)
	}
	var rec2 audit.Record
	audit.ReadRecords(ctx, e.dir+"/audit", again.AuditIndex, func(r audit.Record) bool { rec2 = r; return false })
	if rec2.Subject != anaHash || rec2.Detail["status"] != governance.StatusNoData || rec2.Detail["erased_by"] != rc.RequestID {
		t.Errorf("audit record of the second erasure: %+v", rec2)
	}
}

func TestBadErasureRequestsChangeNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	e.background(300)
	e.consume("g", 300)
	snapshot := func() [4]int64 {
		return [4]int64{e.count(`select count(*) from events`), e.count(`select count(*) from privacy_requests`),
			e.count(`select count(*) from identifier_rules`), int64(e.wh.Keys().Len())}
	}
	before, auditBefore := snapshot(), e.audit.Len()
	for _, bad := range []struct{ kind, value string }{
		{"email", "not-an-email"}, {"phone", "12ab"}, {"contact", "nochannel"}, {"contact", ""}, {"fax", "123"},
	} {
		if _, err := governance.ParseIdentifier(bad.kind, bad.value); err == nil {
			t.Errorf("%s %q parsed", bad.kind, bad.value)
		} else if strings.Contains(err.Error(), bad.value) && bad.value != "" {
			t.Errorf("error quotes the value: %v", err)
		}
	}
	for _, reason := range []string{"pedido de ana@example.org", "ligou do +55 11 98765-4321", strings.Repeat("x", 501)} {
		_, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: governance.Identifier{Kind: "email", Value: "a@b.org"}, Reason: reason, Actor: "test"})
		var re *governance.ReasonError
		if !errors.As(err, &re) || strings.Contains(err.Error(), "example.org") || strings.Contains(err.Error(), "98765") {
			t.Errorf("reason %.20q: %v", reason, err)
		}
	}
	if after := snapshot(); after != before || e.audit.Len() != auditBefore {
		t.Fatalf("a bad request changed something: %v -> %v", before, after)
	}

	// An identifier that names nothing: answered, and on record (the
	// request with status no_data, an audit record), nothing else changed.
	id, _ := governance.ParseEmail("nobody.here@example.org")
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Actor: "test"})
	var ae *governance.AlreadyErasedError
	if !errors.Is(err, governance.ErrUnknownSubject) || errors.As(err, &ae) {
		t.Fatalf("erasing an unknown identifier = %v", err)
	}
	want := before
	want[1]++
	if after := snapshot(); after != want || e.audit.Len() != auditBefore+1 {
		t.Fatalf("an unknown identifier: %v -> %v (want %v), audit %d -> %d", before, after, want, auditBefore, e.audit.Len())
	}
	subject := e.wh.Hasher().Identifier("email", "nobody.here@example.org")
	if n := e.count(`select count(*) from privacy_requests where request_id = ? and status = 'no_data' and subject_hash = ?`, rc.RequestID, subject); n != 1 {
		t.Error("the unknown identifier's request is not recorded as no_data")
	}
	if _, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: mustParse(t, "email", "nobody.else@example.org"), Actor: "test"}); !errors.Is(err, governance.ErrUnknownSubject) {
		t.Fatalf("exporting an unknown identifier = %v", err)
	}
	if n := e.count(`select count(*) from privacy_requests where kind = 'access' and status = 'no_data'`); n != 1 || e.audit.Len() != auditBefore+2 {
		t.Errorf("the unknown export is not on record: %d requests, %d audit records added", n, e.audit.Len()-auditBefore)
	}
}

func mustParse(t *testing.T, kind, value string) governance.Identifier {
	t.Helper()
	id, err := governance.ParseIdentifier(kind, value)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
