package governance_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
)

func TestPrivacyAPI(t *testing.T) {
	cfg := governance.Defaults()
	cfg.ComplianceToken = "s3cret-compliance-token"
	e := newEnv(t, cfg)
	e.background(200)
	at := time.Now().UTC().Add(-72 * time.Hour)
	ana := anaMessages(at)
	e.produce(ana...)
	e.consume("g", 200+int64(len(ana)))
	e.refresh()
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
		{cfg.ComplianceToken, `{"email":"nobody.at.all@example.org"}`, 404, "no data is held"},
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

	// Access, then erasure, by the phone.
	status, body := call("POST", "/v1/privacy/exports", cfg.ComplianceToken, `{"phone":"+55 (11) 97777-1234"}`)
	if status != 200 {
		t.Fatalf("export: %d %s", status, body)
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
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 2 {
		t.Fatalf("requests: %d %s", status, body)
	}
	for _, r := range list {
		if r.Status != governance.StatusCompleted || r.Overdue {
			t.Errorf("request %+v", r)
		}
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
