package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// reportCurlLine is the demo's "where to look next" line for the live report.
var reportCurlLine = regexp.MustCompile(`curl -fsS -H "Authorization: Bearer (\S+)" "(http://\S+/v1/reports/kpi\?format=html)" -o kpi.html`)

// checkDemoReport fetches the live KPI report of a running demo (ingest
// still flowing) with the token and address of the curl line it printed:
// 200 in each format, 401 without or with a wrong token, 400 for a bad date.
func checkDemoReport(t *testing.T, token, rawURL string) {
	t.Helper()
	if token == "" || rawURL == "" {
		t.Fatal("the demo printed no curl line for the live KPI report")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(query, tok string) (int, string, string) {
		t.Helper()
		v := *u
		v.RawQuery = query
		req, _ := http.NewRequest(http.MethodGet, v.String(), nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", v.String(), err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for format, want := range map[string]struct{ ctype, body string }{
		"html": {"text/html", "<!DOCTYPE html>"},
		"json": {"application/json", `"overall"`},
		"csv":  {"text/csv", "section,key,day,conversations"},
		"md":   {"text/markdown", "## Headline"},
	} {
		code, ctype, body := get("format="+format, token)
		if code != http.StatusOK || !strings.HasPrefix(ctype, want.ctype) || !strings.Contains(body, want.body) {
			t.Errorf("format %s: %d %s, body starts %.200q", format, code, ctype, body)
		}
		if format == "json" {
			var doc struct {
				Overall struct {
					Conversations int64 `json:"conversations"`
				} `json:"overall"`
			}
			if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Overall.Conversations == 0 {
				t.Errorf("json report: %v, %d conversations", err, doc.Overall.Conversations)
			}
		}
	}
	if code, _, _ := get("format=html", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code, _, _ := get("format=html", token+"x"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	code, ctype, body := get("from=2026-13-01&format=json", token)
	if code != http.StatusBadRequest || !strings.HasPrefix(ctype, "application/json") || !strings.Contains(body, "from is not a date: write it as YYYY-MM-DD") {
		t.Errorf("bad date: %d %s %s", code, ctype, body)
	}
	if code, _, body := get("from=2026-11-05&to=2026-11-01", token); code != http.StatusBadRequest || !strings.Contains(body, "after") {
		t.Errorf("backwards range: %d %s", code, body)
	}
	if code, _, body := get("format=pdf", token); code != http.StatusBadRequest || !strings.Contains(body, "unknown report format") {
		t.Errorf("format pdf: %d %s", code, body)
	}
}
