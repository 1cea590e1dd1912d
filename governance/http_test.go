package governance_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
)

func TestPrivacyAPI(t *testing.T) {
	cfg := governance.Defaults()
	cfg.ComplianceToken = "s3cret-compliance-token"
	cfg.APITokens = []governance.APIToken{{Name: "dpo-desk", Token: "another-caller-token-1"}}
	e := newEnv(t, cfg)
	e.background(200)
	at := time.Now().UTC().Add(-72 * time.Hour)
	ana := anaMessages(at)
	e.produce(ana...)
	e.consume("g", 200+int64(len(ana)))
	e.refresh()
	// Time enough to answer with the receipt on a busy machine (the 202
	// path is TestErasureOutlivesItsCaller's).
	e.gov.SetAPIWait(time.Minute)
	srv := httptest.NewServer(e.gov.Handler())
	defer srv.Close()

	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	state := func() [3]int64 {
		return [3]int64{e.count(`select count(*) from events`), e.count(`select count(*) from privacy_requests`), e.audit.Len()}
	}
	before := state()
	for _, c := range []struct {
		token, body string
		status      int
		says        string
	}{
		{"", `{"email":"` + anaEmail + `"}`, 401, "compliance token"},
		{"wrong-token-wrong-token", `{"email":"` + anaEmail + `"}`, 401, "compliance token"},
		{cfg.ComplianceToken, `{"email":"not-an-email"}`, 400, "not an e-mail address"},
		{cfg.ComplianceToken, `{"email":"` + anaEmail + `","phone":"` + anaPhone + `"}`, 400, "exactly one"},
		{cfg.ComplianceToken, `{"fax":"123"}`, 400, "unknown field"},
		{cfg.ComplianceToken, `{"email":`, 400, "JSON"},
		{cfg.ComplianceToken, `{"email":"` + anaEmail + `","reason":"pedido de ana@example.org"}`, 400, "invalid reason"},
	} {
		status, body := call("POST", "/v1/privacy/erasures", c.token, c.body)
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s; want %d saying %q", c.body, status, body, c.status, c.says)
		}
		if strings.Contains(body, anaEmail) || strings.Contains(body, "nobody.at.all") {
			t.Errorf("the error quotes the identifier: %s", body)
		}
	}
	if after := state(); after != before {
		t.Fatalf("bad requests changed something: %v -> %v", before, after)
	}

	// Wrong methods and unknown paths answer JSON too.
	for _, c := range []struct{ method, path string }{{"GET", "/v1/privacy/erasures"}, {"DELETE", "/v1/privacy/exports"},
		{"POST", "/v1/privacy/requests"}, {"GET", "/v1/privacy/nothing"}} {
		status, body := call(c.method, c.path, cfg.ComplianceToken, "")
		var m map[string]string
		if (status != 405 && status != 404) || json.Unmarshal([]byte(body), &m) != nil || m["error"] == "" {
			t.Errorf("%s %s: %d %s", c.method, c.path, status, body)
		}
	}
	// Two refused logins so far, counted.
	if n := e.gov.APILoginFailures(); n != 2 {
		t.Errorf("login failures %d, want 2", n)
	}

	// Nothing held: 404, and the request is on record with its audit record.
	status, body := call("POST", "/v1/privacy/erasures", cfg.ComplianceToken, `{"email":"nobody.at.all@example.org"}`)
	var nf map[string]string
	if status != 404 || json.Unmarshal([]byte(body), &nf) != nil || !strings.Contains(nf["error"], "no data is held") || nf["request_id"] == "" {
		t.Fatalf("unknown subject: %d %s", status, body)
	}
	if n := e.count(`select count(*) from privacy_requests where request_id = ? and status = 'no_data'`, nf["request_id"]); n != 1 || e.audit.Len() != before[2]+1 {
		t.Errorf("the unknown subject's request is not on record")
	}
	status, body = call("GET", "/v1/privacy/erasures/"+nf["request_id"], "", "")
	if status != 401 {
		t.Errorf("status without a token: %d", status)
	}

	// Access, then erasure, by the phone; the caller with its own token,
	// the scheme in lower case.
	req, _ := http.NewRequest("POST", srv.URL+"/v1/privacy/exports", strings.NewReader(`{"phone":"+55 (11) 97777-1234"}`))
	req.Header.Set("Authorization", "bearer "+cfg.APITokens[0].Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	status, body = resp.StatusCode, string(raw)
	if status != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d %s, Cache-Control %q", status, body, resp.Header.Get("Cache-Control"))
	}
	var actor string
	if err := e.wh.DB.QueryRow(`select request_id from privacy_requests where kind = 'access' and status = 'completed'`).Scan(&actor); err != nil {
		t.Fatal(err)
	}
	audit.ReadRecords(context.Background(), e.dir+"/audit", 0, func(r audit.Record) bool {
		if r.Detail["request_id"] == actor {
			actor = r.Actor
			return false
		}
		return true
	})
	if actor != "dpo-desk" {
		t.Errorf("the export's audit actor is %q, want the caller dpo-desk", actor)
	}
	var x governance.Export
	if err := json.Unmarshal([]byte(body), &x); err != nil {
		t.Fatal(err)
	}
	if len(x.Events) != 8 || len(x.DeadLetters) != 2 || len(x.Identifiers) != 3 || !strings.Contains(body, "comprovante-88123") {
		t.Errorf("export: %d events, %d dead letters, %d identifiers", len(x.Events), len(x.DeadLetters), len(x.Identifiers))
	}
	status, body = call("POST", "/v1/privacy/erasures", cfg.ComplianceToken, `{"phone":"+5511977771234","reason":"art. 17"}`)
	if status != 200 {
		t.Fatalf("erasure: %d %s", status, body)
	}
	var rc governance.Receipt
	if err := json.Unmarshal([]byte(body), &rc); err != nil {
		t.Fatal(err)
	}
	if !rc.Verification.Passed || rc.RowsRemoved["events"] != 8 {
		t.Errorf("receipt %+v", rc)
	}
	status, body = call("GET", "/v1/privacy/requests", cfg.ComplianceToken, "")
	var list []governance.PrivacyRequest
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 3 {
		t.Fatalf("requests: %d %s", status, body)
	}
	for _, r := range list {
		if (r.Status != governance.StatusCompleted && r.Status != governance.StatusNoData) || r.Overdue {
			t.Errorf("request %+v", r)
		}
	}
	status, body = call("GET", "/v1/privacy/erasures/"+rc.RequestID, cfg.ComplianceToken, "")
	var st struct {
		Status  string             `json:"status"`
		Receipt governance.Receipt `json:"receipt"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Status != governance.StatusCompleted || st.Receipt.RequestID != rc.RequestID {
		t.Errorf("erasure status: %d %s", status, body)
	}
}

// TestErasureOutlivesItsCaller: a client that gives up 100 ms into an
// erasure (held at the point of no return until it has) does not stop it:
// the erasure completes and its receipt is saved. A client that waits gets
// 202 with a status URL, which answers in_progress, then completed.
func TestErasureOutlivesItsCaller(t *testing.T) {
	cfg := governance.Defaults()
	cfg.ComplianceToken = "s3cret-compliance-token"
	e := newEnv(t, cfg)
	at := time.Now().UTC().Add(-72 * time.Hour)
	e.produce(anaMessages(at)...)
	e.produce(canonical("bia-1", "message", at, "whatsapp", "bia-wa-1", `{"phone":"+5521988887777"}`,
		`,"message":{"direction":"inbound","text":"oi"}`))
	e.produce(canonical("cai-1", "message", at, "whatsapp", "cai-wa-1", `{"phone":"+5531977776666"}`,
		`,"message":{"direction":"inbound","text":"oi"}`))
	e.consume("g", 12)
	e.refresh()
	srv := httptest.NewServer(e.gov.Handler())
	defer srv.Close()
	gate := make(chan struct{})
	reached := make(chan struct{}, 1)
	governance.SetErasureStepHook(func(step string) {
		if step == "keys_destroyed" {
			reached <- struct{}{}
			<-gate
		}
	})
	defer governance.SetErasureStepHook(func(string) {})
	post := func(ctx context.Context, body string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/privacy/erasures", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cfg.ComplianceToken)
		return http.DefaultClient.Do(req)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 60s for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The client gives up after 100 ms.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := post(ctx, `{"email":"`+anaEmail+`"}`); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the client got an answer within 100 ms: %v", err)
	}
	<-reached // the erasure is past the point of no return
	close(gate)
	waitFor("the erasure to complete", func() bool {
		return e.count(`select count(*) from privacy_requests where kind = 'erasure' and status = 'completed'`) == 1
	})
	var id string
	if err := e.wh.DB.QueryRow(`select request_id from privacy_requests where kind = 'erasure'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, governance.ReceiptsDir, id+".json")); err != nil {
		t.Fatalf("no receipt: %v", err)
	}
	if n := e.count(`select count(*) from events where event_id like 'ana-%'`); n != 0 {
		t.Errorf("%d of her events remain", n)
	}

	// A client that waits: 202 after APIWait, then the status URL.
	gate = make(chan struct{})
	resp, err := post(context.Background(), `{"phone":"+5521988887777"}`)
	if err != nil {
		t.Fatal(err)
	}
	var acc map[string]string
	json.NewDecoder(resp.Body).Decode(&acc)
	resp.Body.Close()
	if resp.StatusCode != 202 || acc["status_url"] != "/v1/privacy/erasures/"+acc["request_id"] || resp.Header.Get("Location") != acc["status_url"] {
		t.Fatalf("a long erasure answered %d %v", resp.StatusCode, acc)
	}
	status := func() string {
		req, _ := http.NewRequest("GET", srv.URL+acc["status_url"], nil)
		req.Header.Set("Authorization", "Bearer "+cfg.ComplianceToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st map[string]any
		json.NewDecoder(resp.Body).Decode(&st)
		s, _ := st["status"].(string)
		return s
	}
	<-reached
	if s := status(); s != governance.StatusInProgress {
		t.Errorf("status while held: %q", s)
	}
	close(gate)
	waitFor("the status to say completed", func() bool { return status() == governance.StatusCompleted })

	// A shutdown stops an accepted erasure at its next step boundary, not
	// inside a step; the next start-up finishes it.
	gate = make(chan struct{})
	resp, err = post(context.Background(), `{"phone":"+5531977776666"}`)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&acc)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("answered %d", resp.StatusCode)
	}
	<-reached
	e.gov.EndLife() // the shutdown begins while the step is held
	stopped := make(chan struct{})
	go func() { e.gov.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while an erasure step was running")
	default:
	}
	close(gate)
	<-stopped
	if n := e.count(`select count(*) from privacy_requests where request_id = ? and status = 'in_progress'`, acc["request_id"]); n != 1 ||
		e.count(`select count(*) from erasure_plans`) != 1 {
		t.Fatal("the stopped erasure is not in_progress with its plan")
	}
	governance.SetErasureStepHook(func(string) {})
	rcs, err := e.gov.ResumeErasures(context.Background())
	if err != nil || len(rcs) != 1 || rcs[0].Status != governance.StatusCompleted || len(rcs[0].Resumptions) != 1 ||
		rcs[0].Resumptions[0].After != "keys_destroyed" || !strings.Contains(rcs[0].Resumptions[0].Cause, "context canceled") {
		t.Fatalf("resuming after the shutdown: %v %+v", err, rcs)
	}
}

func TestPrivacyAPIDisabledWithoutToken(t *testing.T) {
	e := newEnv(t, governance.Defaults())
	rec := httptest.NewRecorder()
	e.gov.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/v1/privacy/erasures", strings.NewReader(`{"email":"a@b.c"}`)))
	if rec.Code != 503 {
		t.Fatalf("status %d", rec.Code)
	}
}
