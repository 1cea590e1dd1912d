package governance_test

import (
	"context"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
)

// consentRecords returns the consent_change audit records, in order.
func consentRecords(t *testing.T, e *env) []audit.Record {
	t.Helper()
	var out []audit.Record
	err := audit.ReadRecords(context.Background(), e.audit.Dir(), 0, func(r audit.Record) bool {
		if r.Kind == audit.KindConsentChange {
			out = append(out, r)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) enforce() governance.ConsentReport {
	e.t.Helper()
	rep, err := e.gov.EnforceConsent(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func (e *env) keyOf(hash string) string {
	e.t.Helper()
	var key string
	if err := e.wh.DB.QueryRow(`select contact_key from int_identifiers_resolved where identifier_hash = ?`, hash).Scan(&key); err != nil {
		e.t.Fatalf("no person for an identifier: %v", err)
	}
	return key
}

// Issue 24.1: a phone withdraws, a different e-mail grants a day later, one
// message names both and the people merge. The withdrawal must not be
// reversed by the merge: the most restrictive decision in force for a part
// wins until the person decides again.
func TestConsentMergeKeepsTheWithdrawal(t *testing.T) {
	const (
		phone = "+5521977770101"
		email = "ana.merge@example.org"
	)
	e := newEnv(t, governance.Defaults())
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -8).Add(10 * time.Hour)
	ph := `{"phone":"` + phone + `","name":"Ana Fusao"}`
	em := `{"email":"` + email + `"}`
	both := `{"phone":"` + phone + `","email":"` + email + `"}`
	text := func(s string) string { return `,"message":{"direction":"inbound","text":"` + s + `"}` }
	withdraw, grant := `,"consent":{"purpose":"analytics","granted":false}`, `,"consent":{"purpose":"analytics","granted":true}`
	n := int64(0)
	// Day 0: the phone writes, then withdraws. Enforced.
	e.produce(canonical("mg-p1", "message", day, "whatsapp", "mg-conv-p", ph, text("texto-fone-antes")),
		canonical("mg-p2", "consent", day.Add(time.Hour), "whatsapp", "", ph, withdraw))
	n += 2
	e.consume("g1", n)
	e.refresh()
	if rep := e.enforce(); rep.Withdrawn != 1 {
		t.Fatalf("withdrawal not enforced: %+v", rep)
	}
	h := e.wh.Hasher()
	phoneHash, emailHash := h.Identifier("phone", phone), h.Identifier("email", email)
	keyP := e.keyOf(phoneHash)

	// Day 1: a different e-mail grants and writes. Enforced: no rule.
	e.produce(canonical("mg-e1", "consent", day.Add(24*time.Hour), "webchat", "", em, grant),
		canonical("mg-e2", "message", day.Add(25*time.Hour), "webchat", "mg-conv-e", em, text("texto-email-antes")))
	n += 2
	e.consume("g2", n)
	e.refresh()
	if rep := e.enforce(); rep.Withdrawn != 0 || rep.Regranted != 0 {
		t.Fatalf("the e-mail's grant did something: %+v", rep)
	}
	keyE := e.keyOf(emailHash)
	if keyE == keyP {
		t.Fatal("the two identities are one before any event names both")
	}
	if n := e.count(`select count(*) from events where event_id = 'mg-e2' and content is not null`); n != 1 {
		t.Fatal("the e-mail's message was not stored with its text before the merge")
	}

	// Day 2: one message names both: they merge at the next refresh.
	e.produce(canonical("mg-m1", "message", day.Add(48*time.Hour), "whatsapp", "mg-conv-p", both, text("texto-fusao")))
	n++
	e.consume("g3", n)
	e.refresh()
	key := e.keyOf(phoneHash)
	if e.keyOf(emailHash) != key {
		t.Fatal("the message naming both did not merge them")
	}
	auditBefore := len(consentRecords(t, e))
	rep := e.enforce()
	// The e-mail is newly covered; nothing is re-granted.
	if rep.Regranted != 0 || rep.Withdrawn != 1 || rep.Identifiers != 1 {
		t.Fatalf("enforcement after the merge %+v, want the e-mail pseudonymized and nothing re-granted", rep)
	}
	// consent_state: one analytics row for the merged person, the phone's
	// withdrawal; the other key's row re-keyed away.
	var granted bool
	var ev string
	if err := e.wh.DB.QueryRow(`select granted, event_id from consent_state where contact_key = ? and purpose = 'analytics'`, key).Scan(&granted, &ev); err != nil {
		t.Fatal(err)
	}
	if granted || ev != "mg-p2" {
		t.Errorf("merged person's consent: granted=%v by %s, want the withdrawal mg-p2", granted, ev)
	}
	for _, k := range []string{keyP, keyE} {
		if k == key {
			continue
		}
		if n := e.count(`select count(*) from consent_state where contact_key = ?`, k); n != 0 {
			t.Errorf("consent_state keeps %d rows under a key that merged away", n)
		}
	}
	if n := e.count(`select count(*) from identifier_rules where rule = 'pseudonymize' and pseudonymize_until is null
		and identifier_hash in (?, ?)`, phoneHash, emailHash); n != 2 {
		t.Errorf("%d of the merged person's 2 identifiers carry the withdrawal in force", n)
	}
	recs := consentRecords(t, e)[auditBefore:]
	rekeyed := false
	for _, r := range recs {
		if r.Detail["change"] == "rekeyed" && r.Detail["contact_key"] == key && r.Detail["event_id"] == "mg-e1" {
			rekeyed = true
		}
		if r.Detail["change"] == "rule_lifted" {
			t.Errorf("a rule was lifted by the merge: %v", r.Detail)
		}
	}
	if !rekeyed {
		t.Errorf("no audit record of the re-keyed grant; got %v", recs)
	}
	if n := e.count(`select count(*) from events where event_id in ('mg-e2', 'mg-m1') and content is not null`); n != 0 {
		t.Errorf("%d of the merged person's messages keep their text", n)
	}

	// Day 3: a phone-only message is stored without personal data, and the
	// timeline does not show the person.
	e.produce(canonical("mg-p3", "message", day.Add(72*time.Hour), "whatsapp", "mg-conv-p", ph, text("texto-fone-depois")))
	n++
	e.consume("g4", n)
	e.refresh()
	if rep := e.enforce(); rep.Regranted != 0 {
		t.Fatalf("a later enforcement re-granted: %+v", rep)
	}
	if n := e.count(`select count(*) from events where event_id = 'mg-p3' and content is null`); n != 1 {
		t.Error("the phone-only message after the merge was stored with its text")
	}
	if n := e.count(`select count(*) from identifiers where identifier_hash in (?, ?)`, phoneHash, emailHash); n != 0 {
		t.Error("the merged person's identifier values are stored")
	}
	if n := e.count(`select count(*) from timeline where contact_key = ?`, key); n != 0 {
		t.Errorf("timeline shows %d of the merged person's events", n)
	}
	for _, s := range []string{"texto-fone-depois", "texto-fusao", "texto-email-antes", "texto-fone-antes", phone, email, "Ana Fusao"} {
		if hits := grep(t, e.dir, []string{s}); len(hits) > 0 {
			t.Errorf("%q found in %v", s, hits)
		}
	}

	// Day 4: the person decides again (the e-mail grants). The rule is
	// lifted for events from then on, each lifted rule audited; a late
	// message dated inside the withdrawn window is still gated.
	regrant := day.Add(96 * time.Hour)
	auditBefore = len(consentRecords(t, e))
	e.produce(canonical("mg-e3", "consent", regrant, "webchat", "", em, grant))
	n++
	e.consume("g5", n)
	e.refresh()
	if rep := e.enforce(); rep.Regranted != 1 {
		t.Fatalf("the person's new grant was not applied: %+v", rep)
	}
	if n := e.count(`select count(*) from identifier_rules where rule = 'pseudonymize' and pseudonymize_until = ?
		and identifier_hash in (?, ?)`, regrant, phoneHash, emailHash); n != 2 {
		t.Errorf("%d of 2 rules end at the re-grant", n)
	}
	lifted := 0
	for _, r := range consentRecords(t, e)[auditBefore:] {
		if r.Detail["change"] == "rule_lifted" && r.Subject == key {
			lifted++
		}
	}
	if lifted != 2 {
		t.Errorf("%d audit records of lifted rules, want 2 (phone and e-mail)", lifted)
	}
	e.produce(canonical("mg-p4", "message", day.Add(80*time.Hour), "whatsapp", "mg-conv-p", ph, text("texto-dentro-da-janela")),
		canonical("mg-p5", "message", regrant.Add(time.Hour), "whatsapp", "mg-conv-p", ph, text("texto-apos-reconsentir")))
	n += 2
	e.consume("g6", n)
	if n := e.count(`select count(*) from events where event_id = 'mg-p4' and content is null`); n != 1 {
		t.Error("a message dated inside the withdrawn window, arriving after the re-grant, kept its text")
	}
	if n := e.count(`select count(*) from events where event_id = 'mg-p5' and content is not null`); n != 1 {
		t.Error("a message dated after the re-grant lost its text")
	}
	if hits := grep(t, e.dir, []string{"texto-dentro-da-janela"}); len(hits) > 0 {
		t.Errorf("the in-window text is in %v", hits)
	}
	e.refresh()
	if n := e.count(`select count(*) from timeline where contact_key = ? and occurred_at < ?`, key, regrant); n != 0 {
		t.Errorf("timeline shows %d events dated inside the withdrawn window", n)
	}
	if n := e.count(`select count(*) from timeline where contact_key = ? and event_id = 'mg-p5'`, key); n != 1 {
		t.Error("timeline hides the message dated after the re-grant")
	}
}

// Issue 24.4: consent is judged by event time. A withdrawal and a grant in
// one batch are both enforced, in event-time order, and both audited; a
// message dated inside the withdrawn window that arrives after the re-grant
// is stored without personal data.
func TestConsentByEventTime(t *testing.T) {
	const phone = "+5521977770202"
	e := newEnv(t, governance.Defaults())
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -8).Add(10 * time.Hour)
	ph := `{"phone":"` + phone + `","name":"Caio Janela"}`
	text := func(s string) string { return `,"message":{"direction":"inbound","text":"` + s + `"}` }
	e.produce(canonical("et-g0", "consent", day.Add(-time.Hour), "whatsapp", "", ph, `,"consent":{"purpose":"analytics","granted":true}`),
		canonical("et-m1", "message", day, "whatsapp", "et-conv", ph, text("texto-antes-da-janela")))
	e.consume("g1", 2)
	e.refresh()
	if rep := e.enforce(); rep.Withdrawn != 0 {
		t.Fatalf("a grant withdrew: %+v", rep)
	}
	auditBefore := len(consentRecords(t, e))

	// One batch: withdrawn on day 1, granted again on day 3.
	regrant := day.Add(72 * time.Hour)
	e.produce(canonical("et-w1", "consent", day.Add(24*time.Hour), "whatsapp", "", ph, `,"consent":{"purpose":"analytics","granted":false}`),
		canonical("et-g1", "consent", regrant, "whatsapp", "", ph, `,"consent":{"purpose":"analytics","granted":true}`))
	e.consume("g2", 4)
	e.refresh()
	rep := e.enforce()
	if rep.Withdrawn != 1 || rep.Identifiers != 1 {
		t.Fatalf("the withdrawal in the batch was not enforced: %+v", rep)
	}
	h := e.wh.Hasher()
	phoneHash := h.Identifier("phone", phone)
	if n := e.count(`select count(*) from identifier_rules where identifier_hash = ? and rule = 'pseudonymize' and pseudonymize_until = ?`, phoneHash, regrant); n != 1 {
		t.Error("no pseudonymize rule covering the events before the re-grant")
	}
	// What was kept before the withdrawal is redacted.
	if n := e.count(`select count(*) from events where event_id = 'et-m1' and content is null`); n != 1 {
		t.Error("the message stored before the withdrawal keeps its text")
	}
	var ev string
	var granted bool
	if err := e.wh.DB.QueryRow(`select event_id, granted from consent_state where contact_key = ? and purpose = 'analytics'`, e.keyOf(phoneHash)).Scan(&ev, &granted); err != nil {
		t.Fatal(err)
	}
	if ev != "et-g1" || !granted {
		t.Errorf("consent in force %s granted=%v, want the re-grant et-g1", ev, granted)
	}
	audited := map[any]bool{}
	for _, r := range consentRecords(t, e)[auditBefore:] {
		audited[r.Detail["event_id"]] = true
	}
	if !audited["et-w1"] || !audited["et-g1"] {
		t.Errorf("consent events audited: %v, want et-w1 and et-g1", audited)
	}

	// Late messages: dated inside the window (day 2) and after the re-grant.
	e.produce(canonical("et-m2", "message", day.Add(48*time.Hour), "whatsapp", "et-conv", ph, text("texto-na-janela")),
		canonical("et-m3", "message", regrant.Add(time.Hour), "whatsapp", "et-conv", ph, text("texto-depois-da-janela")))
	e.consume("g3", 6)
	if n := e.count(`select count(*) from events where event_id = 'et-m2' and content is null`); n != 1 {
		t.Error("a message dated inside the withdrawn window was stored with its text")
	}
	if n := e.count(`select count(*) from events where event_id = 'et-m3' and content is not null`); n != 1 {
		t.Error("a message dated after the re-grant lost its text")
	}
	for _, s := range []string{"texto-na-janela", "texto-antes-da-janela"} {
		if hits := grep(t, e.dir, []string{s}); len(hits) > 0 {
			t.Errorf("%q found in %v", s, hits)
		}
	}
	// A second enforcement audits nothing again and changes nothing.
	auditBefore = len(consentRecords(t, e))
	e.refresh()
	if rep := e.enforce(); rep != (governance.ConsentReport{}) {
		t.Errorf("a repeated enforcement did %+v", rep)
	}
	if n := len(consentRecords(t, e)) - auditBefore; n != 0 {
		t.Errorf("a repeated enforcement appended %d consent records", n)
	}
}
