package governance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// probe, put first in the page's head (allowed by a nonce added to the
// page's policy), records errors and policy violations, then, after load,
// the viewport width and every element wider than it, in a <pre>.
const probe = `<script nonce="cxlake-probe">window.__e=[];document.addEventListener('securitypolicyviolation',e=>__e.push('csp '+e.violatedDirective));` +
	`window.addEventListener('error',e=>__e.push('error '+e.message),true);` +
	`window.addEventListener('load',()=>setTimeout(()=>{const vw=document.documentElement.clientWidth,w=[];` +
	`for(const el of document.querySelectorAll('body *')){const r=el.getBoundingClientRect();if(r.right>vw+0.5||r.left<-0.5)w.push(el.tagName+'.'+el.className)}` +
	`const p=document.createElement('pre');p.id='cxlake-probe';p.textContent=JSON.stringify({vw:vw,wide:w,errors:__e,title:document.title});document.body.appendChild(p)},300));</script>`

// TestExportPageInHeadlessChromium renders the access export page at
// 900 px in headless Chromium: no error, no policy violation, nothing
// wider than the viewport, and a message's markup stays text. Skipped
// when chromium is absent, but not in CI (CI=true).
func TestExportPageInHeadlessChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (.ci/run installs it)")
		}
		t.Skip("chromium is not installed")
	}
	var page bytes.Buffer
	if err := pageExport().WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	html := strings.Replace(page.String(), "style-src 'unsafe-inline'\"/>", "style-src 'unsafe-inline'; script-src 'nonce-cxlake-probe'\"/>"+probe, 1)
	if html == page.String() {
		t.Fatal("could not put the probe in the page")
	}
	file := filepath.Join(t.TempDir(), "export.html")
	if err := os.WriteFile(file, []byte(html), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=900,1200",
		"--virtual-time-budget=3000", "--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+file).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`<pre id="cxlake-probe">(.*?)</pre>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the probe did not report:\n%.2000s", out)
	}
	var got struct {
		VW     int      `json:"vw"`
		Wide   []string `json:"wide"`
		Errors []string `json:"errors"`
		Title  string   `json:"title"`
	}
	if err := json.Unmarshal(bytes.ReplaceAll(m[1], []byte("&quot;"), []byte(`"`)), &got); err != nil {
		t.Fatalf("probe %s: %v", m[1], err)
	}
	if got.VW < 800 || got.VW > 900 || len(got.Wide) > 0 || len(got.Errors) > 0 || got.Title != "The personal data we hold about you" {
		t.Errorf("at %d px: wider than the viewport %v, errors %v, title %q", got.VW, got.Wide, got.Errors, got.Title)
	}
	if !bytes.Contains(out, []byte("&lt;script&gt;document.title")) {
		t.Error("the message's markup is not shown as text")
	}
}
