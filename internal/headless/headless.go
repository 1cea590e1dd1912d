// Package headless renders an HTML page in headless Chromium for tests and
// reports what a person sees there: the script errors and policy
// violations, the elements that reach past the viewport, the title and the
// visible text. It is the one home of that harness; the pages cxlake
// writes for people (the access export, the KPI report) are checked with
// it. Chromium is the Debian package, which .ci/run installs: a test is
// skipped without it, except in CI (CI=true), where it fails.
package headless

import (
	"context"
	"encoding/json"
	htmlpkg "html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nonce lets the probe run under a page's Content-Security-Policy.
const nonce = "cxlake-probe"

// probe, put before anything else of the page's head (after its policy,
// which then allows the probe's nonce), records errors and policy
// violations, then, after load, the viewport width, every element that
// reaches past it (an element inside a box that scrolls or clips
// sideways is that box's to contain, and the box is checked), the title
// and the body's visible text, as JSON in a <pre>.
const probe = `<script nonce="` + nonce + `">window.__e=[];document.addEventListener('securitypolicyviolation',e=>__e.push('csp '+e.violatedDirective));` +
	`window.addEventListener('error',e=>__e.push('error '+e.message),true);` +
	`window.addEventListener('load',()=>setTimeout(()=>{const vw=document.documentElement.clientWidth,w=[];` +
	`const held=el=>{for(let a=el.parentElement;a&&a!==document.body;a=a.parentElement){if(getComputedStyle(a).overflowX!=='visible')return true}return false};` +
	`for(const el of document.querySelectorAll('body *')){const r=el.getBoundingClientRect();if((r.right>vw+0.5||r.left<-0.5)&&!held(el))w.push(el.tagName+'.'+el.className)}` +
	`const text=document.body.innerText;` +
	`const p=document.createElement('pre');p.id='cxlake-probe';p.textContent=JSON.stringify({vw:vw,pageWidth:document.documentElement.scrollWidth,wide:w,errors:__e,title:document.title,text:text});document.body.appendChild(p)},300));</script>`

// Page is what the probe saw of a rendered page.
type Page struct {
	// Width is the viewport's width in CSS pixels (the window's less a
	// scroll bar); PageWidth the document's, wider when the page scrolls
	// sideways.
	Width, PageWidth int
	// Wide are the elements ("TAG.class") reaching past the viewport.
	Wide []string
	// Errors are script errors and policy violations.
	Errors []string
	Title  string
	// Text is the body's visible text (innerText): what a person reads.
	Text string
}

// policyMeta finds a page's Content-Security-Policy meta element.
var policyMeta = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)"\s*/?>`)

// withProbe puts the probe into a page: after its policy, which is made to
// allow the probe's nonce, or else first in its head.
func withProbe(html string) (string, bool) {
	if m := policyMeta.FindStringSubmatchIndex(html); m != nil {
		policy := html[m[2]:m[3]] + "; script-src 'nonce-" + nonce + "'"
		return html[:m[0]] + `<meta http-equiv="Content-Security-Policy" content="` + policy + `"/>` + probe + html[m[1]:], true
	}
	i := strings.Index(html, "<head>")
	if i < 0 {
		return "", false
	}
	i += len("<head>")
	return html[:i] + probe + html[i:], true
}

// Render renders html in headless Chromium in a window width pixels wide
// and returns what the probe saw. It skips t when chromium is not
// installed, unless CI=true.
func Render(t testing.TB, html []byte, width int) Page {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (.ci/run installs it)")
		}
		t.Skip("chromium is not installed")
	}
	page, ok := withProbe(string(html))
	if !ok {
		t.Fatal("the page has no head to put the probe in")
	}
	file := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(file, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--window-size="+strconv.Itoa(width)+",1200",
		"--virtual-time-budget=3000", "--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+file).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`(?s)<pre id="cxlake-probe">(.*?)</pre>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the probe did not report:\n%.2000s", out)
	}
	// --dump-dom writes the <pre>'s text escaped as HTML.
	raw := []byte(htmlpkg.UnescapeString(string(m[1])))
	var got struct {
		VW        int      `json:"vw"`
		PageWidth int      `json:"pageWidth"`
		Wide      []string `json:"wide"`
		Errors    []string `json:"errors"`
		Title     string   `json:"title"`
		Text      string   `json:"text"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("probe %.2000s: %v", raw, err)
	}
	return Page{Width: got.VW, PageWidth: got.PageWidth, Wide: got.Wide, Errors: got.Errors, Title: got.Title, Text: got.Text}
}
