package governance_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/privacy"
)

// pageExport is an export as Export builds it, with what an attacker can
// put in a message (markup) and an agent's internal note.
func pageExport() *governance.Export {
	at := time.Date(2026, 11, 3, 14, 0, 0, 0, time.UTC)
	phone := "+5511977771234"
	first := at.Add(-time.Hour)
	ev := func(id, typ string, min int, rest map[string]any) map[string]any {
		m := map[string]any{"event_id": "event-internal-" + id, "type": typ, "occurred_at": at.Add(time.Duration(min) * time.Minute),
			"channel": "whatsapp", "conversation_id": "wa-5511977771234", "kafka_topic": "topic-internal-7731",
			"kafka_offset": int64(99123), "batch_id": int64(4455661), "subject_hash": "hash-internal-55aa", "raw": `{"raw-internal-8812":1}`,
			"content_redacted": false}
		for k, v := range rest {
			m[k] = v
		}
		return m
	}
	return &governance.Export{
		RequestID: "acc-00000000000000aa", GeneratedAt: at.Add(48 * time.Hour), Subject: "hash-internal-subject-9911",
		Law: governance.LawGDPR, DueAt: time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC),
		Processing: governance.Processing{Purposes: []string{"analytics: quality measures"},
			Retention: map[string]string{"message_text": "180d", "raw_events": "730d", "dead_letters": "30d", "audit": "1825d"}},
		ContactKeys: []string{"ck-internal-3344"},
		Identifiers: []governance.ExportIdentifier{{Kind: "phone", Value: &phone, Hash: "hash-internal-66bb", FirstSeenAt: &first}},
		Events: []map[string]any{
			ev("e1", "message", 0, map[string]any{"actor_kind": "customer", "message_direction": "inbound", "message_private": false,
				"content": privacy.Content{MessageText: `<script>document.title="pwned"</script><img src=x onerror=alert(1)> my order`}}),
			ev("e2", "message", 1, map[string]any{"actor_kind": "agent", "message_direction": "outbound", "message_private": true,
				"content": privacy.Content{MessageText: "customer sounds angry-note-4471"}}),
			ev("e3", "message", 2, map[string]any{"actor_kind": "agent", "message_direction": "outbound", "message_private": false,
				"content": privacy.Content{MessageText: "we are on it-reply-5520"}}),
			ev("e4", "survey", 3, map[string]any{"actor_kind": "customer", "survey_kind": "csat", "survey_score": int32(2),
				"content": privacy.Content{SurveyComment: "slow-comment-6630"}}),
			ev("e5", "message", 4, map[string]any{"actor_kind": "customer", "message_direction": "inbound", "message_private": false,
				"content": nil, "content_redacted": true}),
			ev("e6", "resolved", 5, map[string]any{"actor_kind": "system"}),
		},
		DeadLetters: []governance.ExportDeadLetter{{Topic: "topic-internal-7731", Offset: 77, Reason: "occurred_at is not a time",
			ReceivedAt: at, Raw: `{"text":"</p><script>alert(2)</script>"}`}},
		Consent: []map[string]any{{"contact_key": "ck-internal-3344", "purpose": "analytics", "granted": true,
			"decided_at": at, "event_id": "consent-internal-1"}},
		Conversations:   []map[string]any{},
		PrivacyRequests: []map[string]any{{"request_id": "acc-0000000000000001", "kind": "access", "status": "completed", "received_at": at}},
	}
}

// TestExportHTMLIsForThePerson: the page has the summary, the thread, the
// internal note marked, the glossary; it leaves internal fields out; and
// what a message says is shown, never run.
func TestExportHTMLIsForThePerson(t *testing.T) {
	x := pageExport()
	var b bytes.Buffer
	if err := x.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`<h2 id="summary">Summary</h2>`, `<h2 id="conversations">Your conversations</h2>`, `<h2 id="glossary">What each part means</h2>`,
		`<h2 id="consent">Your consent</h2>`, `<h2 id="rejected">Messages we received but could not process</h2>`,
		"Phone number: &#43;5511977771234 (known to us since 3 November 2026)",
		"<dd>WhatsApp</dd>",
		"from 3 November 2026 to 3 November 2026",
		"analytics: quality measures",
		// texts: 180 days; the latest held is of 3 November: whole day older than 180 days on 3 May 2027
		"kept 180 days; the latest we hold, until 3 May 2027",
		"due by 5 December 2026 under the GDPR",
		"This answer includes 1 internal note ",
		`<span class="label">Agent</span> <span class="badge">internal note</span>`,
		"customer sounds angry-note-4471", "we are on it-reply-5520",
		"you answered a satisfaction survey: 2 out of 5", "slow-comment-6630",
		"text no longer readable", "Status: resolved",
		"&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; my order",
		"&lt;/p&gt;&lt;script&gt;alert(2)&lt;/script&gt;",
		"<td>analytics</td><td>given</td><td>3 November 2026</td>",
		"<td>acc-0000000000000001</td><td>access</td><td>completed</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, internal := range []string{"hash-internal", "topic-internal", "99123", "4455661", "raw-internal", "ck-internal", "consent-internal", "wa-5511977771234", "event-internal"} {
		if strings.Contains(page, internal) {
			t.Errorf("the page shows the internal value %q", internal)
		}
	}
	// Nothing runs and nothing is fetched: the only tags are the page's own.
	if strings.Contains(strings.ToLower(page), "<script") || strings.Contains(page, "<img") {
		t.Error("markup from a message reached the page as markup")
	}
	if m := regexp.MustCompile(`(?i)<[^>]*\s(src|href)=|url\(|@import`).FindString(page); m != "" {
		t.Errorf("the page refers to an external resource: %q", m)
	}
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("the page has no content security policy")
	}
	if x.InternalNotes() != 1 {
		t.Errorf("InternalNotes = %d, want 1", x.InternalNotes())
	}
}

