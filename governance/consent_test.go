package governance_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/privacy"
)

const (
	biaPhone = "+5521966664321"
	biaEmail = "bia.withdrawn@example.org"
)

func biaMessages(prefix string, at time.Time, contact, text string) []kafka.Message {
	msg := `,"message":{"direction":"inbound","text":"` + text + `"}`
	return []kafka.Message{
		canonical(prefix+"-1", "message", at, "whatsapp", prefix+"-conv", contact, msg),
		canonical(prefix+"-2", "message", at.Add(time.Minute), "whatsapp", prefix+"-conv", contact,
			`,"message":{"direction":"outbound","text":"resposta"}`),
		canonical(prefix+"-3", "resolved", at.Add(2*time.Minute), "whatsapp", prefix+"-conv", contact, ""),
	}
}

func kpiSnapshot(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`select day, channel, conversations, frt_p50_s, escalation_rate, csat_responses, nps_responses from kpi_daily order by all`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var day time.Time
		var ch string
		var conv, csat, nps int64
		var frt, esc sql.NullFloat64
		rows.Scan(&day, &ch, &conv, &frt, &esc, &csat, &nps)
		fmt.Fprintf(&b, "%s %s %d %v %v %d %d\n", day.Format(time.DateOnly), ch, conv, frt, esc, csat, nps)
	}
	return b.String()
}

func TestConsentWithdrawal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	e.background(800)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -5).Add(10 * time.Hour)
	phone := `{"phone":"` + biaPhone + `","name":"Bia Retirada"}`
	msgs := biaMessages("bia-a", day, phone, "texto-antes-da-retirada")
	msgs = append(msgs, canonical("bia-c1", "consent", day.Add(-time.Hour), "whatsapp", "", phone, `,"consent":{"purpose":"analytics","granted":true,"basis":"contract"}`))
	e.produce(msgs...)
	e.consume("g1", 800+int64(len(msgs)))
	e.refresh()
	if _, err := e.gov.EnforceConsent(ctx); err != nil {
		t.Fatal(err)
	}
	h := e.wh.Hasher()
	phoneHash := h.Identifier("phone", biaPhone)
	var key string
	if err := e.wh.DB.QueryRow(`select contact_key from int_identifiers_resolved where identifier_hash = ?`, phoneHash).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`select count(*) from consent_state where contact_key = ? and purpose = 'analytics' and granted`, key); n != 1 {
		t.Fatalf("consent_state has %d granted rows for Bia", n)
	}
	// The row is the deciding event's: its time to the microsecond, and no
	// copy of its basis or source, which are sealed in the event's content
	// and read there (cx_content for compliance): a basis it gave, a source
	// it did not give.
	var basis, source sql.NullString
	var decided time.Time
	if err := e.wh.DB.QueryRow(`select basis, source, decided_at from consent_state where contact_key = ? and event_id = 'bia-c1'`, key).
		Scan(&basis, &source, &decided); err != nil {
		t.Fatal(err)
	}
	if basis.Valid || source.Valid || !decided.Equal(day.Add(-time.Hour)) {
		t.Fatalf("consent_state row: basis %+v, source %+v, decided_at %s; want NULL, NULL, %s", basis, source, decided, day.Add(-time.Hour))
	}
	var terms sql.NullString
	if err := e.wh.DB.QueryRow(`select cx_content(event_id, subject_hash, occurred_at, content) from events
		where event_id = 'bia-c1' and consent_basis is null and consent_source is null`).Scan(&terms); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(terms.String, `"consent_basis":"contract"`) || strings.Contains(terms.String, "consent_source") {
		t.Fatalf("the consent event's content is %q; want its basis contract and no source", terms.String)
	}
	// The access export shows the basis from the event, in its consent rows.
	x, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: mustParse(t, "phone", biaPhone), Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Consent) != 1 || x.Consent[0]["basis"] != "contract" || x.Consent[0]["source"] != nil {
		t.Fatalf("the export's consent rows %v; want one, basis contract, source null", x.Consent)
	}
	if n := e.count(`select count(*) from timeline where contact_key = ?`, key); n == 0 {
		t.Fatal("Bia is not in the timeline before withdrawing")
	}

	// She withdraws. The next enforcement redacts what was stored.
	e.produce(canonical("bia-c2", "consent", day.Add(time.Hour), "whatsapp", "", phone, `,"consent":{"purpose":"analytics","granted":false}`))
	e.consume("g2", 800+int64(len(msgs))+1)
	e.refresh()
	kpiBefore := kpiSnapshot(t, e.wh.DB)
	auditBefore := e.audit.Len()
	rep, err := e.gov.EnforceConsent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Her three messages and both consent events had content.
	if rep.Withdrawn != 1 || rep.Redacted != 5 || rep.Changes != 1 || rep.Keys == 0 {
		t.Fatalf("enforcement %+v", rep)
	}
	if e.audit.Len() != auditBefore+1 {
		t.Errorf("consent change not audited: %d -> %d records", auditBefore, e.audit.Len())
	}
	if n := e.count(`select count(*) from events where subject_hash = ? and content is not null`, phoneHash); n != 0 {
		t.Errorf("%d of Bia's earlier events keep content", n)
	}
	if n := e.count(`select count(*) from identifiers where identifier_hash = ?`, phoneHash); n != 0 {
		t.Error("Bia's phone is still stored")
	}
	if _, ok := e.wh.Keys().Get(privacy.SubjectID(phoneHash)); ok {
		t.Error("Bia's data key survived")
	}
	if got := kpiSnapshot(t, e.wh.DB); got != kpiBefore {
		t.Errorf("KPIs changed:\n%s\nvs\n%s", kpiBefore, got)
	}
	if n := e.count(`select count(*) from timeline where contact_key = ?`, key); n != 0 {
		t.Errorf("timeline still shows %d of Bia's events", n)
	}
	if n := e.count(`select count(*) from conversations where contact_key = ?`, key); n == 0 {
		t.Error("Bia's conversations left the KPI base")
	}

	// New events after the withdrawal, one naming a new email too: stored
	// without text or identifiers.
	both := `{"phone":"` + biaPhone + `","email":"` + biaEmail + `"}`
	later := biaMessages("bia-b", day.Add(48*time.Hour), both, "texto-depois-da-retirada")
	e.produce(later...)
	total := 800 + int64(len(msgs)) + 1 + int64(len(later))
	e.consume("g3", total)
	if n := e.count(`select count(*) from events where event_id like 'bia-b-%'`); n != 3 {
		t.Fatalf("%d of Bia's later events stored, want 3 (without personal data)", n)
	}
	if n := e.count(`select count(*) from events where event_id like 'bia-b-%' and content is not null`); n != 0 {
		t.Errorf("%d later events stored content", n)
	}
	if n := e.count(`select count(*) from identifiers where identifier_hash in (?, ?)`, phoneHash, h.Identifier("email", biaEmail)); n != 0 {
		t.Error("identifiers of a withdrawn person were stored")
	}
	for _, s := range []string{"texto-depois-da-retirada", "texto-antes-da-retirada", biaEmail, biaPhone, "Retirada"} {
		if hits := grep(t, e.dir, []string{s}); len(hits) > 0 {
			t.Errorf("%q found in %v", s, hits)
		}
	}
	// The new email joins her person at the next refresh and is pseudonymized too.
	e.refresh()
	rep, err = e.gov.EnforceConsent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Identifiers != 1 || rep.Withdrawn != 1 {
		t.Errorf("second enforcement %+v, want the new email pseudonymized", rep)
	}
	if n := e.count(`select count(*) from kpi_daily`); n == 0 {
		t.Error("no KPIs")
	}
}