// TestRequestsFollowTheLawAskedFor: a request names its law; its deadline
// and label follow it, the request records it, and the default is
// governance.law. A law other than gdpr or lgpd is refused before anything
// is recorded.
func TestRequestsFollowTheLawAskedFor(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults()) // governance.law: both
	at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4).Add(15 * time.Hour)
	ana := anaMessages(at)
	e.produce(ana...)
	e.consume("law", int64(len(ana)))
	e.refresh()

	x, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: mustParse(t, "email", anaEmail), Actor: "test", Law: governance.LawGDPR})
	if err != nil {
		t.Fatal(err)
	}
	g := x.GeneratedAt
	wantDue := time.Date(g.Year(), g.Month()+1, g.Day(), g.Hour(), g.Minute(), g.Second(), g.Nanosecond(), time.UTC)
	if wantDue.Day() != g.Day() { // a shorter next month: its last day
		wantDue = time.Date(g.Year(), g.Month()+2, 0, g.Hour(), g.Minute(), g.Second(), g.Nanosecond(), time.UTC)
	}
	if x.Law != "gdpr" || !x.DueAt.Equal(wantDue) {
		t.Errorf("export under the GDPR: law %q due %s, want gdpr due %s", x.Law, x.DueAt, wantDue)
	}
	var page bytes.Buffer
	if err := x.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"meu pedido comprovante-88123 nao chegou", "under the GDPR", "Web chat", "E-mail"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the page of a real export lacks %q", want)
		}
	}
	if strings.Contains(page.String(), x.Subject) || strings.Contains(page.String(), "ana-1") {
		t.Error("the page of a real export shows a keyed hash or an event id")
	}

	// The same person's erasure under the LGPD: 15 days, labelled LGPD.
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: mustParse(t, "phone", anaPhone), Actor: "test", Law: governance.LawLGPD})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Law != "lgpd" || !rc.DueAt.Equal(rc.ReceivedAt.AddDate(0, 0, 15)) || !strings.Contains(rc.Text(), "(LGPD)") {
		t.Errorf("erasure under the LGPD: law %q due %s received %s", rc.Law, rc.DueAt, rc.ReceivedAt)
	}
	// Without a law: governance.law (both: the earlier, LGPD's 15 days).
	none, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: mustParse(t, "email", "nobody.law@example.org"), Actor: "test"})
	if !errors.Is(err, governance.ErrUnknownSubject) || none.Law != "lgpd" || !none.DueAt.Equal(none.ReceivedAt.AddDate(0, 0, 15)) {
		t.Errorf("default law: %v, law %q", err, none.Law)
	}
	for id, want := range map[string]string{x.RequestID: "gdpr", rc.RequestID: "lgpd", none.RequestID: "lgpd"} {
		if n := e.count(`select count(*) from privacy_requests where request_id = ? and law = ?`, id, want); n != 1 {
			t.Errorf("request %s does not record law %s", id, want)
		}
	}

	// Another law is refused, before anything is recorded.
	before := e.count(`select count(*) from privacy_requests`)
	if _, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: mustParse(t, "email", anaEmail), Actor: "test", Law: "ccpa"}); !errors.As(err, new(*governance.LawError)) {
		t.Errorf("export under another law: %v", err)
	}
	if _, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: mustParse(t, "email", anaEmail), Actor: "test", Law: "GDPR "}); !errors.As(err, new(*governance.LawError)) {
		t.Errorf("erasure under another law: %v", err)
	}
	if after := e.count(`select count(*) from privacy_requests`); after != before {
		t.Errorf("a refused law recorded %d requests", after-before)
	}
}

// TestPrivacyAPIExportsHTMLUnderALaw: the API's export takes law and
// format, tells the caller how many internal notes it carries, and
// refuses an unknown format or law with 400.
func TestPrivacyAPIExportsHTMLUnderALaw(t *testing.T) {
	cfg := governance.Defaults()
	cfg.ComplianceToken = "token-for-the-law-test-0001"
	e := newEnv(t, cfg)
	at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2).Add(9 * time.Hour)
	note := canonical("note-1", "message", at, "whatsapp", "wa-law", `{"phone":"+5511955550001"}`,
		`,"message":{"direction":"outbound","private":true,"text":"nota-interna-8821"}`)
	note.Value = bytes.Replace(note.Value, []byte(`"kind":"customer"`), []byte(`"kind":"agent"`), 1)
	e.produce(note)
	e.consume("api-law", 1)
	e.refresh()
	srv := httptest.NewServer(e.gov.Handler())
	defer srv.Close()
	post := func(body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/v1/privacy/exports", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cfg.ComplianceToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	res := post(`{"phone": "+5511955550001", "law": "lgpd", "format": "html"}`)
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || res.Header.Get("Cache-Control") != "no-store" ||
		res.Header.Get("X-Cxlake-Internal-Notes") != "1" || !strings.Contains(b.String(), "nota-interna-8821") ||
		!strings.Contains(b.String(), "under the LGPD") || !strings.Contains(b.String(), `<span class="badge">internal note</span>`) {
		t.Errorf("html export: %d %v\n%s", res.StatusCode, res.Header, b.String())
	}
	for _, body := range []string{`{"phone": "+5511955550001", "format": "pdf"}`, `{"phone": "+5511955550001", "law": "both"}`} {
		if res := post(body); res.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", body, res.StatusCode)
		}
	}
}
